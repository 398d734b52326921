/*
 * sl_conf.h — configuration tables and the `key = value` file format shared
 * by every Sluice process.
 *
 * File format: UTF-8 text, one `key = value` per line; blank lines and
 * lines whose first non-blank character is `#` are ignored; surrounding
 * blanks are trimmed from keys and values; a line may be at most
 * SL_CONF_MAX_LINE bytes.  Keys are [a-z0-9._-]+.  There is no quoting: the
 * value is the rest of the line.
 *
 * A process describes its settings in one table of sl_conf_key (name, type,
 * range, default, reloadable, doc) whose entries point at fields of a
 * struct; the same table loads files, applies `--config k=v` overrides,
 * renders defaults and generates docs/configuration.md.
 */
#ifndef SL_CONF_H
#define SL_CONF_H

#include "sl_base.h"

#include <stdio.h>

#define SL_CONF_MAX_LINE 4096

/*
 * Split text into key/value pairs and call cb for each (views borrow from
 * text).  Pure: no allocation, no I/O.  Returns 0, the first non-zero value
 * cb returned, or SL_E_MALFORMED with *err_line set to the 1-based line of a
 * syntax error (a line without `=`, an empty or illegal key, an overlong
 * line).
 */
typedef int (*sl_conf_cb)(void *arg, sl_slice key, sl_slice value, int line);
int sl_conf_parse(sl_slice text, sl_conf_cb cb, void *arg, int *err_line);

enum {
    SL_CONF_I64,  /* int64_t, range-checked */
    SL_CONF_BOOL, /* int: true/false/1/0/yes/no/on/off */
    SL_CONF_STR,  /* char[SL_CONF_STR_MAX] */
    SL_CONF_ENUM, /* int: index into choices (NULL-terminated) */
};

#define SL_CONF_STR_MAX 256

typedef struct sl_conf_key {
    const char *name;
    int type;
    size_t offset; /* offsetof the field in the settings struct */
    int64_t min, max;
    const char *def; /* default, as text */
    int reloadable;
    const char *const *choices; /* SL_CONF_ENUM only */
    const char *doc;
} sl_conf_key;

/* Parse an integer with an optional binary-size suffix (k, m, g = KiB, MiB,
 * GiB) into *v.  0 or SL_E_INVAL. */
int sl_conf_parse_i64(sl_slice s, int64_t *v);

/* Find a key by name (NULL when unknown). */
const sl_conf_key *sl_conf_find(const sl_conf_key *tab, size_t n,
                                sl_slice name);

/*
 * Set one setting in obj from text.  On failure returns SL_E_INVAL or
 * SL_E_NOTOPIC-free codes and writes "key=value: why" into err.
 */
int sl_conf_set(const sl_conf_key *k, void *obj, sl_slice value, char *err,
                size_t errlen);

/* Apply every default of the table to obj. */
void sl_conf_defaults(const sl_conf_key *tab, size_t n, void *obj);

/* Render the current value of k in obj as text. */
void sl_conf_format(const sl_conf_key *k, const void *obj, char *out,
                    size_t outlen);

/*
 * Load a config file into obj: unknown keys and bad values are errors that
 * name the file, line, key, value and why (in err).  Returns 0 or a negative
 * code.
 */
int sl_conf_load_file(const sl_conf_key *tab, size_t n, void *obj,
                      const char *path, char *err, size_t errlen);

/* A process's setter for one "key=value" (it may route keys to several
 * tables, e.g. segstore's topic.* defaults).  0 or a code, with err set. */
typedef int (*sl_conf_setter)(void *arg, const char *kv, char *err,
                              size_t errlen);

/* Load a config file through a setter: the same format and errors as
 * sl_conf_load_file, each prefixed with "file:line: ". */
int sl_conf_load_file_with(const char *path, sl_conf_setter set, void *arg,
                           char *err, size_t errlen);

/* Apply "key=value" (a --config override).  Same errors as the file. */
int sl_conf_apply_kv(const sl_conf_key *tab, size_t n, void *obj,
                     const char *kv, char *err, size_t errlen);

/*
 * Environment overrides, applied between the config file and the command
 * line: for each key of tab, the variable env_prefix + key with letters
 * upper-cased and '.' / '-' written '_' (env_prefix "SLUICE_SEGSTORE_",
 * key "ipc.contexts": SLUICE_SEGSTORE_IPC_CONTEXTS).  A variable that is
 * set goes through set as "<key_prefix><key>=<value>"; the first error is
 * returned with err naming the variable.
 */
int sl_conf_apply_env(const sl_conf_key *tab, size_t n, const char *env_prefix,
                      const char *key_prefix, sl_conf_setter set, void *arg,
                      char *err, size_t errlen);

/*
 * Compare two settings structs of the same table: for every key whose
 * value differs, append "<prefix><key>" to `live` (a reloadable key) or to
 * `restart` (one that needs a restart), comma-separated.  Both strings
 * must hold a C string on entry (possibly empty); they are truncated to
 * their sizes.  Returns the number of keys that differ.
 */
int sl_conf_diff(const sl_conf_key *tab, size_t n, const char *prefix,
                 const void *old, const void *fresh, char *live, size_t livelen,
                 char *restart, size_t restartlen);

/* Copy the value of every reloadable key of tab from src to dst. */
void sl_conf_copy_reloadable(const sl_conf_key *tab, size_t n, void *dst,
                             const void *src);

/* One Markdown table row per key for a daemon's --config-doc:
 * "| `<prefix>key` | type | default | SIGHUP | doc |", where the SIGHUP
 * column says "reloads" for a reloadable key and "restart" otherwise. */
void sl_conf_doc_rows(FILE *out, const sl_conf_key *tab, size_t n,
                      const char *prefix);
#define SL_CONF_DOC_HEADER                                                     \
    "| key | type | default | on SIGHUP | meaning |\n|---|---|---|---|---|\n"

/* ---- the daemons' command line (sl_conf_cli.c) ------------------------ */

/* A shorthand flag: --<name> VALUE sets <key>. */
typedef struct sl_conf_flag {
    const char *name;
    const char *key;
} sl_conf_flag;

/* One table's environment overrides (see sl_conf_apply_env). */
typedef struct sl_conf_env {
    const sl_conf_key *tab; /* NULL: unused */
    size_t ntab;
    const char *env_prefix;
    const char *key_prefix;
} sl_conf_env;

typedef struct sl_conf_cli {
    const char *prog;          /* "sluice-kafka", for messages */
    const char *version;       /* printed by --version */
    const sl_conf_flag *flags; /* shorthands, ending with {NULL, NULL} */
    sl_conf_setter set;        /* applies "key=value" to the config */
    void *arg;                 /* for set */
    sl_conf_env env[2];        /* environment, in this order */
    void (*usage)(FILE *out);  /* --help, and usage errors */
    void (*config_doc)(FILE *out);
    const char **config_path; /* out: the --config FILE, when given */
} sl_conf_cli;

/*
 * Apply a daemon's command line to its config: every --config FILE first
 * (wherever it stands), then the environment, then --set KEY=VALUE and the
 * shorthands in order — so file < environment < flags.  Returns 0 to go
 * on; 1 when --help, --version or --config-doc printed what was asked
 * (exit 0); 2 on an error, already printed as "<prog>: why" (exit 2).
 * Uses getopt_long (and resets it first), so a daemon may call it again
 * on SIGHUP to re-read the file and the environment with the same
 * command line into fresh settings.
 */
int sl_conf_cli_parse(const sl_conf_cli *cli, int argc, char **argv);

#endif /* SL_CONF_H */
