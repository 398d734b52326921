/*
 * sluice-ctl — administer a running sluice-segstore over IPC.
 *
 *   sluice-ctl [--segstore URL] [--json] topic create NAME --partitions N
 *                                        [--config KEY=VALUE]...
 *   sluice-ctl ... topic list | topic describe NAME | topic delete NAME
 *   sluice-ctl ... topic alter NAME [--config KEY=VALUE]...
 *                  [--delete-config KEY]... [--validate-only] [--replace]
 *   sluice-ctl ... offsets TOPIC PARTITION [earliest|latest|TIMESTAMP_MS]
 *   sluice-ctl ... produce TOPIC PARTITION [--key K] [--batch N] < lines
 *   sluice-ctl ... consume TOPIC PARTITION [--from OFFSET] [--count N]
 *                                          [--inline]
 *
 * The URL defaults to $SLUICE_SEGSTORE, else ipc://<./data>/segstore.sock.
 * Exit status: 0 success, 1 the server refused (message on stderr), 2 usage
 * or connection errors.
 */
#include "ctl_impl.h"
#include "sl_batch.h"

#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void
usage(FILE *out)
{
    fprintf(
        out,
        "usage: sluice-ctl [--segstore URL] [--json] COMMAND\n"
        "\n"
        "commands:\n"
        "  topic create NAME --partitions N [--config KEY=VALUE]...\n"
        "  topic list\n"
        "  topic describe NAME   (* marks configs set on the topic)\n"
        "  topic alter NAME [--config KEY=VALUE]... [--delete-config KEY]...\n"
        "      [--validate-only] [--replace]   (all or nothing; --replace\n"
        "      resets every config not given to its default)\n"
        "  topic delete NAME\n"
        "  offsets TOPIC PARTITION [earliest|latest|TIMESTAMP_MS]\n"
        "  produce TOPIC PARTITION [--key KEY] [--batch N]   (one record "
        "per stdin line)\n"
        "  consume TOPIC PARTITION [--from OFFSET (default: earliest)] "
        "[--count N] [--inline]\n"
        "  topic grow NAME --partitions N\n"
        "  kv get KEY... | kv put KEY VALUE [--expect VERSION]\n"
        "  kv delete KEY [--expect VERSION] | kv scan [PREFIX] [--limit N]\n"
        "  group list | group describe NAME... | group delete NAME...\n"
        "  group offsets NAME   (committed offsets)\n"
        "  events [--count N] [--seconds S]   (print segstore's events)\n"
        "  tier status TOPIC   (local vs. tiered ranges and bytes)\n"
        "  mqtt passwd [-c] FILE USER [--password P | --delete]\n"
        "      (an MQTT password file; no segstore needed; the password is\n"
        "      read from stdin without --password; -c creates FILE)\n"
        "\n"
        "The segstore URL defaults to $SLUICE_SEGSTORE, else\n"
        "ipc://$PWD/data/segstore.sock.\n");
}

int
die_usage(const char *msg)
{
    fprintf(stderr, "sluice-ctl: %s\n", msg);
    usage(stderr);
    return 2;
}

/* Send ctl->req, wait for the reply; print the server's error text. */
int
call(ctl *c)
{
    ipc_hdr h = {.status = 1}; /* 1 is never a status: tells the cases */
    int rc =
        ipc_client_call(c->cl, sl_slice_make(c->req.p, c->req.n), &h, &c->body);
    if (rc < 0 && rc != h.status) {
        fprintf(stderr, "sluice-ctl: segstore: %s\n", sl_strerror(rc));
        return 2;
    }
    if (h.status != 0) {
        fprintf(stderr, "sluice-ctl: %s: %.*s\n", sl_errname(h.status),
                (int)c->body.n, (const char *)c->body.p);
        return 1;
    }
    return 0;
}

int
parse_i64(const char *s, int64_t *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *v = x;
    return 0;
}

