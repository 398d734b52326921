/*
 * main.c — sluice-segstore: command line, config, and the server run.
 *
 *   sluice-segstore --data DIR --ipc URL [--config FILE] [--set KEY=VALUE]...
 *
 * Runs in the foreground, logs to stderr; SIGTERM/SIGINT shut down cleanly
 * (pending appends answered, every log synced and checkpointed); SIGHUP
 * reloads what can change live (docs/configuration.md says which keys).
 */
#include "ss_server.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: sluice-segstore [--data DIR] [--ipc URL[,URL...]] "
            "[--config FILE]\n"
            "                       [--set KEY=VALUE]... [--fsync POLICY] "
            "[--log-level LEVEL]\n"
            "\n"
            "The Sluice segment store: the single writer of a data directory.\n"
            "\n"
            "  --data DIR        data directory (default ./data)\n"
            "  --ipc URL         nng listen URL(s), ipc:// or tcp:// "
            "(default ipc://DIR/segstore.sock)\n"
            "  --events URL      event pub URL(s) (default derived from "
            "--ipc)\n"
            "  --config FILE     key = value config file\n"
            "  --set KEY=VALUE   override one config key (repeatable; "
            "topic.<key> sets a topic default)\n"
            "  --fsync POLICY    batch | interval:<ms> | never (default "
            "batch)\n"
            "  --log-level L     debug | info | warn | error\n"
            "  --config-doc      print the config keys as a Markdown table\n"
            "  --help, --version\n");
}

static sl_conf_cli g_cli;
static int g_argc;
static char **g_argv;

/* sl_conf_setter over ss_config_set (topic.* keys go to the defaults). */
static int
config_set(void *arg, const char *kv, char *err, size_t errlen)
{
    return ss_config_set(arg, kv, err, errlen);
}

/* SIGHUP (ss_server_run): the command line parsed again into fresh
 * settings, re-reading the config file and the environment. */
static int
reload(void *arg, ss_config *fresh, char *err, size_t errlen)
{
    (void)arg;
    ss_config_defaults(fresh);
    g_cli.arg = fresh;
    if (sl_conf_cli_parse(&g_cli, g_argc, g_argv) != 0)
        return SL_E_INVAL;
    return ss_config_finish(fresh, err, errlen);
}

int
main(int argc, char **argv)
{
    static const sl_conf_flag flags[] = {
        {"data", "data"},           {"ipc", "ipc.url"},
        {"events", "events.url"},   {"fsync", "fsync"},
        {"log-level", "log.level"}, {NULL, NULL},
    };
    static ss_config cfg;
    ss_config_defaults(&cfg);
    g_cli = (sl_conf_cli){
        .prog = "sluice-segstore",
        .version = SLUICE_VERSION,
        .flags = flags,
        .set = config_set,
        .arg = &cfg,
        .env = {{ss_config_keys, ss_config_keys_len, "SLUICE_SEGSTORE_", ""},
                {ss_topic_conf, ss_topic_conf_len, "SLUICE_SEGSTORE_TOPIC_",
                 "topic."}},
        .usage = usage,
        .config_doc = ss_config_doc,
    };
    g_argc = argc;
    g_argv = argv;
    int rc = sl_conf_cli_parse(&g_cli, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    char err[1024];
    if (ss_config_finish(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "sluice-segstore: %s\n", err);
        return 2;
    }
    return ss_server_run(&cfg, reload, NULL);
}
