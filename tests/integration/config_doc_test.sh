#!/usr/bin/env bash
# docs/configuration.md must hold exactly what `sluice-segstore --config-doc`
# prints from the config table, between its generated markers.
#   config_doc_test.sh SEGSTORE_BIN DOC
set -euo pipefail
bin=$1 doc=$2
want=$("$bin" --config-doc)
have=$(sed -n '/^<!-- generated: sluice-segstore --config-doc -->$/,/^<!-- end generated -->$/p' "$doc" | sed '1d;$d')
if [ "$want" != "$have" ]; then
    echo "docs/configuration.md is out of date; regenerate its table with" >&2
    echo "  $bin --config-doc" >&2
    diff <(echo "$want") <(echo "$have") >&2 || true
    exit 1
fi
echo "docs/configuration.md matches the config table ($(echo "$want" | wc -l) lines)"
