/*
 * fe_link.h — whether a frontend can reach segstore right now, for the
 * log and the metrics: one line when the connection goes, one when it
 * comes back (never one per request), a gauge and a count of outages.
 *
 * The connection itself is nng's business (ipc_client redials with
 * backoff); ipc_client_on_link reports its changes here.  Loop thread only.
 */
#ifndef FE_LINK_H
#define FE_LINK_H

#include <stdint.h>

typedef struct fe_link {
    const char *tag; /* log tag: "KF-SEGSTORE", "MQ-SEGSTORE" */
    const char *url; /* segstore's URL, for the log */
    int up;          /* connected now */
    int was_up;      /* connected at least once since start */
    uint64_t losses; /* times the connection went away after being up */
    uint64_t down_at_ms;
    uint64_t up_at_ms; /* when it last came (uv_now) */
} fe_link;

void fe_link_init(fe_link *l, const char *tag, const char *url);
/* The connection came (up = 1) or went (up = 0) at now_ms (uv_now). */
void fe_link_change(fe_link *l, int up, uint64_t now_ms);

#endif /* FE_LINK_H */
