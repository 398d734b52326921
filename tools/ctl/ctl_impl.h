/*
 * ctl_impl.h — what sluice-ctl's files share.
 */
#ifndef CTL_IMPL_H
#define CTL_IMPL_H

#include "ipc_client.h"

#include <stdio.h>

typedef struct ctl {
    ipc_client *cl;
    int json;
    sl_buf req, body;
} ctl;

int die_usage(const char *msg);
/* Send ctl->req, wait for the reply into ctl->body; print the server's
 * error text.  0, 1 (refused) or 2 (transport). */
int call(ctl *c);
int parse_i64(const char *s, int64_t *v);
void json_str(FILE *f, sl_slice s);

/* ctl_coord.c */
int ctl_topic_grow(ctl *c, int argc, char **argv);
int ctl_kv(ctl *c, int argc, char **argv);
int ctl_group(ctl *c, int argc, char **argv);
void ctl_print_coord_event(int json, const ipc_event *e);

/* ctl_mqtt.c (no segstore needed) */
int ctl_mqtt(int argc, char **argv);

#endif /* CTL_IMPL_H */
