/*
 * main.c — sluice-segstore: command line, config, and the server run.
 *
 *   sluice-segstore --data DIR --ipc URL [--config FILE] [--set KEY=VALUE]...
 *
 * Runs in the foreground, logs to stderr; SIGTERM/SIGINT shut down cleanly
 * (pending appends answered, every log synced and checkpointed).
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

/* sl_conf_setter over ss_config_set (environment overrides). */
static int
env_set(void *arg, const char *kv, char *err, size_t errlen)
{
    return ss_config_set(arg, kv, err, errlen);
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"ipc", required_argument, NULL, 'i'},
        {"events", required_argument, NULL, 'e'},
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},
        {"fsync", required_argument, NULL, 'f'},
        {"log-level", required_argument, NULL, 'l'},
        {"config-doc", no_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static ss_config cfg;
    ss_config_defaults(&cfg);
    char err[1024];
    /* The config file first, whatever its position, so flags override it. */
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 &&
            ss_config_load(&cfg, argv[i + 1], err, sizeof(err)) != 0) {
            fprintf(stderr, "sluice-segstore: %s\n", err);
            return 2;
        }
    }
    /* Then the environment (SLUICE_..._<KEY>), then the flags. */
    if (sl_conf_apply_env(ss_config_keys, ss_config_keys_len,
                          "SLUICE_SEGSTORE_", "", env_set, &cfg, err,
                          sizeof(err)) != 0 ||
        sl_conf_apply_env(ss_topic_conf, ss_topic_conf_len,
                          "SLUICE_SEGSTORE_TOPIC_", "topic.", env_set, &cfg,
                          err, sizeof(err)) != 0) {
        fprintf(stderr, "sluice-segstore: %s\n", err);
        return 2;
    }
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *key = NULL;
        char kv[SL_CONF_STR_MAX + 64];
        switch (c) {
        case 'd':
            key = "data";
            break;
        case 'i':
            key = "ipc.url";
            break;
        case 'e':
            key = "events.url";
            break;
        case 'f':
            key = "fsync";
            break;
        case 'l':
            key = "log.level";
            break;
        case 'c':
            continue; /* loaded above */
        case 's':
            if (ss_config_set(&cfg, optarg, err, sizeof(err)) != 0) {
                fprintf(stderr, "sluice-segstore: --set %s\n", err);
                return 2;
            }
            continue;
        case 'D':
            ss_config_doc(stdout);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("sluice-segstore %s\n", SLUICE_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        snprintf(kv, sizeof(kv), "%s=%s", key, optarg);
        if (ss_config_set(&cfg, kv, err, sizeof(err)) != 0) {
            fprintf(stderr, "sluice-segstore: %s\n", err);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sluice-segstore: unexpected argument '%s'\n",
                argv[optind]);
        usage(stderr);
        return 2;
    }
    if (ss_config_finish(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "sluice-segstore: %s\n", err);
        return 2;
    }
    return ss_server_run(&cfg);
}