void
json_str(FILE *f, sl_slice s)
{
    fputc('"', f);
    for (size_t i = 0; i < s.n; i++) {
        uint8_t ch = s.p[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* ---- tier status ----------------------------------------------------------
 */

static int
tier_status(ctl *c, const char *topic)
{
    ipc_tier_status_req_encode(&c->req, sl_slice_str(topic));
    int rc = call(c);
    if (rc != 0)
        return rc;
    ipc_tier_status_rep m;
    if (ipc_tier_status_rep_decode(sl_slice_make(c->body.p, c->body.n), &m) !=
        0) {
        fprintf(stderr, "sluice-ctl: malformed TIER_STATUS reply\n");
        return 2;
    }
    ipc_tier_part p;
    if (!c->json)
        printf("%-4s %-25s %-12s %-25s %-12s %-5s %-7s %-5s %s\n", "part",
               "local", "local_bytes", "remote", "remote_bytes", "segs",
               "pending", "fails", "last_error");
    int first = 1;
    if (c->json)
        printf("[");
    while (ipc_tier_status_rep_next(&m, &p) == 1) {
        if (c->json) {
            printf("%s{\"partition\":%d,\"local_start\":%" PRId64
                   ",\"local_end\":%" PRId64 ",\"local_bytes\":%" PRId64
                   ",\"remote_start\":%" PRId64 ",\"remote_end\":%" PRId64
                   ",\"remote_bytes\":%" PRId64
                   ",\"remote_segments\":%d,\"pending_offload\":%d,"
                   "\"failures\":%" PRId64 ",\"last_error\":",
                   first ? "" : ",", p.partition, p.local_start, p.local_end,
                   p.local_bytes, p.remote_start, p.remote_end, p.remote_bytes,
                   p.remote_segments, p.pending_offload, p.failures);
            json_str(stdout, p.last_error);
            printf("}");
            first = 0;
            continue;
        }
        char lr[64], rr[64];
        snprintf(lr, sizeof(lr), "[%" PRId64 ",%" PRId64 ")", p.local_start,
                 p.local_end);
        if (p.remote_start >= 0)
            snprintf(rr, sizeof(rr), "[%" PRId64 ",%" PRId64 ")",
                     p.remote_start, p.remote_end);
        else
            snprintf(rr, sizeof(rr), "-");
        printf("%-4d %-25s %-12" PRId64 " %-25s %-12" PRId64
               " %-5d %-7d %-5" PRId64 " %.*s\n",
               p.partition, lr, p.local_bytes, rr, p.remote_bytes,
               p.remote_segments, p.pending_offload, p.failures,
               (int)p.last_error.n, (const char *)p.last_error.p);
    }
    if (c->json)
        printf("]\n");
    return 0;
}

/* ---- topic commands --------------------------------------------------------
 */

static int
topic_create(ctl *c, int argc, char **argv)
{
    if (argc < 1)
        return die_usage("topic create: NAME required");
    const char *name = argv[0];
    int64_t parts = -1;
    ipc_kv kv[64];
    size_t nkv = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--partitions") == 0 && i + 1 < argc) {
            if (parse_i64(argv[++i], &parts) != 0 || parts < 1 ||
                parts > INT32_MAX)
                return die_usage("--partitions: a positive integer");
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            char *eq = strchr(argv[++i], '=');
            if (eq == NULL || nkv == SL_ARRAY_LEN(kv))
                return die_usage("--config KEY=VALUE");
            kv[nkv].key = sl_slice_make(argv[i], (size_t)(eq - argv[i]));
            kv[nkv].value = sl_slice_str(eq + 1);
            nkv++;
        } else {
            return die_usage("topic create: unknown argument");
        }
    }
    if (parts < 0)
        return die_usage("topic create: --partitions N required");
    ipc_topic_create_req_encode(&c->req, sl_slice_str(name), (int32_t)parts, kv,
                                nkv);
    int rc = call(c);
    if (rc == 0 && !c->json)
        printf("created topic %s with %" PRId64 " partitions\n", name, parts);
    else if (rc == 0)
        printf("{\"created\":\"%s\",\"partitions\":%" PRId64 "}\n", name,
               parts);
    return rc;
}

static int
topic_list(ctl *c)
{
    ipc_topic_list_req_encode(&c->req);
    int rc = call(c);
    if (rc != 0)
        return rc;
    ipc_topic_list_rep m;
    if (ipc_topic_list_rep_decode(sl_slice_make(c->body.p, c->body.n), &m)) {
        fprintf(stderr, "sluice-ctl: malformed reply\n");
        return 2;
    }
    ipc_topic_entry e;
    int first = 1;
    if (c->json)
        printf("[");
    while (ipc_topic_list_rep_next(&m, &e) == 1) {
        if (c->json) {
            printf("%s{\"name\":", first ? "" : ",");
            json_str(stdout, e.name);
            printf(",\"partitions\":%d}", e.partitions);
        } else {
            printf("%.*s\t%d\n", (int)e.name.n, (const char *)e.name.p,
                   e.partitions);
        }
        first = 0;
    }
    if (c->json)
        printf("]\n");
    return 0;
}

/* The topic's overrides (TOPIC_ALTER_CONFIGS, validate_only, no change):
 * copied out, because the next call reuses c->body.  0, or the exit
 * status after printing why. */
typedef struct ctl_overrides {
    size_t n;
    char key[64][64];
    char value[64][256];
} ctl_overrides;

static int topic_describe_with(ctl *c, const char *name,
                               const ctl_overrides *ov);

static int
fetch_overrides(ctl *c, const char *name, ctl_overrides *o)
{
    o->n = 0;
    ipc_alter_configs_req_encode(&c->req, sl_slice_str(name), 1, 0, NULL, 0);
    int rc = call(c);
    if (rc != 0)
        return rc;
    ipc_alter_configs_rep m;
    if (ipc_alter_configs_rep_decode(sl_slice_make(c->body.p, c->body.n), &m) !=
        0) {
        fprintf(stderr, "sluice-ctl: malformed reply\n");
        return 2;
    }
    ipc_kv kv;
    while (o->n < SL_ARRAY_LEN(o->key) &&
           ipc_alter_configs_rep_next(&m, &kv) == 1) {
        snprintf(o->key[o->n], sizeof(o->key[0]), "%.*s", (int)kv.key.n,
                 (const char *)kv.key.p);
        snprintf(o->value[o->n], sizeof(o->value[0]), "%.*s", (int)kv.value.n,
                 (const char *)kv.value.p);
        o->n++;
    }
    return 0;
}

static int
is_override(const ctl_overrides *o, sl_slice key)
{
    for (size_t i = 0; i < o->n; i++)
        if (sl_slice_eq_str(key, o->key[i]))
            return 1;
    return 0;
}

/* topic alter NAME [--config K=V]... [--delete-config K]... [--validate-only]
 * [--replace]: one TOPIC_ALTER_CONFIGS, all or nothing. */
static int
topic_alter(ctl *c, int argc, char **argv)
{
    if (argc < 1)
        return die_usage("topic alter: NAME required");
    const char *name = argv[0];
    ipc_cfg_op ops[64];
    size_t n = 0;
    int validate_only = 0, replace = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            char *eq = strchr(argv[++i], '=');
            if (eq == NULL || n == SL_ARRAY_LEN(ops))
                return die_usage("--config KEY=VALUE");
            ops[n].op = IPC_CFG_SET;
            ops[n].key = sl_slice_make(argv[i], (size_t)(eq - argv[i]));
            ops[n].value = sl_slice_str(eq + 1);
            n++;
        } else if (strcmp(argv[i], "--delete-config") == 0 && i + 1 < argc) {
            if (n == SL_ARRAY_LEN(ops))
                return die_usage("too many configs");
            ops[n].op = IPC_CFG_DELETE;
            ops[n].key = sl_slice_str(argv[++i]);
            ops[n].value = sl_slice_make(NULL, 0);
            n++;
        } else if (strcmp(argv[i], "--validate-only") == 0) {
            validate_only = 1;
        } else if (strcmp(argv[i], "--replace") == 0) {
            replace = 1;
        } else {
            return die_usage("topic alter: unknown argument");
        }
    }
    if (n == 0 && !replace)
        return die_usage("topic alter: --config KEY=VALUE or --delete-config "
                         "KEY required");
    ipc_alter_configs_req_encode(&c->req, sl_slice_str(name), validate_only,
                                 replace, ops, n);
    int rc = call(c);
    if (rc != 0)
        return rc;
    ipc_alter_configs_rep m;
    if (ipc_alter_configs_rep_decode(sl_slice_make(c->body.p, c->body.n), &m) !=
        0) {
        fprintf(stderr, "sluice-ctl: malformed reply\n");
        return 2;
    }
    ipc_kv kv;
    int first = 1;
    if (c->json) {
        printf("{\"topic\":");
        json_str(stdout, sl_slice_str(name));
        printf(",\"validate_only\":%s,\"overrides\":{",
               validate_only ? "true" : "false");
    } else {
        printf("%s topic %s; its overrides%s:\n",
               validate_only ? "validated (nothing changed)" : "altered", name,
               validate_only ? " would be" : " now");
    }
    while (ipc_alter_configs_rep_next(&m, &kv) == 1) {
        if (c->json) {
            printf("%s", first ? "" : ",");
            json_str(stdout, kv.key);
            printf(":");
            json_str(stdout, kv.value);
        } else {
            printf("  %.*s=%.*s\n", (int)kv.key.n, (const char *)kv.key.p,
                   (int)kv.value.n, (const char *)kv.value.p);
        }
        first = 0;
    }
    if (c->json)
        printf("}}\n");
    else if (first)
        printf("  (none: every config is segstore's topic.* default)\n");
    return 0;
}

