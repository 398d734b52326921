#!/usr/bin/env bash
# docs/configuration.md must hold exactly what `<binary> --config-doc`
# prints from the config table, between the generated markers that name
# the binary (`<!-- generated: sluice-segstore --config-doc -->`).
#   config_doc_test.sh BIN DOC      (BIN: sluice-segstore, sluice-mqtt, ...)
set -euo pipefail
bin=$1 doc=$2
name=$(basename "$bin")
want=$("$bin" --config-doc)
have=$(sed -n "/^<!-- generated: $name --config-doc -->\$/,/^<!-- end generated -->\$/p" "$doc" | sed -n '1,/^<!-- end generated -->$/p' | sed '1d;$d')
if [ "$want" != "$have" ]; then
    echo "docs/configuration.md is out of date; regenerate its table with" >&2
    echo "  $bin --config-doc" >&2
    diff <(echo "$want") <(echo "$have") >&2 || true
    exit 1
fi
echo "docs/configuration.md matches the config table ($(echo "$want" | wc -l) lines)"
