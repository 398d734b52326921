/*
 * kf_srv_admin.c — the topic administration APIs: CreateTopics (v0-4),
 * DeleteTopics (v0-3), DescribeConfigs (v0-2), CreatePartitions (v0-1),
 * AlterConfigs (v0-1) and IncrementalAlterConfigs (v0-1).
 *
 * Segstore's topic operations take one topic each, so these send one IPC
 * request per topic, all at once, and answer when the last reply is in.
 * Administration is rare; the data path never does this.
 *
 * CreateTopics: a single replica exists, so replication_factor must be 1
 * or -1 (INVALID_REPLICATION_FACTOR otherwise) and a manual assignment may
 * name only this broker (INVALID_REPLICA_ASSIGNMENT).  Configs are
 * segstore's topic keys (docs/configuration.md, without the topic.
 * prefix); segstore refuses an unknown key or a bad value, answered
 * INVALID_CONFIG with segstore's reason as error_message (v1+).
 * validate_only checks everything locally (names, counts, replication,
 * config key names, existence) but cannot check config values: segstore
 * has no dry-run creation.
 *
 * CreatePartitions: segstore's TOPIC_ADD_PARTITIONS per topic (count is
 * the new total; validate_only is passed on, segstore checks without
 * adding).  A manual assignment may name only this broker, one replica per
 * new partition (INVALID_REPLICA_ASSIGNMENT); a count not above the
 * current one is INVALID_PARTITIONS with segstore's reason.
 *
 * DescribeConfigs: topic resources list segstore's effective configs.
 * Segstore does not say which values are per-topic overrides and which
 * are its defaults, so config_source is UNKNOWN (0) and is_default false.
 * Broker resources (name "" or node.id) list a fixed, read-only set that
 * describes this frontend.
 */
#include "kf_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const topic_keys[] = {
    "segment.bytes",          "segment.ms",           "retention.ms",
    "retention.bytes",        "index.interval.bytes", "max.message.bytes",
    "message.timestamp.type", "preallocate",          "cleanup.policy",
};

static bool
same(sl_slice a, sl_slice b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* Per topic or resource: an error, a message, and (DescribeConfigs) the
 * configs copied out of segstore's reply as key\0value\0 pairs. */
typedef struct ad_item {
    int16_t err;
    int asked;
    char *msg;
    sl_buf kv;
    int32_t nkv;
} ad_item;

typedef struct ad_state {
    ad_item *items;
    int32_t n;
    int pending;
    int32_t cur; /* item of the IPC being sent */
} ad_state;

static void
ad_free(kf_req *r)
{
    ad_state *st = r->hs;
    if (st != NULL) {
        for (int32_t i = 0; i < st->n; i++) {
            free(st->items[i].msg);
            sl_buf_fini(&st->items[i].kv);
        }
        free(st->items);
        free(st);
    }
    r->hs = NULL;
}

static ad_state *
ad_new(kf_req *r, int32_t n)
{
    ad_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->items = calloc(n > 0 ? (size_t)n : 1, sizeof(*st->items));
    if (st->items == NULL) {
        free(st);
        return NULL;
    }
    st->n = n;
    r->hs = st;
    r->hs_free = ad_free;
    return st;
}

/* error_message = pre + a + post. */
static void
set_msg(ad_item *it, const char *pre, sl_slice a, const char *post)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s%.*s%s", pre, (int)SL_MIN(a.n, 300),
             (const char *)a.p, post);
    free(it->msg);
    it->msg = strdup(buf);
}

static kf_nslice
msg_of(const ad_item *it)
{
    return it->msg ? kf_nslice_str(it->msg) : kf_nslice_null();
}

/* Each IPC of these requests carries its item index in a small cell, as
 * the callback argument must be the request. */
typedef struct ad_cb_arg {
    kf_req *r;
    int32_t item;
} ad_cb_arg;