static int
topic_describe(ctl *c, const char *name)
{
    ctl_overrides *ov = malloc(sizeof(*ov));
    if (ov == NULL)
        return 2;
    int rc = fetch_overrides(c, name, ov);
    if (rc == 0)
        rc = topic_describe_with(c, name, ov);
    free(ov);
    return rc;
}

static int
topic_describe_with(ctl *c, const char *name, const ctl_overrides *ov)
{
    ipc_topic_describe_req_encode(&c->req, sl_slice_str(name));
    int rc = call(c);
    if (rc != 0)
        return rc;
    ipc_topic_describe_rep m;
    if (ipc_topic_describe_rep_decode(sl_slice_make(c->body.p, c->body.n),
                                      &m)) {
        fprintf(stderr, "sluice-ctl: malformed reply\n");
        return 2;
    }
    ipc_kv kv;
    ipc_partition_info pi;
    if (c->json) {
        printf("{\"name\":");
        json_str(stdout, m.name);
        printf(",\"partitions\":%d,\"configs\":{", m.partitions);
        int first = 1;
        while (ipc_topic_describe_rep_next_config(&m, &kv) == 1) {
            printf("%s", first ? "" : ",");
            json_str(stdout, kv.key);
            printf(":");
            json_str(stdout, kv.value);
            first = 0;
        }
        printf("},\"overrides\":[");
        for (size_t i = 0; i < ov->n; i++) {
            printf("%s", i ? "," : "");
            json_str(stdout, sl_slice_str(ov->key[i]));
        }
        printf("],\"partition_info\":[");
        first = 1;
        while (ipc_topic_describe_rep_next_part(&m, &pi) == 1) {
            printf("%s{\"partition\":%d,\"log_start\":%" PRId64
                   ",\"high_watermark\":%" PRId64
                   ",\"segments\":%d,\"bytes\":%" PRId64 "}",
                   first ? "" : ",", pi.partition, pi.log_start,
                   pi.high_watermark, pi.segments, pi.bytes);
            first = 0;
        }
        printf("]}\n");
        return 0;
    }
    printf("topic %.*s: %d partitions\n", (int)m.name.n, (const char *)m.name.p,
           m.partitions);
    printf("configs (* set on the topic; the rest are segstore's topic.* "
           "defaults):\n");
    while (ipc_topic_describe_rep_next_config(&m, &kv) == 1)
        printf("%c %.*s=%.*s\n", is_override(ov, kv.key) ? '*' : ' ',
               (int)kv.key.n, (const char *)kv.key.p, (int)kv.value.n,
               (const char *)kv.value.p);
    printf("partition  log-start  high-watermark  segments  bytes\n");
    while (ipc_topic_describe_rep_next_part(&m, &pi) == 1)
        printf("%9d  %9" PRId64 "  %14" PRId64 "  %8d  %" PRId64 "\n",
               pi.partition, pi.log_start, pi.high_watermark, pi.segments,
               pi.bytes);
    return 0;
}

