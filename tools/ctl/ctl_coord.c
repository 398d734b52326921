/*
 * ctl_coord.c — sluice-ctl's commands for segstore's coordination state:
 * the KV store (kv get/put/delete/scan), groups (list, describe, delete,
 * committed offsets) and growing a topic.
 */
#include "ctl_impl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static sl_slice
arg(const char *s)
{
    return sl_slice_str(s);
}

/* Print bytes as text when printable, else as hex (0x...). */
static void
print_bytes(sl_slice v)
{
    int text = 1;
    for (size_t i = 0; i < v.n && text; i++)
        text = v.p[i] >= 0x20 && v.p[i] < 0x7f;
    if (text) {
        fwrite(v.p, 1, v.n, stdout);
        return;
    }
    fputs("0x", stdout);
    for (size_t i = 0; i < v.n; i++)
        printf("%02x", v.p[i]);
}

int
ctl_topic_grow(ctl *c, int argc, char **argv)
{
    int64_t n = 0;
    if (argc != 3 || strcmp(argv[1], "--partitions") != 0 ||
        parse_i64(argv[2], &n) != 0 || n < 1 || n > INT32_MAX)
        return die_usage("topic grow NAME --partitions N");
    ipc_add_partitions_req_encode(&c->req, arg(argv[0]), (int32_t)n, 0);
    int rc = call(c);
    if (rc == 0 && !c->json)
        printf("topic %s now has %" PRId64 " partitions\n", argv[0], n);
    return rc;
}

/* ---- kv ---------------------------------------------------------------- */

static int
kv_get(ctl *c, int argc, char **argv)
{
    if (argc < 1)
        return die_usage("kv get KEY...");
    sl_slice *keys = calloc((size_t)argc, sizeof(*keys));
    if (keys == NULL)
        return 2;
    for (int i = 0; i < argc; i++)
        keys[i] = arg(argv[i]);
    ipc_kv_get_req_encode(&c->req, keys, (size_t)argc);
    free(keys);
    int rc = call(c);
    if (rc != 0)
        return rc;
    ipc_kv_get_rep rep;
    if (ipc_kv_get_rep_decode(sl_slice_make(c->body.p, c->body.n), &rep) != 0) {
        fprintf(stderr, "sluice-ctl: malformed reply\n");
        return 2;
    }
    ipc_kv_entry e;
    int missing = 0;
    for (int i = 0; ipc_kv_get_rep_next(&rep, &e) == 1; i++) {
        if (c->json) {
            printf("{\"key\":");
            json_str(stdout, arg(argv[i]));
            if (e.status == 0) {
                printf(",\"version\":%" PRId64 ",\"value\":", e.version);
                json_str(stdout, e.value);
                printf("}\n");
            } else {
                printf(",\"version\":0,\"value\":null}\n");
            }
        } else if (e.status == 0) {
            printf("%s\t%" PRId64 "\t", argv[i], e.version);
            print_bytes(e.value);
            putchar('\n');
        } else {
            fprintf(stderr, "sluice-ctl: %s: no such key\n", argv[i]);
        }
        missing += e.status != 0;
    }
    return missing ? 1 : 0;
}

static int
kv_write(ctl *c, int kind, int argc, char **argv)
{
    ipc_kv_op op = {.kind = (uint8_t)kind, .expect = IPC_KV_ANY};
    int need = kind == IPC_KV_PUT ? 2 : 1;
    if (argc < need)
        return die_usage("kv put KEY VALUE | kv delete KEY [--expect V]");
    op.key = arg(argv[0]);
    if (kind == IPC_KV_PUT)
        op.value = arg(argv[1]);
    for (int i = need; i < argc; i++) {
        if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) {
            if (parse_i64(argv[++i], &op.expect) != 0 || op.expect < 0)
                return die_usage("--expect: a version (0: must not exist)");
        } else {
            return die_usage("kv put|delete: unknown argument");
        }
    }
    ipc_kv_write_req_encode(&c->req, 0, &op, 1);
    int rc = call(c);
    if (rc != 0)
        return rc;
    int64_t rev;
    if (ipc_kv_write_rep_decode(sl_slice_make(c->body.p, c->body.n), &rev) !=
        0) {
        fprintf(stderr, "sluice-ctl: malformed reply\n");
        return 2;
    }
    if (c->json)
        printf("{\"revision\":%" PRId64 "}\n", rev);
    else
        printf("revision %" PRId64 "\n", rev);
    return 0;
}

