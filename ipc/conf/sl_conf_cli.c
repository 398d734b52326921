/*
 * sl_conf_cli.c — the command line every Sluice daemon shares: a config
 * file, SLUICE_<PROCESS>_<KEY> environment overrides, then flags, in that
 * order of precedence (file < environment < flags); --set KEY=VALUE and
 * per-program shorthands (--listen ...) for keys; --config-doc, --help,
 * --version.  Declared in sl_conf.h.
 */
#include "sl_conf.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_CONFIG = 1, OPT_SET, OPT_DOC, OPT_HELP, OPT_VERSION, OPT_FLAG0 };

static int
fail(const sl_conf_cli *cli, const char *what, const char *err)
{
    fprintf(stderr, "%s: %s%s\n", cli->prog, what, err);
    return 2;
}

int
sl_conf_cli_parse(const sl_conf_cli *cli, int argc, char **argv)
{
    char err[1024];
    size_t nflags = 0;
    while (cli->flags && cli->flags[nflags].name)
        nflags++;
    struct option *opts = calloc(nflags + 6, sizeof(*opts));
    if (opts == NULL)
        return fail(cli, "", "out of memory");
    opts[0] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
    opts[1] = (struct option){"set", required_argument, NULL, OPT_SET};
    opts[2] = (struct option){"config-doc", no_argument, NULL, OPT_DOC};
    opts[3] = (struct option){"help", no_argument, NULL, OPT_HELP};
    opts[4] = (struct option){"version", no_argument, NULL, OPT_VERSION};
    for (size_t i = 0; i < nflags; i++)
        opts[5 + i] = (struct option){cli->flags[i].name, required_argument,
                                      NULL, OPT_FLAG0 + (int)i};
    int rc = 0;
    /* The config file first, whatever its position, so the rest override
     * it. */
    for (int i = 1; i + 1 < argc && rc == 0; i++) {
        if (strcmp(argv[i], "--config") != 0)
            continue;
        if (cli->config_path)
            *cli->config_path = argv[i + 1];
        if (sl_conf_load_file_with(argv[i + 1], cli->set, cli->arg, err,
                                   sizeof(err)) != 0)
            rc = fail(cli, "", err);
    }
    for (size_t t = 0; t < 2 && rc == 0; t++) {
        const sl_conf_env *e = &cli->env[t];
        if (e->tab != NULL &&
            sl_conf_apply_env(e->tab, e->ntab, e->env_prefix, e->key_prefix,
                              cli->set, cli->arg, err, sizeof(err)) != 0)
            rc = fail(cli, "", err);
    }
    int c;
    optind = 0; /* glibc: start afresh, also on a second call */
    while (rc == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char kv[SL_CONF_STR_MAX + 128];
        switch (c) {
        case OPT_CONFIG:
            break; /* loaded above */
        case OPT_SET:
            if (cli->set(cli->arg, optarg, err, sizeof(err)) != 0)
                rc = fail(cli, "--set ", err);
            break;
        case OPT_DOC:
            cli->config_doc(stdout);
            rc = 1;
            break;
        case OPT_HELP:
            cli->usage(stdout);
            rc = 1;
            break;
        case OPT_VERSION:
            printf("%s %s\n", cli->prog, cli->version);
            rc = 1;
            break;
        default:
            if (c < OPT_FLAG0 || c >= OPT_FLAG0 + (int)nflags) {
                cli->usage(stderr);
                rc = 2;
                break;
            }
            snprintf(kv, sizeof(kv), "%s=%s", cli->flags[c - OPT_FLAG0].key,
                     optarg);
            if (cli->set(cli->arg, kv, err, sizeof(err)) != 0)
                rc = fail(cli, "", err);
            break;
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", cli->prog,
                argv[optind]);
        cli->usage(stderr);
        rc = 2;
    }
    free(opts);
    return rc;
}