static int
topic_delete(ctl *c, const char *name)
{
    ipc_topic_delete_req_encode(&c->req, sl_slice_str(name));
    int rc = call(c);
    if (rc == 0 && !c->json)
        printf("deleted topic %s\n", name);
    else if (rc == 0)
        printf("{\"deleted\":\"%s\"}\n", name);
    return rc;
}

/* ---- data commands
 * ------------------------------------------------------------ */

/* One LIST_OFFSETS entry: 0 with *r, or the exit status (1 refused, 2
 * transport or malformed reply) after printing why. */
static int
query_offset(ctl *c, const char *topic, int32_t part, int64_t spec,
             ipc_offsets_result *r)
{
    ipc_offsets_entry e = {sl_slice_str(topic), part, spec};
    ipc_offsets_req_encode(&c->req, &e, 1);
    int rc = call(c);
    if (rc != 0)
        return rc;
    ipc_offsets_rep m;
    if (ipc_offsets_rep_decode(sl_slice_make(c->body.p, c->body.n), &m) ||
        ipc_offsets_rep_next(&m, r) != 1) {
        fprintf(stderr, "sluice-ctl: malformed reply\n");
        return 2;
    }
    if (r->status != 0) {
        fprintf(stderr, "sluice-ctl: %s\n", sl_strerror(r->status));
        return 1;
    }
    return 0;
}

