/*
 * main.c — sluice-mqtt: command line, config, signals and the loop.
 *
 *   sluice-mqtt --segstore URL --listen HOST:PORT
 *                [--config FILE] [--set KEY=VALUE]... [--log-level L]
 *
 * Runs in the foreground and logs to stderr.  SIGTERM/SIGINT stop
 * accepting, answer the requests in flight, close the connections and
 * exit 0.  The only globals of the process live here.
 */
#include "mq_server.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mq_config g_cfg;
static mq_server g_srv;
static uv_signal_t g_sigterm, g_sigint, g_sighup;
static const char *g_config_path;
static int g_signalled;
/* The command line, parsed again on SIGHUP. */
static sl_conf_cli g_cli;
static int g_argc;
static char **g_argv;

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: sluice-mqtt --segstore URL --listen HOST:PORT\n"
            "                    [--config FILE] [--set KEY=VALUE]... "
            "[--log-level LEVEL]\n"
            "\n"
            "The Sluice MQTT frontend: MQTT 3.1, 3.1.1 and 5.0 on "
            "sluice-segstore.\n"
            "\n"
            "  --segstore URL        segstore request URL (ipc:// or tcp://)\n"
            "  --listen HOST:PORT    MQTT listener (default 0.0.0.0:1883)\n"
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
        sl_log(SL_LOG_WARN, "MQ-STOP", "second signal %d: exiting now", signum);
        exit(0);
    }
    sl_log(SL_LOG_INFO, "MQ-STOP", "signal %d: stopping", signum);
    mq_server_stop(&g_srv, on_stopped, h->loop);
}

/*
 * SIGHUP: read the config file, the environment and the command line again
 * (same precedence as at start) into fresh settings; apply the keys the
 * table marks reloadable: the log level, the mapping rules (same log
 * topics only, mq_server_reload_rules), anonymous access, keep alive and
 * session expiry caps (read at each CONNECT), and the password and ACL
 * files, which are read again even when their paths did not change.  One
 * MQ-RELOAD line names what changed live and what needs a restart.  An
 * invalid configuration changes nothing.
 */
static void
on_sighup(uv_signal_t *h, int signum)
{
    (void)h;
    (void)signum;
    mq_config fresh;
    char err[1024];
    mq_config_defaults(&fresh);
    g_cli.arg = &fresh;
    int rc = sl_conf_cli_parse(&g_cli, g_argc, g_argv);
    g_cli.arg = &g_cfg;
    if (rc != 0) {
        sl_log(SL_LOG_ERROR, "MQ-RELOAD",
               "configuration invalid (the line above says why); nothing "
               "reloaded");
        return;
    }
    if (mq_config_finish(&fresh, err, sizeof(err)) != 0) {
        sl_log(SL_LOG_ERROR, "MQ-RELOAD", "%s; nothing reloaded", err);
        return;
    }
    /* Refused rules stay as they were, and so do their keys. */
    if (mq_server_reload_rules(&g_srv, &fresh) != 0) {
        memcpy(fresh.log_rules, g_cfg.log_rules, sizeof(fresh.log_rules));
        memcpy(fresh.log_rules_file, g_cfg.log_rules_file,
               sizeof(fresh.log_rules_file));
    }
    char live[1024] = "", restart[1024] = "";
    sl_conf_diff(mq_config_keys, mq_config_keys_len, "", &g_cfg, &fresh, live,
                 sizeof(live), restart, sizeof(restart));
    sl_conf_copy_reloadable(mq_config_keys, mq_config_keys_len, &g_cfg, &fresh);
    /* Say it at the more verbose of the old and the new level. */
    int old = sl_log_level(), nl = sl_log_level_parse(g_cfg.log_level);
    sl_log_set_level(SL_MIN(old, nl));
    sl_log(restart[0] ? SL_LOG_WARN : SL_LOG_INFO, "MQ-RELOAD",
           "reloaded=%s restart-needed=%s", live[0] ? live : "none",
           restart[0] ? restart : "none");
    sl_log_set_level(nl);
    mq_server_reload(&g_srv);
}

/* sl_conf_setter over mq_config_set. */
static int
config_set(void *arg, const char *kv, char *err, size_t errlen)
{
    return mq_config_set(arg, kv, err, errlen);
}

int
main(int argc, char **argv)
{
    static const sl_conf_flag flags[] = {
        {"segstore", "segstore"},
        {"listen", "listen"},
        {"log-level", "log.level"},
        {NULL, NULL},
    };
    mq_config_defaults(&g_cfg);
    g_cli = (sl_conf_cli){
        .prog = "sluice-mqtt",
        .version = SLUICE_VERSION,
        .flags = flags,
        .set = config_set,
        .arg = &g_cfg,
        .env = {{mq_config_keys, mq_config_keys_len, "SLUICE_MQTT_", ""}},
        .usage = usage,
        .config_doc = mq_config_doc,
        .config_path = &g_config_path,
    };
    g_argc = argc;
    g_argv = argv;
    int rc = sl_conf_cli_parse(&g_cli, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    char err[1024];
    if (mq_config_finish(&g_cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "sluice-mqtt: %s\n", err);
        return 2;
    }
    sl_log_set_level(sl_log_level_parse(g_cfg.log_level));
    /* A client that vanishes mid-write must cost an EPIPE, not the
     * process. */
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t *loop = uv_default_loop();
    if (mq_server_start(&g_srv, &g_cfg, loop, err, sizeof(err)) != 0) {
        fprintf(stderr, "sluice-mqtt: %s\n", err);
        return 1;
    }
    uv_signal_init(loop, &g_sigterm);
    uv_signal_init(loop, &g_sigint);
    uv_signal_start(&g_sigterm, on_signal, SIGTERM);
    uv_signal_start(&g_sigint, on_signal, SIGINT);
    uv_signal_init(loop, &g_sighup);
    uv_signal_start(&g_sighup, on_sighup, SIGHUP);
    uv_run(loop, UV_RUN_DEFAULT);
    const mq_stats *st = &g_srv.st;
    sl_log(SL_LOG_INFO, "MQ-STATS",
           "conns=%llu connects=%llu msgs_in=%llu msgs_out=%llu "
           "malformed=%llu protocol_errors=%llu dropped_qos0=%llu "
           "dropped_too_big=%llu expired=%llu appends=%llu reads=%llu "
           "append_errors=%llu ipc_errors=%llu takeovers=%llu wills=%llu "
           "auth_failures=%llu acl_denied=%llu evicted=%llu",
           (unsigned long long)st->conns, (unsigned long long)st->connects,
           (unsigned long long)st->msgs_in, (unsigned long long)st->msgs_out,
           (unsigned long long)st->malformed,
           (unsigned long long)st->protocol_errors,
           (unsigned long long)st->dropped_qos0,
           (unsigned long long)st->dropped_too_big,
           (unsigned long long)st->expired, (unsigned long long)st->appends,
           (unsigned long long)st->reads, (unsigned long long)st->append_errors,
           (unsigned long long)st->ipc_errors,
           (unsigned long long)st->takeovers, (unsigned long long)st->wills,
           (unsigned long long)st->auth_failures,
           (unsigned long long)st->acl_denied, (unsigned long long)st->evicted);
    sl_log(SL_LOG_INFO, "MQ-STOP", "stopped");
    return 0;
}
