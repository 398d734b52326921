/*
 * fe_link.c — segstore reachability: log lines and counts (fe_link.h).
 */
#include "fe_link.h"

#include "sl_base.h"

void
fe_link_init(fe_link *l, const char *tag, const char *url)
{
    *l = (fe_link){.tag = tag, .url = url};
}

void
fe_link_change(fe_link *l, int up, uint64_t now_ms)
{
    if (up == l->up)
        return;
    l->up = up;
    if (!up) {
        l->losses++;
        l->down_at_ms = now_ms;
        sl_log(SL_LOG_WARN, l->tag,
               "segstore %s unreachable: clients get retriable errors and "
               "no acknowledgements until it answers; redialling",
               l->url);
        return;
    }
    l->up_at_ms = now_ms;
    if (l->was_up)
        sl_log(SL_LOG_INFO, l->tag, "segstore %s reachable again after %llu ms",
               l->url, (unsigned long long)(now_ms - l->down_at_ms));
    l->was_up = 1;
}