static int
offsets(ctl *c, int argc, char **argv)
{
    if (argc < 2)
        return die_usage("offsets TOPIC PARTITION [earliest|latest|TS]");
    int64_t part, spec = IPC_OFFSET_LATEST;
    if (parse_i64(argv[1], &part) != 0)
        return die_usage("PARTITION: an integer");
    if (argc > 2) {
        if (strcmp(argv[2], "earliest") == 0)
            spec = IPC_OFFSET_EARLIEST;
        else if (strcmp(argv[2], "latest") == 0)
            spec = IPC_OFFSET_LATEST;
        else if (parse_i64(argv[2], &spec) != 0 || spec < 0)
            return die_usage("earliest, latest or a timestamp in ms");
    }
    ipc_offsets_result r;
    int rc = query_offset(c, argv[0], (int32_t)part, spec, &r);
    if (rc != 0)
        return rc;
    if (c->json)
        printf("{\"offset\":%" PRId64 ",\"timestamp\":%" PRId64 "}\n", r.offset,
               r.timestamp);
    else
        printf("%" PRId64 "\n", r.offset);
    return 0;
}

static int
send_batch(ctl *c, const char *topic, int32_t part, sl_buf *batch)
{
    ipc_append_entry e = {sl_slice_str(topic), part,
                          sl_slice_make(batch->p, batch->n)};
    ipc_append_req_encode(&c->req, 0, &e, 1);
    int rc = call(c);
    if (rc != 0)
        return rc;
    ipc_append_rep m;
    ipc_append_result r;
    if (ipc_append_rep_decode(sl_slice_make(c->body.p, c->body.n), &m) ||
        ipc_append_rep_next(&m, &r) != 1) {
        fprintf(stderr, "sluice-ctl: malformed reply\n");
        return 2;
    }
    if (r.status != 0) {
        fprintf(stderr, "sluice-ctl: append: %s\n", sl_strerror(r.status));
        return 1;
    }
    if (c->json)
        printf("{\"base_offset\":%" PRId64 ",\"last_offset\":%" PRId64 "}\n",
               r.base_offset, r.last_offset);
    else
        printf("%" PRId64 "..%" PRId64 "\n", r.base_offset, r.last_offset);
    return 0;
}

