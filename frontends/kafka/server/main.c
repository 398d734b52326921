/*
 * main.c — sluice-kafka: command line, config, signals and the loop.
 *
 *   sluice-kafka --segstore URL --listen HOST:PORT --advertise HOST:PORT
 *                [--config FILE] [--set KEY=VALUE]... [--log-level L]
 *
 * Runs in the foreground and logs to stderr.  SIGTERM/SIGINT stop
 * accepting, answer the requests in flight, close the connections and
 * exit 0.  The only globals of the process live here.
 */
#include "kf_server.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static kf_config g_cfg;
static kf_server g_srv;
static uv_signal_t g_sigterm, g_sigint, g_sighup;
static int g_signalled;
/* The command line, parsed again on SIGHUP. */
static sl_conf_cli g_cli;
static int g_argc;
static char **g_argv;

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: sluice-kafka --segstore URL --listen HOST:PORT "
            "--advertise HOST:PORT\n"
            "                    [--config FILE] [--set KEY=VALUE]... "
            "[--log-level LEVEL]\n"
            "\n"
            "The Sluice Kafka frontend: the Kafka wire protocol on "
            "sluice-segstore.\n"
            "\n"
            "  --segstore URL        segstore request URL (ipc:// or tcp://)\n"
            "  --listen HOST:PORT    Kafka listener (default 0.0.0.0:9092)\n"
            "  --advertise HOST:PORT broker address given to clients in "
            "Metadata\n"
            "  --config FILE         key = value config file\n"
            "  --set KEY=VALUE       override one config key (repeatable)\n"
            "  --log-level L         debug | info | warn | error\n"
            "  --config-doc          print the config keys as a Markdown "
            "table\n"
            "  --help, --version\n");
}

static void
on_stopped(void *arg)
{
    uv_loop_t *loop = arg;
    /* The IPC client is deliberately left open: closing nng 1.5.2's SUB
     * socket while segstore publishes can hang (docs/ipc.md section 11),
     * and the process is about to exit anyway. */
    uv_close((uv_handle_t *)&g_sigterm, NULL);
    uv_close((uv_handle_t *)&g_sigint, NULL);
    uv_close((uv_handle_t *)&g_sighup, NULL);
    uv_stop(loop);
}

static void
on_signal(uv_signal_t *h, int signum)
{
    if (g_signalled++) {
        sl_log(SL_LOG_WARN, "KF-STOP", "second signal %d: exiting now", signum);
        exit(0);
    }
    sl_log(SL_LOG_INFO, "KF-STOP", "signal %d: stopping", signum);
    kf_server_stop(&g_srv, on_stopped, h->loop);
}

/*
 * SIGHUP: read the config file, the environment and the command line again
 * (same precedence as at start) into fresh settings; apply the keys the
 * table marks reloadable (log.level, advertise, auto-create, limits read
 * per request) and log one line naming what changed live and what needs a
 * restart.  An invalid file changes nothing.
 */
static void
on_sighup(uv_signal_t *h, int signum)
{
    (void)h;
    (void)signum;
    kf_config fresh;
    char err[1024];
    kf_config_defaults(&fresh);
    g_cli.arg = &fresh;
    int rc = sl_conf_cli_parse(&g_cli, g_argc, g_argv);
    if (rc == 0 && kf_config_finish(&fresh, err, sizeof(err)) != 0) {
        sl_log(SL_LOG_ERROR, "KF-RELOAD", "%s; nothing reloaded", err);
        return;
    }
    if (rc != 0) {
        sl_log(SL_LOG_ERROR, "KF-RELOAD",
               "configuration invalid (the line above says why); nothing "
               "reloaded");
        return;
    }
    char live[1024] = "", restart[1024] = "";
    sl_conf_diff(kf_config_keys, kf_config_keys_len, "", &g_cfg, &fresh, live,
                 sizeof(live), restart, sizeof(restart));
    sl_conf_copy_reloadable(kf_config_keys, kf_config_keys_len, &g_cfg, &fresh);
    /* Derived from advertise (and listen, when advertise is empty). */
    memcpy(g_cfg.adv_host, fresh.adv_host, sizeof(g_cfg.adv_host));
    g_cfg.adv_port = fresh.adv_port;
    /* Say it at the more verbose of the old and the new level. */
    int old = sl_log_level(), nl = sl_log_level_parse(g_cfg.log_level);
    sl_log_set_level(SL_MIN(old, nl));
    sl_log(restart[0] ? SL_LOG_WARN : SL_LOG_INFO, "KF-RELOAD",
           "reloaded=%s restart-needed=%s", live[0] ? live : "none",
           restart[0] ? restart : "none");
    sl_log_set_level(nl);
}

/* sl_conf_setter over kf_config_set. */
static int
config_set(void *arg, const char *kv, char *err, size_t errlen)
{
    return kf_config_set(arg, kv, err, errlen);
}

int
main(int argc, char **argv)
{
    static const sl_conf_flag flags[] = {
        {"segstore", "segstore"},
        {"listen", "listen"},
        {"advertise", "advertise"},
        {"log-level", "log.level"},
        {NULL, NULL},
    };
    kf_config_defaults(&g_cfg);
    g_cli = (sl_conf_cli){
        .prog = "sluice-kafka",
        .version = SLUICE_VERSION,
        .flags = flags,
        .set = config_set,
        .arg = &g_cfg,
        .env = {{kf_config_keys, kf_config_keys_len, "SLUICE_KAFKA_", ""}},
        .usage = usage,
        .config_doc = kf_config_doc,
    };
    g_argc = argc;
    g_argv = argv;
    int rc = sl_conf_cli_parse(&g_cli, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    char err[1024];
    if (kf_config_finish(&g_cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "sluice-kafka: %s\n", err);
        return 2;
    }
    sl_log_set_level(sl_log_level_parse(g_cfg.log_level));
    /* A client that vanishes mid-write must cost an EPIPE, not the
     * process. */
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t *loop = uv_default_loop();
    if (kf_server_start(&g_srv, &g_cfg, loop, err, sizeof(err)) != 0) {
        fprintf(stderr, "sluice-kafka: %s\n", err);
        return 1;
    }
    uv_signal_init(loop, &g_sigterm);
    uv_signal_init(loop, &g_sigint);
    uv_signal_start(&g_sigterm, on_signal, SIGTERM);
    uv_signal_start(&g_sigint, on_signal, SIGINT);
    uv_signal_init(loop, &g_sighup);
    uv_signal_start(&g_sighup, on_sighup, SIGHUP);
    uv_run(loop, UV_RUN_DEFAULT);
    const kf_stats *st = &g_srv.st;
    sl_log(SL_LOG_INFO, "KF-STATS",
           "conns=%llu requests=%llu bad_frames=%llu malformed=%llu "
           "unsupported=%llu produce_errors=%llu fetch_parked=%llu "
           "fetch_woken=%llu ipc_errors=%llu",
           (unsigned long long)st->conns, (unsigned long long)st->requests,
           (unsigned long long)st->bad_frames,
           (unsigned long long)st->malformed,
           (unsigned long long)st->unsupported,
           (unsigned long long)st->produce_errs,
           (unsigned long long)st->fetch_parked,
           (unsigned long long)st->fetch_woken,
           (unsigned long long)st->ipc_errors);
    sl_log(SL_LOG_INFO, "KF-STOP", "stopped");
    return 0;
}