static int
kv_scan(ctl *c, int argc, char **argv)
{
    sl_slice prefix = sl_slice_make(NULL, 0);
    int64_t limit = -1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (parse_i64(argv[++i], &limit) != 0 || limit < 1)
                return die_usage("--limit: a positive integer");
        } else if (prefix.p == NULL) {
            prefix = arg(argv[i]);
        } else {
            return die_usage("kv scan [PREFIX] [--limit N]");
        }
    }
    sl_buf after;
    sl_buf_init(&after);
    int64_t printed = 0;
    int rc = 0;
    for (;;) {
        ipc_kv_scan_req q = {.prefix = prefix,
                             .after = sl_slice_make(after.p, after.n)};
        ipc_kv_scan_req_encode(&c->req, &q);
        rc = call(c);
        if (rc != 0)
            break;
        ipc_kv_scan_rep rep;
        if (ipc_kv_scan_rep_decode(sl_slice_make(c->body.p, c->body.n), &rep) !=
            0) {
            fprintf(stderr, "sluice-ctl: malformed reply\n");
            rc = 2;
            break;
        }
        ipc_kv_entry e;
        int done = 0;
        while (ipc_kv_scan_rep_next(&rep, &e) == 1) {
            if (limit >= 0 && printed >= limit) {
                done = 1;
                break;
            }
            if (c->json) {
                printf("{\"key\":");
                json_str(stdout, e.key);
                printf(",\"version\":%" PRId64 ",\"value\":", e.version);
                json_str(stdout, e.value);
                printf("}\n");
            } else {
                print_bytes(e.key);
                printf("\t%" PRId64 "\t", e.version);
                print_bytes(e.value);
                putchar('\n');
            }
            printed++;
            after.n = 0;
            sl_buf_append(&after, e.key.p, e.key.n);
        }
        if (done || !rep.more)
            break;
    }
    sl_buf_fini(&after);
    return rc;
}

int
ctl_kv(ctl *c, int argc, char **argv)
{
    if (argc < 1)
        return die_usage("kv get|put|delete|scan");
    if (strcmp(argv[0], "get") == 0)
        return kv_get(c, argc - 1, argv + 1);
    if (strcmp(argv[0], "put") == 0)
        return kv_write(c, IPC_KV_PUT, argc - 1, argv + 1);
    if (strcmp(argv[0], "delete") == 0)
        return kv_write(c, IPC_KV_DELETE, argc - 1, argv + 1);
    if (strcmp(argv[0], "scan") == 0)
        return kv_scan(c, argc - 1, argv + 1);
    return die_usage("kv get|put|delete|scan");
}

/* ---- groups -------------------------------------------------------------- */

static int
group_list(ctl *c)
{
    ipc_group_list_req_encode(&c->req);
    int rc = call(c);
    if (rc != 0)
        return rc;
    ipc_group_list_rep rep;
    if (ipc_group_list_rep_decode(sl_slice_make(c->body.p, c->body.n), &rep) !=
        0) {
        fprintf(stderr, "sluice-ctl: malformed reply\n");
        return 2;
    }
    ipc_group_listing g;
    while (ipc_group_list_rep_next(&rep, &g) == 1) {
        if (c->json) {
            printf("{\"group\":");
            json_str(stdout, g.group);
            printf(",\"protocol_type\":");
            json_str(stdout, g.protocol_type);
            printf(",\"state\":\"%s\"}\n", ipc_group_state_name(g.state));
        } else {
            printf("%.*s\t%s\t%.*s\n", (int)g.group.n, (const char *)g.group.p,
                   ipc_group_state_name(g.state), (int)g.protocol_type.n,
                   (const char *)g.protocol_type.p);
        }
    }
    return 0;
}

static int
group_describe(ctl *c, int argc, char **argv)
{
    if (argc < 1)
        return die_usage("group describe NAME...");
    sl_slice *names = calloc((size_t)argc, sizeof(*names));
    if (names == NULL)
        return 2;
    for (int i = 0; i < argc; i++)
        names[i] = arg(argv[i]);
    ipc_names_req_encode(&c->req, IPC_OP_GROUP_DESCRIBE, names, (size_t)argc);
    free(names);
    int rc = call(c);
    if (rc != 0)
        return rc;
    ipc_group_describe_rep rep;
    if (ipc_group_describe_rep_decode(sl_slice_make(c->body.p, c->body.n),
                                      &rep) != 0) {
        fprintf(stderr, "sluice-ctl: malformed reply\n");
        return 2;
    }
    ipc_group_info g;
    while (ipc_group_describe_rep_next(&rep, &g) == 1) {
        if (c->json) {
            printf("{\"group\":");
            json_str(stdout, g.group);
            printf(",\"state\":\"%s\",\"protocol_type\":",
                   ipc_group_state_name(g.state));
            json_str(stdout, g.protocol_type);
            printf(",\"protocol\":");
            json_str(stdout, g.protocol_name);
            printf(",\"members\":[");
        } else {
            printf("group %.*s state=%s protocol_type=%.*s protocol=%.*s "
                   "members=%u\n",
                   (int)g.group.n, (const char *)g.group.p,
                   ipc_group_state_name(g.state), (int)g.protocol_type.n,
                   (const char *)g.protocol_type.p, (int)g.protocol_name.n,
                   (const char *)g.protocol_name.p, g.nmembers);
        }
        ipc_group_member_info m;
        for (int k = 0; ipc_group_info_next_member(&g, &m) == 1; k++) {
            if (c->json) {
                printf("%s{\"member_id\":", k ? "," : "");
                json_str(stdout, m.member_id);
                printf(",\"instance_id\":");
                json_str(stdout, m.instance_id);
                printf(",\"client_id\":");
                json_str(stdout, m.client_id);
                printf(",\"client_host\":");
                json_str(stdout, m.client_host);
                printf(",\"assignment_bytes\":%zu}", m.assignment.n);
            } else {
                printf("  member %.*s client=%.*s host=%.*s%s%.*s "
                       "assignment=%zu bytes\n",
                       (int)m.member_id.n, (const char *)m.member_id.p,
                       (int)m.client_id.n, (const char *)m.client_id.p,
                       (int)m.client_host.n, (const char *)m.client_host.p,
                       m.instance_id.n ? " instance=" : "",
                       (int)m.instance_id.n, (const char *)m.instance_id.p,
                       m.assignment.n);
            }
        }
        if (c->json)
            printf("]}\n");
    }
    return 0;
}