static int
produce(ctl *c, int argc, char **argv)
{
    if (argc < 2)
        return die_usage("produce TOPIC PARTITION [--key K] [--batch N]");
    int64_t part, per = 100;
    const char *key = NULL;
    if (parse_i64(argv[1], &part) != 0)
        return die_usage("PARTITION: an integer");
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
            key = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            if (parse_i64(argv[++i], &per) != 0 || per < 1)
                return die_usage("--batch: a positive integer");
        } else
            return die_usage("produce: unknown argument");
    }
    sl_buf batch;
    sl_buf_init(&batch);
    sl_batch_builder bb;
    int n = 0, rc = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (n == 0) {
            sl_buf_reset(&batch);
            sl_batch_builder_init(&bb, &batch, sl_now_ms());
        }
        sl_slice k = sl_slice_str(key), v = sl_slice_make(line, (size_t)len);
        sl_batch_builder_add(&bb, sl_now_ms(), key ? &k : NULL, &v, NULL, 0);
        if (++n == per) {
            sl_batch_builder_finish(&bb);
            if ((rc = send_batch(c, argv[0], (int32_t)part, &batch)) != 0)
                break;
            n = 0;
        }
    }
    if (rc == 0 && n > 0) {
        sl_batch_builder_finish(&bb);
        rc = send_batch(c, argv[0], (int32_t)part, &batch);
    }
    free(line);
    sl_buf_fini(&batch);
    return rc;
}

static void
print_bytes(sl_slice s, int null)
{
    if (null) {
        printf("null");
        return;
    }
    int printable = 1;
    for (size_t i = 0; i < s.n; i++)
        if (!isprint(s.p[i]))
            printable = 0;
    if (printable)
        printf("%.*s", (int)s.n, (const char *)s.p);
    else
        for (size_t i = 0; i < s.n; i++)
            printf("%02x", s.p[i]);
}

/* Print records of whole batches; return the next offset wanted. */
static int64_t
print_batches(ctl *c, sl_slice data, int64_t from, int64_t *left)
{
    sl_batch_hdr h;
    sl_slice b;
    int64_t next = from;
    while (*left != 0 && sl_batch_next(&data, 0, &h, &b) == 0) {
        if (sl_batch_check(b, SL_BATCH_CHECK_CRC, &h) != 0) {
            fprintf(stderr,
                    "sluice-ctl: batch at offset %" PRId64 " fails its CRC\n",
                    h.base_offset);
            exit(1);
        }
        if (sl_batch_compression(&h) != SL_COMPRESSION_NONE) {
            printf("# offsets %" PRId64 "..%" PRId64 ": %s-compressed\n",
                   h.base_offset, sl_batch_last_offset(&h),
                   sl_compression_name(sl_batch_compression(&h)));
            next = sl_batch_last_offset(&h) + 1;
            continue;
        }
        sl_rd rd;
        sl_rd_init(&rd, sl_batch_records(b));
        sl_record r;
        while (*left != 0 && sl_record_next(&rd, &r) == 0) {
            int64_t off = h.base_offset + r.offset_delta;
            if (off < from)
                continue;
            int64_t ts = h.base_timestamp + r.timestamp_delta;
            if (c->json) {
                printf("{\"offset\":%" PRId64 ",\"timestamp\":%" PRId64
                       ",\"key\":",
                       off, ts);
                if (r.key_null)
                    printf("null");
                else
                    json_str(stdout, r.key);
                printf(",\"value\":");
                if (r.value_null)
                    printf("null");
                else
                    json_str(stdout, r.value);
                printf("}\n");
            } else {
                printf("%" PRId64 "\t%" PRId64 "\t", off, ts);
                print_bytes(r.key, r.key_null);
                printf("\t");
                print_bytes(r.value, r.value_null);
                printf("\n");
            }
            if (*left > 0)
                (*left)--;
            next = off + 1;
        }
        next = sl_batch_last_offset(&h) + 1;
    }
    return next;
}