static int
ad_send(kf_req *r, sl_buf *b, int32_t item, ipc_client_cb cb)
{
    ad_cb_arg *a = malloc(sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    a->r = r;
    a->item = item;
    int rc = ipc_client_request(r->srv->ipc, sl_slice_make(b->p, b->n), cb, a);
    if (rc != 0) {
        free(a);
        return rc;
    }
    r->ipc_pending++;
    ((ad_state *)r->hs)->pending++;
    return 0;
}

/* Take the callback argument apart; NULL when the request is gone. */
static kf_req *
ad_back(void *arg, int32_t *item)
{
    ad_cb_arg *a = arg;
    kf_req *r = a->r;
    *item = a->item;
    free(a);
    if (!kf__ipc_back(r))
        return NULL;
    ((ad_state *)r->hs)->pending--;
    return r;
}

static void
item_from_reply(ad_item *it, int16_t api_key, int rc, const ipc_hdr *h,
                sl_slice body, int16_t inval)
{
    if (rc != 0) {
        it->err = KF_ERR_REQUEST_TIMED_OUT;
        return;
    }
    if (h->status == 0) {
        it->err = KF_ERR_NONE;
        return;
    }
    it->err = kf__err_from_sl(h->status, api_key, KF_ERR_REQUEST_TIMED_OUT);
    if (h->status == SL_E_INVAL)
        it->err = inval;
    sl_slice text;
    if (ipc_err_decode(body, &text) == 0)
        set_msg(it, "", text, "");
}

/* ---- CreateTopics
 * ------------------------------------------------------------- */

static void
ct_respond(kf_req *r)
{
    ad_state *st = r->hs;
    kf_createtopics_req *q = r->msg;
    kf_createtopics_result *res =
        calloc(q->n_topics > 0 ? (size_t)q->n_topics : 1, sizeof(*res));
    if (res == NULL) {
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    for (int32_t i = 0; i < q->n_topics; i++) {
        res[i].name = q->topics[i].name;
        res[i].error_code = st->items[i].err;
        res[i].error_message = msg_of(&st->items[i]);
    }
    kf_createtopics_resp resp = {0};
    resp.topics = res;
    resp.n_topics = q->n_topics;
    kf__resp_send(r, &resp);
    free(res);
}

static void
on_ct_create(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    int32_t i;
    kf_req *r = ad_back(arg, &i);
    if (r == NULL)
        return;
    ad_state *st = r->hs;
    kf_createtopics_req *q = r->msg;
    item_from_reply(&st->items[i], r->hdr.api_key, rc, h, body,
                    q->topics[i].n_configs > 0 ? KF_ERR_INVALID_CONFIG
                                               : KF_ERR_INVALID_PARTITIONS);
    if (st->pending == 0)
        ct_respond(r);
}

static void
on_ct_list(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    int32_t unused;
    kf_req *r = ad_back(arg, &unused);
    if (r == NULL)
        return;
    ad_state *st = r->hs;
    kf_createtopics_req *q = r->msg;
    ipc_topic_list_rep m;
    int ok =
        rc == 0 && h->status == 0 && ipc_topic_list_rep_decode(body, &m) == 0;
    for (int32_t i = 0; i < q->n_topics; i++) {
        ad_item *it = &st->items[i];
        if (!it->asked)
            continue;
        if (!ok) {
            it->err = KF_ERR_REQUEST_TIMED_OUT;
            continue;
        }
        ipc_topic_list_rep it2 = m;
        ipc_topic_entry e;
        while (ipc_topic_list_rep_next(&it2, &e) == 1)
            if (same(e.name, q->topics[i].name))
                it->err = KF_ERR_TOPIC_ALREADY_EXISTS;
    }
    ct_respond(r);
}

/* Local checks of one topic; returns its partition count or 0 with
 * it->err set. */
static int32_t
ct_check(kf_req *r, int32_t i, ad_item *it)
{
    kf_createtopics_req *q = r->msg;
    kf_createtopics_topic *t = &q->topics[i];
    int32_t node = (int32_t)r->srv->cfg->node_id;
    for (int32_t j = 0; j < q->n_topics; j++) {
        if (j != i && same(q->topics[j].name, t->name)) {
            it->err = KF_ERR_INVALID_REQUEST;
            set_msg(it, "topic ", t->name, " appears twice in the request");
            return 0;
        }
    }
    if (!kf__topic_valid(t->name)) {
        it->err = KF_ERR_INVALID_TOPIC_EXCEPTION;
        set_msg(it, "invalid topic name '", t->name, "'");
        return 0;
    }
    int32_t np;
    if (t->n_assignments > 0) {
        if (t->num_partitions != -1 || t->replication_factor != -1) {
            it->err = KF_ERR_INVALID_REQUEST;
            set_msg(
                it, "", t->name,
                ": assignments with a partition count or replication factor");
            return 0;
        }
        for (int32_t a = 0; a < t->n_assignments; a++) {
            kf_createtopics_assignment *as = &t->assignments[a];
            if (as->partition_index < 0 ||
                as->partition_index >= t->n_assignments ||
                as->n_broker_ids != 1 || as->broker_ids[0] != node) {
                it->err = KF_ERR_INVALID_REPLICA_ASSIGNMENT;
                set_msg(it, "", t->name,
                        ": every partition must have exactly this broker as "
                        "its replica");
                return 0;
            }
        }
        np = t->n_assignments;
    } else {
        np = t->num_partitions == -1 ? (int32_t)r->srv->cfg->num_partitions
                                     : t->num_partitions;
        if (np <= 0) {
            it->err = KF_ERR_INVALID_PARTITIONS;
            set_msg(it, "", t->name, ": the partition count must be positive");
            return 0;
        }
        if (t->replication_factor != 1 && t->replication_factor != -1) {
            it->err = KF_ERR_INVALID_REPLICATION_FACTOR;
            set_msg(it, "", t->name,
                    ": one replica exists; replication factor must be 1");
            return 0;
        }
    }
    for (int32_t c = 0; c < t->n_configs; c++) {
        bool known = false;
        for (size_t k = 0; k < SL_ARRAY_LEN(topic_keys); k++)
            known |= sl_slice_eq_str(t->configs[c].name, topic_keys[k]) != 0;
        if (!known) {
            it->err = KF_ERR_INVALID_CONFIG;
            set_msg(it, "unknown topic config '", t->configs[c].name, "'");
            return 0;
        }
    }
    return np;
}

void
kf__createtopics(kf_req *r)
{
    kf_createtopics_req *q = r->msg;
    ad_state *st = ad_new(r, q->n_topics);
    if (st == NULL) {
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    int any = 0;
    sl_buf b = {0};
    for (int32_t i = 0; i < q->n_topics; i++) {
        ad_item *it = &st->items[i];
        kf_createtopics_topic *t = &q->topics[i];
        int32_t np = ct_check(r, i, it);
        if (np == 0)
            continue;
        it->asked = 1;
        any = 1;
        if (q->validate_only)
            continue;
        ipc_kv *kv =
            calloc(t->n_configs > 0 ? (size_t)t->n_configs : 1, sizeof(*kv));
        size_t nkv = 0;
        int rc = kv == NULL ? -ENOMEM : 0;
        for (int32_t c = 0; rc == 0 && c < t->n_configs; c++) {
            /* A null value means "the default": nothing to store. */
            if (t->configs[c].value.null)
                continue;
            kv[nkv].key = t->configs[c].name;
            kv[nkv].value = t->configs[c].value.v;
            nkv++;
        }
        if (rc == 0)
            rc = ipc_topic_create_req_encode(&b, t->name, np, kv, nkv);
        if (rc == 0)
            rc = ad_send(r, &b, i, on_ct_create);
        free(kv);
        if (rc != 0)
            it->err = KF_ERR_REQUEST_TIMED_OUT;
    }
    if (q->validate_only && any) {
        int rc = ipc_topic_list_req_encode(&b);
        if (rc == 0)
            rc = ad_send(r, &b, 0, on_ct_list);
        if (rc != 0)
            for (int32_t i = 0; i < q->n_topics; i++)
                if (st->items[i].asked)
                    st->items[i].err = KF_ERR_REQUEST_TIMED_OUT;
    }
    sl_buf_fini(&b);
    if (st->pending == 0)
        ct_respond(r);
}

/* ---- DeleteTopics
 * ------------------------------------------------------------- */

static void
dt_respond(kf_req *r)
{
    ad_state *st = r->hs;
    kf_deletetopics_req *q = r->msg;
    kf_deletetopics_result *res = calloc(
        q->n_topic_names > 0 ? (size_t)q->n_topic_names : 1, sizeof(*res));
    if (res == NULL) {
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    for (int32_t i = 0; i < q->n_topic_names; i++) {
        res[i].name = q->topic_names[i];
        res[i].error_code = st->items[i].err;
    }
    kf_deletetopics_resp resp = {0};
    resp.responses = res;
    resp.n_responses = q->n_topic_names;
    kf__resp_send(r, &resp);
    free(res);
}

static void
on_dt_delete(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    int32_t i;
    kf_req *r = ad_back(arg, &i);
    if (r == NULL)
        return;
    ad_state *st = r->hs;
    kf_deletetopics_req *q = r->msg;
    item_from_reply(&st->items[i], r->hdr.api_key, rc, h, body,
                    KF_ERR_INVALID_REQUEST);
    /* Later duplicates of the name share the answer. */
    for (int32_t j = i + 1; j < q->n_topic_names; j++)
        if (same(q->topic_names[j], q->topic_names[i]))
            st->items[j].err = st->items[i].err;
    if (st->pending == 0)
        dt_respond(r);
}

void
kf__deletetopics(kf_req *r)
{
    kf_deletetopics_req *q = r->msg;
    ad_state *st = ad_new(r, q->n_topic_names);
    if (st == NULL) {
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    sl_buf b = {0};
    for (int32_t i = 0; i < q->n_topic_names; i++) {
        ad_item *it = &st->items[i];
        sl_slice name = q->topic_names[i];
        bool dup = false;
        for (int32_t j = 0; j < i; j++)
            dup |= same(q->topic_names[j], name);
        if (dup)
            continue;
        if (!kf__topic_valid(name)) {
            it->err = KF_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        int rc = ipc_topic_delete_req_encode(&b, name);
        if (rc == 0)
            rc = ad_send(r, &b, i, on_dt_delete);
        if (rc != 0)
            it->err = KF_ERR_REQUEST_TIMED_OUT;
    }
    sl_buf_fini(&b);
    if (st->pending == 0)
        dt_respond(r);
}

/* ---- DescribeConfigs
 * ----------------------------------------------------------- */

enum { RES_TOPIC = 2, RES_BROKER = 4 };
enum { SRC_UNKNOWN = 0, SRC_STATIC_BROKER = 4 };

static bool
key_wanted(const kf_describeconfigs_resource *res, sl_slice key)
{
    if (res->n_configuration_keys < 0)
        return true;
    for (int32_t i = 0; i < res->n_configuration_keys; i++)
        if (same(res->configuration_keys[i], key))
            return true;
    return false;
}

static int
kv_add(ad_item *it, sl_slice key, sl_slice value)
{
    uint8_t zero = 0;
    int rc = sl_buf_append(&it->kv, key.p, key.n);
    if (rc == 0)
        rc = sl_buf_append(&it->kv, &zero, 1);
    if (rc == 0)
        rc = sl_buf_append(&it->kv, value.p, value.n);
    if (rc == 0)
        rc = sl_buf_append(&it->kv, &zero, 1);
    if (rc == 0)
        it->nkv++;
    return rc;
}

static void
broker_configs(kf_req *r, const kf_describeconfigs_resource *res, ad_item *it)
{
    const kf_config *c = r->srv->cfg;
    char v[SL_CONF_STR_MAX + 32];
    /* s: a text value; otherwise n. */
    struct {
        const char *k;
        long long n;
        const char *s;
    } tab[] = {
        {"broker.id", (long long)c->node_id, NULL},
        {"advertised.listeners", (long long)c->adv_port, c->adv_host},
        {"auto.create.topics.enable", 0, c->auto_create ? "true" : "false"},
        {"num.partitions", (long long)c->num_partitions, NULL},
        {"default.replication.factor", 1, NULL},
        {"socket.request.max.bytes", (long long)c->max_request_bytes, NULL},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(tab); i++) {
        if (!key_wanted(res, sl_slice_str(tab[i].k)))
            continue;
        if (i == 1)
            snprintf(v, sizeof(v), "PLAINTEXT://%s:%lld", tab[i].s, tab[i].n);
        else if (tab[i].s != NULL)
            snprintf(v, sizeof(v), "%s", tab[i].s);
        else
            snprintf(v, sizeof(v), "%lld", tab[i].n);
        if (kv_add(it, sl_slice_str(tab[i].k), sl_slice_str(v)) != 0)
            it->err = KF_ERR_UNKNOWN_SERVER_ERROR;
    }
}

static void
dc_respond(kf_req *r)
{
    ad_state *st = r->hs;
    kf_describeconfigs_req *q = r->msg;
    size_t nres = q->n_resources > 0 ? (size_t)q->n_resources : 1;
    size_t ncfg = 1;
    for (int32_t i = 0; i < q->n_resources; i++)
        ncfg += (size_t)st->items[i].nkv;
    kf_describeconfigs_result *res = calloc(nres, sizeof(*res));
    kf_describeconfigs_config *cfgs = calloc(ncfg, sizeof(*cfgs));
    if (res == NULL || cfgs == NULL) {
        free(res);
        free(cfgs);
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    kf_describeconfigs_config *pool = cfgs;
    for (int32_t i = 0; i < q->n_resources; i++) {
        ad_item *it = &st->items[i];
        const kf_describeconfigs_resource *rs = &q->resources[i];
        res[i].error_code = it->err;
        res[i].error_message = msg_of(it);
        res[i].resource_type = rs->resource_type;
        res[i].resource_name = rs->resource_name;
        res[i].configs = pool;
        res[i].n_configs = it->err ? 0 : it->nkv;
        const char *p = (const char *)it->kv.p;
        for (int32_t k = 0; !it->err && k < it->nkv; k++) {
            kf_describeconfigs_config *c = pool++;
            size_t kl = strlen(p);
            c->name = sl_slice_make(p, kl);
            p += kl + 1;
            size_t vl = strlen(p);
            c->value = kf_nslice_make(p, vl);
            p += vl + 1;
            c->read_only = rs->resource_type == RES_BROKER;
            c->is_default = false;
            c->config_source = rs->resource_type == RES_BROKER
                                   ? SRC_STATIC_BROKER
                                   : SRC_UNKNOWN;
            c->is_sensitive = false;
            c->synonyms = NULL;
            c->n_synonyms = 0;
        }
    }
    kf_describeconfigs_resp resp = {0};
    resp.results = res;
    resp.n_results = q->n_resources;
    kf__resp_send(r, &resp);
    free(res);
    free(cfgs);
}

static void
on_dc_describe(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    int32_t i;
    kf_req *r = ad_back(arg, &i);
    if (r == NULL)
        return;
    ad_state *st = r->hs;
    kf_describeconfigs_req *q = r->msg;
    ad_item *it = &st->items[i];
    item_from_reply(it, r->hdr.api_key, rc, h, body, KF_ERR_INVALID_REQUEST);
    ipc_topic_describe_rep m;
    if (it->err == KF_ERR_NONE) {
        if (ipc_topic_describe_rep_decode(body, &m) != 0) {
            it->err = KF_ERR_UNKNOWN_SERVER_ERROR;
        } else {
            ipc_kv kv;
            while (ipc_topic_describe_rep_next_config(&m, &kv) == 1)
                if (key_wanted(&q->resources[i], kv.key) &&
                    kv_add(it, kv.key, kv.value) != 0)
                    it->err = KF_ERR_UNKNOWN_SERVER_ERROR;
        }
    }
    if (st->pending == 0)
        dc_respond(r);
}

void
kf__describeconfigs(kf_req *r)
{
    kf_describeconfigs_req *q = r->msg;
    ad_state *st = ad_new(r, q->n_resources);
    if (st == NULL) {
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    char node[32];
    snprintf(node, sizeof(node), "%lld", (long long)r->srv->cfg->node_id);
    sl_buf b = {0};
    for (int32_t i = 0; i < q->n_resources; i++) {
        ad_item *it = &st->items[i];
        const kf_describeconfigs_resource *rs = &q->resources[i];
        if (rs->resource_type == RES_BROKER) {
            if (rs->resource_name.n == 0 ||
                sl_slice_eq_str(rs->resource_name, node))
                broker_configs(r, rs, it);
            else {
                it->err = KF_ERR_INVALID_REQUEST;
                set_msg(it, "no broker '", rs->resource_name, "' here");
            }
            continue;
        }
        if (rs->resource_type != RES_TOPIC) {
            it->err = KF_ERR_INVALID_REQUEST;
            set_msg(it, "only topic (2) and broker (4) resources",
                    sl_slice_make("", 0), "");
            continue;
        }
        if (!kf__topic_valid(rs->resource_name)) {
            it->err = KF_ERR_INVALID_TOPIC_EXCEPTION;
            continue;
        }
        int rc = ipc_topic_describe_req_encode(&b, rs->resource_name);
        if (rc == 0)
            rc = ad_send(r, &b, i, on_dc_describe);
        if (rc != 0)
            it->err = KF_ERR_REQUEST_TIMED_OUT;
    }
    sl_buf_fini(&b);
    if (st->pending == 0)
        dc_respond(r);
}

/* ---- CreatePartitions
 * --------------------------------------------------------- */

static void
cp_respond(kf_req *r)
{
    ad_state *st = r->hs;
    kf_createpartitions_req *q = r->msg;
    kf_createpartitions_result *res =
        calloc(q->n_topics > 0 ? (size_t)q->n_topics : 1, sizeof(*res));
    if (res == NULL) {
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    for (int32_t i = 0; i < q->n_topics; i++) {
        res[i].name = q->topics[i].name;
        res[i].error_code = st->items[i].err;
        res[i].error_message = msg_of(&st->items[i]);
    }
    kf_createpartitions_resp resp = {0};
    resp.results = res;
    resp.n_results = q->n_topics;
    kf__resp_send(r, &resp);
    free(res);
}

static void
on_cp_add(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    int32_t i;
    kf_req *r = ad_back(arg, &i);
    if (r == NULL)
        return;
    ad_state *st = r->hs;
    item_from_reply(&st->items[i], r->hdr.api_key, rc, h, body,
                    KF_ERR_INVALID_PARTITIONS);
    if (st->pending == 0)
        cp_respond(r);
}

void
kf__createpartitions(kf_req *r)
{
    kf_createpartitions_req *q = r->msg;
    ad_state *st = ad_new(r, q->n_topics);
    if (st == NULL) {
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    int32_t node = (int32_t)r->srv->cfg->node_id;
    sl_buf b = {0};
    for (int32_t i = 0; i < q->n_topics; i++) {
        ad_item *it = &st->items[i];
        kf_createpartitions_topic *t = &q->topics[i];
        bool dup = false;
        for (int32_t j = 0; j < q->n_topics; j++)
            dup |= j != i && same(q->topics[j].name, t->name);
        if (dup) {
            it->err = KF_ERR_INVALID_REQUEST;
            set_msg(it, "topic ", t->name, " appears twice in the request");
            continue;
        }
        if (!kf__topic_valid(t->name)) {
            it->err = KF_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        if (t->count <= 0) {
            it->err = KF_ERR_INVALID_PARTITIONS;
            set_msg(it, "", t->name, ": the partition count must be positive");
            continue;
        }
        bool bad = false;
        for (int32_t a = 0; a < t->n_assignments; a++)
            bad |= t->assignments[a].n_broker_ids != 1 ||
                   t->assignments[a].broker_ids[0] != node;
        if (bad) {
            it->err = KF_ERR_INVALID_REPLICA_ASSIGNMENT;
            set_msg(it, "", t->name,
                    ": every new partition must have exactly this broker as "
                    "its replica");
            continue;
        }
        int rc = ipc_add_partitions_req_encode(&b, t->name, t->count,
                                               q->validate_only);
        if (rc == 0)
            rc = ad_send(r, &b, i, on_cp_add);
        if (rc != 0)
            it->err = KF_ERR_REQUEST_TIMED_OUT;
    }
    sl_buf_fini(&b);
    if (st->pending == 0)
        cp_respond(r);
}

/* ---- AlterConfigs and IncrementalAlterConfigs
 * --------------------------------------------------
 *
 * One TOPIC_ALTER_CONFIGS per topic resource, all or nothing in segstore
 * (docs/ipc.md 4.24).  AlterConfigs replaces: every override the request
 * does not list goes back to segstore's default, as Kafka does for topic
 * resources.  IncrementalAlterConfigs SETs and DELETEs single keys; no
 * topic config of segstore is a list, so APPEND and SUBTRACT are
 * INVALID_REQUEST.  A bad key or value is INVALID_CONFIG with segstore's
 * reason; an unknown topic UNKNOWN_TOPIC_OR_PARTITION.  Broker resources
 * cannot be changed (sluice-kafka has no dynamic broker configs):
 * INVALID_REQUEST, per resource.  validate_only is passed on: segstore
 * checks with the same rules and changes nothing. */

/* The request's resources, for either API (both put type and name first). */
static int32_t
alt_count(kf_req *r)
{
    if (r->hdr.api_key == KF_API_ALTER_CONFIGS)
        return ((kf_alterconfigs_req *)r->msg)->n_resources;
    return ((kf_incrementalalterconfigs_req *)r->msg)->n_resources;
}

static void
alt_resource(kf_req *r, int32_t i, int8_t *type, sl_slice *name)
{
    if (r->hdr.api_key == KF_API_ALTER_CONFIGS) {
        kf_alterconfigs_resource *x =
            &((kf_alterconfigs_req *)r->msg)->resources[i];
        *type = x->resource_type;
        *name = x->resource_name;
    } else {
        kf_incrementalalterconfigs_resource *x =
            &((kf_incrementalalterconfigs_req *)r->msg)->resources[i];
        *type = x->resource_type;
        *name = x->resource_name;
    }
}

static void
alt_respond(kf_req *r)
{
    ad_state *st = r->hs;
    int32_t n = alt_count(r);
    kf_alterconfigs_result *res = calloc(n > 0 ? (size_t)n : 1, sizeof(*res));
    if (res == NULL) {
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        alt_resource(r, i, &res[i].resource_type, &res[i].resource_name);
        res[i].error_code = st->items[i].err;
        res[i].error_message = msg_of(&st->items[i]);
    }
    if (r->hdr.api_key == KF_API_ALTER_CONFIGS) {
        kf_alterconfigs_resp resp = {0};
        resp.responses = res;
        resp.n_responses = n;
        kf__resp_send(r, &resp);
    } else {
        kf_incrementalalterconfigs_resp resp = {0};
        resp.responses = res;
        resp.n_responses = n;
        kf__resp_send(r, &resp);
    }
    free(res);
}

static void
on_alt_reply(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    int32_t i;
    kf_req *r = ad_back(arg, &i);
    if (r == NULL)
        return;
    ad_state *st = r->hs;
    ad_item *it = &st->items[i];
    item_from_reply(it, r->hdr.api_key, rc, h, body, KF_ERR_INVALID_CONFIG);
    if (rc == 0 && h->status == SL_E_UNSUPPORTED)
        it->err = KF_ERR_INVALID_CONFIG; /* cleanup.policy=compact */
    if (st->pending == 0)
        alt_respond(r);
}

/* The segstore ops of resource i into ops (n_configs of them); 0, or a
 * Kafka error with the message set. */
static int16_t
alt_ops(kf_req *r, int32_t i, ad_item *it, ipc_cfg_op *ops, int32_t *nops)
{
    *nops = 0;
    if (r->hdr.api_key == KF_API_ALTER_CONFIGS) {
        kf_alterconfigs_resource *x =
            &((kf_alterconfigs_req *)r->msg)->resources[i];
        for (int32_t k = 0; k < x->n_configs; k++) {
            kf_alterconfigs_config *c = &x->configs[k];
            if (c->value.null) {
                set_msg(it, "config ", c->name, ": a null value is not valid");
                return KF_ERR_INVALID_REQUEST;
            }
            ops[k].op = IPC_CFG_SET;
            ops[k].key = c->name;
            ops[k].value = c->value.v;
        }
        *nops = x->n_configs;
        return KF_ERR_NONE;
    }
    kf_incrementalalterconfigs_resource *x =
        &((kf_incrementalalterconfigs_req *)r->msg)->resources[i];
    for (int32_t k = 0; k < x->n_configs; k++) {
        kf_incrementalalterconfigs_config *c = &x->configs[k];
        switch (c->config_operation) {
        case KF_CONFIG_OP_SET:
            if (c->value.null) {
                set_msg(it, "config ", c->name,
                        ": SET with a null value is not valid");
                return KF_ERR_INVALID_REQUEST;
            }
            ops[k].op = IPC_CFG_SET;
            ops[k].value = c->value.v;
            break;
        case KF_CONFIG_OP_DELETE:
            ops[k].op = IPC_CFG_DELETE;
            ops[k].value = sl_slice_make(NULL, 0);
            break;
        case KF_CONFIG_OP_APPEND:
        case KF_CONFIG_OP_SUBTRACT:
            set_msg(it, "config ", c->name,
                    ": APPEND and SUBTRACT apply to list configs only, and "
                    "no topic config here is a list");
            return KF_ERR_INVALID_REQUEST;
        default:
            set_msg(it, "config ", c->name,
                    ": unknown config operation (0 SET, 1 DELETE, 2 APPEND, "
                    "3 SUBTRACT)");
            return KF_ERR_INVALID_REQUEST;
        }
        ops[k].key = c->name;
    }
    *nops = x->n_configs;
    return KF_ERR_NONE;
}

static int32_t
alt_nconfigs(kf_req *r, int32_t i)
{
    if (r->hdr.api_key == KF_API_ALTER_CONFIGS)
        return ((kf_alterconfigs_req *)r->msg)->resources[i].n_configs;
    return ((kf_incrementalalterconfigs_req *)r->msg)->resources[i].n_configs;
}

void
kf__alterconfigs(kf_req *r)
{
    int32_t n = alt_count(r);
    bool replace = r->hdr.api_key == KF_API_ALTER_CONFIGS;
    bool validate_only =
        replace ? ((kf_alterconfigs_req *)r->msg)->validate_only
                : ((kf_incrementalalterconfigs_req *)r->msg)->validate_only;
    ad_state *st = ad_new(r, n);
    if (st == NULL) {
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    sl_buf b = {0};
    for (int32_t i = 0; i < n; i++) {
        ad_item *it = &st->items[i];
        int8_t type;
        sl_slice name;
        alt_resource(r, i, &type, &name);
        if (type == RES_BROKER) {
            it->err = KF_ERR_INVALID_REQUEST;
            set_msg(it,
                    "broker configs cannot be changed: sluice-kafka has "
                    "no dynamic broker configs (broker '",
                    name, "'; set them in its configuration and send SIGHUP)");
            continue;
        }
        if (type != RES_TOPIC) {
            it->err = KF_ERR_INVALID_REQUEST;
            set_msg(it, "only topic (2) resources can be altered",
                    sl_slice_make("", 0), "");
            continue;
        }
        bool dup = false;
        for (int32_t j = 0; j < n; j++) {
            int8_t tj;
            sl_slice nj;
            alt_resource(r, j, &tj, &nj);
            dup |= j != i && tj == type && same(nj, name);
        }
        if (dup) {
            it->err = KF_ERR_INVALID_REQUEST;
            set_msg(it, "topic ", name, " appears twice in the request");
            continue;
        }
        if (!kf__topic_valid(name)) {
            it->err = KF_ERR_INVALID_TOPIC_EXCEPTION;
            continue;
        }
        int32_t nc = alt_nconfigs(r, i), nops;
        ipc_cfg_op *ops = calloc(nc > 0 ? (size_t)nc : 1, sizeof(*ops));
        if (ops == NULL) {
            it->err = KF_ERR_UNKNOWN_SERVER_ERROR;
            continue;
        }
        it->err = alt_ops(r, i, it, ops, &nops);
        if (it->err == KF_ERR_NONE) {
            int rc = ipc_alter_configs_req_encode(&b, name, validate_only,
                                                  replace, ops, (size_t)nops);
            if (rc == 0)
                rc = ad_send(r, &b, i, on_alt_reply);
            if (rc != 0)
                it->err = KF_ERR_REQUEST_TIMED_OUT;
        }
        free(ops);
    }
    sl_buf_fini(&b);
    if (st->pending == 0)
        alt_respond(r);
}