static int
group_delete(ctl *c, int argc, char **argv)
{
    if (argc < 1)
        return die_usage("group delete NAME...");
    sl_slice *names = calloc((size_t)argc, sizeof(*names));
    if (names == NULL)
        return 2;
    for (int i = 0; i < argc; i++)
        names[i] = arg(argv[i]);
    ipc_names_req_encode(&c->req, IPC_OP_GROUP_DELETE, names, (size_t)argc);
    free(names);
    int rc = call(c);
    if (rc != 0)
        return rc;
    ipc_errors_rep rep;
    if (ipc_group_delete_rep_decode(sl_slice_make(c->body.p, c->body.n),
                                    &rep) != 0) {
        fprintf(stderr, "sluice-ctl: malformed reply\n");
        return 2;
    }
    int32_t err;
    int failed = 0;
    for (int i = 0; ipc_errors_rep_next(&rep, &err) == 1; i++) {
        if (err != 0) {
            fprintf(stderr, "sluice-ctl: %s: %s\n", argv[i], sl_strerror(err));
            failed = 1;
        } else if (!c->json) {
            printf("deleted group %s\n", argv[i]);
        }
    }
    return failed;
}

static int
group_offsets(ctl *c, int argc, char **argv)
{
    if (argc != 1)
        return die_usage("group offsets NAME");
    ipc_offset_fetch_req_encode(&c->req, arg(argv[0]), 1, NULL, 0);
    int rc = call(c);
    if (rc != 0)
        return rc;
    ipc_offset_fetch_rep rep;
    if (ipc_offset_fetch_rep_decode(sl_slice_make(c->body.p, c->body.n),
                                    &rep) != 0) {
        fprintf(stderr, "sluice-ctl: malformed reply\n");
        return 2;
    }
    if (rep.error != 0) {
        fprintf(stderr, "sluice-ctl: %s\n", sl_strerror(rep.error));
        return 1;
    }
    ipc_committed x;
    while (ipc_offset_fetch_rep_next(&rep, &x) == 1) {
        if (c->json) {
            printf("{\"topic\":");
            json_str(stdout, x.topic);
            printf(",\"partition\":%d,\"offset\":%" PRId64
                   ",\"leader_epoch\":%d,\"metadata\":",
                   x.partition, x.offset, x.leader_epoch);
            json_str(stdout, x.metadata);
            printf("}\n");
        } else {
            printf("%.*s\t%d\t%" PRId64 "\n", (int)x.topic.n,
                   (const char *)x.topic.p, x.partition, x.offset);
        }
    }
    return 0;
}

int
ctl_group(ctl *c, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "list") == 0)
        return group_list(c);
    if (argc >= 1 && strcmp(argv[0], "describe") == 0)
        return group_describe(c, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "delete") == 0)
        return group_delete(c, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "offsets") == 0)
        return group_offsets(c, argc - 1, argv + 1);
    return die_usage("group list|describe|delete|offsets");
}

void
ctl_print_coord_event(int json, const ipc_event *e)
{
    if (e->op == IPC_EVT_KV) {
        if (json) {
            printf("{\"event\":\"KV\",\"key\":");
            json_str(stdout, e->key);
            printf(",\"version\":%" PRId64 ",\"prev_revision\":%" PRId64
                   ",\"deleted\":%s,\"value\":",
                   e->version, e->prev_revision, e->deleted ? "true" : "false");
            json_str(stdout, e->value);
            printf("}\n");
        } else {
            printf("kv %s ", e->deleted ? "delete" : "put");
            print_bytes(e->key);
            printf(" %" PRId64 "\n", e->version);
        }
    } else {
        if (json) {
            printf("{\"event\":\"GROUP\",\"group\":");
            json_str(stdout, e->key);
            printf(",\"generation\":%d,\"state\":\"%s\"}\n", e->generation,
                   ipc_group_state_name(e->state));
        } else {
            printf("group %.*s generation=%d %s\n", (int)e->key.n,
                   (const char *)e->key.p, e->generation,
                   ipc_group_state_name(e->state));
        }
    }
}