static int
consume(ctl *c, int argc, char **argv)
{
    if (argc < 2)
        return die_usage("consume TOPIC PARTITION [--from O] [--count N]");
    int64_t part, from = -1, count = -1;
    int inl = 0;
    if (parse_i64(argv[1], &part) != 0)
        return die_usage("PARTITION: an integer");
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            if (parse_i64(argv[++i], &from) != 0)
                return die_usage("--from: an offset");
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            if (parse_i64(argv[++i], &count) != 0)
                return die_usage("--count: an integer");
        } else if (strcmp(argv[i], "--inline") == 0) {
            inl = 1;
        } else
            return die_usage("consume: unknown argument");
    }
    if (from < 0) {
        /* Without --from, start at the log's first offset. */
        ipc_offsets_result r;
        int rc =
            query_offset(c, argv[0], (int32_t)part, IPC_OFFSET_EARLIEST, &r);
        if (rc != 0)
            return rc;
        from = r.offset;
    }
    if (!inl) {
        int rc = ipc_client_hello(c->cl, 5000);
        if (rc != 0) {
            fprintf(stderr, "sluice-ctl: hello: %s\n", sl_strerror(rc));
            return 2;
        }
        inl = !ipc_client_is_local(c->cl);
    }
    /* Read until the high watermark (or count records). */
    for (;;) {
        ipc_read_entry e = {sl_slice_str(argv[0]), (int32_t)part, from,
                            1 << 20};
        ipc_read_req_encode(&c->req, inl ? IPC_READ_INLINE : 0, &e, 1);
        int rc = call(c);
        if (rc != 0)
            return rc;
        ipc_read_rep m;
        ipc_read_result r;
        if (ipc_read_rep_decode(sl_slice_make(c->body.p, c->body.n), &m) ||
            ipc_read_rep_next(&m, &r) != 1) {
            fprintf(stderr, "sluice-ctl: malformed reply\n");
            return 2;
        }
        if (r.status != 0) {
            fprintf(stderr, "sluice-ctl: read at %" PRId64 ": %s\n", from,
                    sl_strerror(r.status));
            return 1;
        }
        if (r.kind == IPC_READ_NONE || count == 0)
            return 0;
        if (r.kind == IPC_READ_INLINE_DATA) {
            from = print_batches(c, r.data, from, &count);
        } else {
            ipc_seg_view v;
            rc = ipc_client_map(c->cl, r.path, r.position, r.length, &v);
            if (rc != 0) {
                fprintf(stderr, "sluice-ctl: map %.*s: %s\n", (int)r.path.n,
                        (const char *)r.path.p, sl_strerror(rc));
                return 1;
            }
            from = print_batches(c, v.bytes, from, &count);
            ipc_seg_view_release(&v);
        }
        if (from >= r.high_watermark || count == 0)
            return 0;
    }
}

/* ---- events ------------------------------------------------------------ */

typedef struct ev_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t left; /* events still to print; -1 = no limit */
    int json;
} ev_wait;

static void
on_event(void *arg, const ipc_event *e)
{
    ev_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    if (w->left != 0) {
        if (e->op == IPC_EVT_KV || e->op == IPC_EVT_GROUP) {
            ctl_print_coord_event(w->json, e);
        } else if (w->json) {
            const char *name = ipc_op_name(e->op);
            if (strncmp(name, "EVT_", 4) == 0)
                name += 4;
            printf("{\"event\":\"%s\",\"topic\":", name);
            json_str(stdout, e->topic);
            if (e->op == IPC_EVT_ADVANCE)
                printf(",\"partition\":%d,\"high_watermark\":%" PRId64 "}\n",
                       e->partition, e->high_watermark);
            else
                printf(",\"partitions\":%d}\n", e->partitions);
        } else if (e->op == IPC_EVT_ADVANCE) {
            printf("advance %.*s/%d %" PRId64 "\n", (int)e->topic.n,
                   (const char *)e->topic.p, e->partition, e->high_watermark);
        } else {
            printf("%s %.*s %d\n",
                   e->op == IPC_EVT_TOPIC_CREATED ? "created" : "deleted",
                   (int)e->topic.n, (const char *)e->topic.p, e->partitions);
        }
        fflush(stdout);
        if (w->left > 0)
            w->left--;
    }
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int
events(ctl *c, int argc, char **argv)
{
    int64_t count = -1;
    double seconds = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            if (parse_i64(argv[++i], &count) != 0 || count < 1)
                return die_usage("--count: a positive integer");
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else {
            return die_usage("events [--count N] [--seconds S]");
        }
    }
    int rc = ipc_client_hello(c->cl, 5000);
    if (rc != 0) {
        fprintf(stderr, "sluice-ctl: hello: %s\n", sl_strerror(rc));
        return 2;
    }
    ev_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, count,
                 c->json};
    rc = ipc_client_subscribe(c->cl, NULL, on_event, &w);
    if (rc != 0) {
        fprintf(stderr, "sluice-ctl: subscribe: %s\n", sl_strerror(rc));
        return 2;
    }
    /* Say when the subscription is up, for scripts that act next. */
    fprintf(stderr, "sluice-ctl: subscribed to %s\n",
            ipc_client_events_url(c->cl));
    uint64_t end = seconds > 0 ? sl_mono_ns() + (uint64_t)(seconds * 1e9) : 0;
    pthread_mutex_lock(&w.mu);
    while (w.left != 0 && (end == 0 || sl_mono_ns() < end)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&w.cv, &w.mu, &ts);
    }
    w.left = 0; /* print nothing more while closing */
    pthread_mutex_unlock(&w.mu);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *url = getenv("SLUICE_SEGSTORE");
    char defurl[PATH_MAX + 32];
    ctl c;
    memset(&c, 0, sizeof(c));
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--segstore") == 0 && i + 1 < argc)
            url = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            c.json = 1;
        else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("sluice-ctl %s\n", SLUICE_VERSION);
            return 0;
        } else
            return die_usage("unknown option");
    }
    if (i >= argc)
        return die_usage("a command is required");
    if (url == NULL) {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return die_usage("cannot get the working directory");
        snprintf(defurl, sizeof(defurl), "ipc://%s/data/segstore.sock", cwd);
        url = defurl;
    }
    ipc_client_opts o = {0};
    o.url = url;
    o.name = "sluice-ctl";
    o.timeout_ms = 15000;
    int rc = ipc_client_new(&o, &c.cl);
    if (rc != 0) {
        fprintf(stderr, "sluice-ctl: %s: %s\n", url, sl_strerror(rc));
        return 2;
    }
    char **av = argv + i;
    int ac = argc - i;
    if (strcmp(av[0], "topic") == 0 && ac >= 2) {
        if (strcmp(av[1], "create") == 0)
            rc = topic_create(&c, ac - 2, av + 2);
        else if (strcmp(av[1], "list") == 0)
            rc = topic_list(&c);
        else if (strcmp(av[1], "describe") == 0 && ac >= 3)
            rc = topic_describe(&c, av[2]);
        else if (strcmp(av[1], "delete") == 0 && ac >= 3)
            rc = topic_delete(&c, av[2]);
        else if (strcmp(av[1], "alter") == 0)
            rc = topic_alter(&c, ac - 2, av + 2);
        else if (strcmp(av[1], "grow") == 0 && ac >= 3)
            rc = ctl_topic_grow(&c, ac - 2, av + 2);
        else
            rc = die_usage("topic create|list|describe|alter|delete|grow");
    } else if (strcmp(av[0], "offsets") == 0) {
        rc = offsets(&c, ac - 1, av + 1);
    } else if (strcmp(av[0], "produce") == 0) {
        rc = produce(&c, ac - 1, av + 1);
    } else if (strcmp(av[0], "consume") == 0) {
        rc = consume(&c, ac - 1, av + 1);
    } else if (strcmp(av[0], "mqtt") == 0) {
        rc = ctl_mqtt(ac - 1, av + 1);
    } else if (strcmp(av[0], "kv") == 0) {
        rc = ctl_kv(&c, ac - 1, av + 1);
    } else if (strcmp(av[0], "group") == 0) {
        rc = ctl_group(&c, ac - 1, av + 1);
    } else if (strcmp(av[0], "events") == 0) {
        rc = events(&c, ac - 1, av + 1);
    } else if (strcmp(av[0], "tier") == 0 && ac >= 3 &&
               strcmp(av[1], "status") == 0) {
        rc = tier_status(&c, av[2]);
    } else {
        rc = die_usage("unknown command");
    }
    ipc_client_close(c.cl);
    ipc_client_free(c.cl);
    sl_buf_fini(&c.req);
    sl_buf_fini(&c.body);
    return rc;
}
