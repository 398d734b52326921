/*
 * kf_srv_meta.c — ApiVersions and Metadata: what this broker serves, and
 * the one-broker cluster it presents.
 *
 * ApiVersions advertises exactly the APIs this binary handles (served_keys),
 * with the version ranges of the codec's table (kf_api_ranges()); dispatch
 * admits nothing else, so what is advertised and what is served cannot
 * drift apart.
 *
 * Metadata describes one broker, node.id at the --advertise address, that
 * leads every partition, is its only replica and ISR, and is the
 * controller: every sluice-kafka instance behind a load balancer gives the
 * same answer, because segstore is the single authority behind them all.
 * Topics come from segstore's TOPIC_LIST; unknown topics are created when
 * the config and the request allow it, then listed again.
 */
#include "kf_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const int16_t served_keys[] = {
    KF_API_PRODUCE,           KF_API_FETCH,
    KF_API_LIST_OFFSETS,      KF_API_METADATA,
    KF_API_OFFSET_COMMIT,     KF_API_OFFSET_FETCH,
    KF_API_FIND_COORDINATOR,  KF_API_JOIN_GROUP,
    KF_API_HEARTBEAT,         KF_API_LEAVE_GROUP,
    KF_API_SYNC_GROUP,        KF_API_DESCRIBE_GROUPS,
    KF_API_LIST_GROUPS,       KF_API_API_VERSIONS,
    KF_API_CREATE_TOPICS,     KF_API_DELETE_TOPICS,
    KF_API_INIT_PRODUCER_ID,  KF_API_DESCRIBE_CONFIGS,
    KF_API_CREATE_PARTITIONS, KF_API_DELETE_GROUPS,
    KF_API_ALTER_CONFIGS,     KF_API_INCREMENTAL_ALTER_CONFIGS,
};

bool
kf__api_served(int16_t api_key, int16_t version)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(served_keys); i++)
        if (served_keys[i] == api_key)
            return kf_api_supported(api_key, version);
    return false;
}

/* The advertised table, in key order as Kafka lists it. */
static int32_t
served_table(kf_apiversions_key *out)
{
    size_t n;
    const kf_api_range *all = kf_api_ranges(&n);
    int32_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!kf__api_served(all[i].api_key, all[i].min_version))
            continue;
        out[k].api_key = all[i].api_key;
        out[k].min_version = all[i].min_version;
        out[k].max_version = all[i].max_version;
        k++;
    }
    return k;
}

void
kf__apiversions(kf_req *r)
{
    kf_apiversions_key keys[SL_ARRAY_LEN(served_keys)];
    kf_apiversions_resp resp = {0};
    resp.api_keys = keys;
    resp.n_api_keys = served_table(keys);
    kf__resp_send(r, &resp);
}

void
kf__apiversions_unsupported(kf_req *r)
{
    kf_apiversions_key keys[SL_ARRAY_LEN(served_keys)];
    kf_apiversions_resp resp = {0};
    resp.error_code = KF_ERR_UNSUPPORTED_VERSION;
    resp.api_keys = keys;
    resp.n_api_keys = served_table(keys);
    /* The body is v0 whatever the request's version, so that any client
     * can read it; the response header of ApiVersions is v0 anyway. */
    sl_buf_reset(&r->out);
    int rc = sl_buf_put_u32be(&r->out, 0);
    if (rc == 0)
        rc = kf_resp_hdr_encode(&r->out, KF_API_API_VERSIONS, 0,
                                r->hdr.correlation_id);
    if (rc == 0)
        rc = kf_apiversions_resp_encode(&r->out, 0, &resp);
    if (rc == 0)
        rc = kf__resp_end(r);
    if (rc != 0)
        kf__conn_fail(r, rc);
    kf__req_done(r);
}

/* ---- Metadata ---------------------------------------------------------------
 */

typedef struct md_state {
    int all;          /* every topic */
    int allow_create; /* auto-create the unknown requested topics */
    int created;      /* creation already tried */
    int pending;      /* TOPIC_CREATE replies owed */
    int32_t node[1];  /* replicas = isr = [node.id] */
} md_state;

static void
md_free(kf_req *r)
{
    free(r->hs);
    r->hs = NULL;
}

static int md_list(kf_req *r);

/* Has a topic of this name: 1 and *parts, or 0. */
static int
list_find(sl_slice body, sl_slice name, int32_t *parts)
{
    ipc_topic_list_rep m;
    ipc_topic_entry e;
    if (ipc_topic_list_rep_decode(body, &m) != 0)
        return 0;
    while (ipc_topic_list_rep_next(&m, &e) == 1) {
        if (e.name.n == name.n && memcmp(e.name.p, name.p, name.n) == 0) {
            *parts = e.partitions;
            return 1;
        }
    }
    return 0;
}

static bool
seen_before(const sl_slice *names, int32_t i)
{
    for (int32_t j = 0; j < i; j++)
        if (names[j].n == names[i].n &&
            memcmp(names[j].p, names[i].p, names[i].n) == 0)
            return true;
    return false;
}

static int
fill_topic(kf_metadata_topic *t, sl_slice name, int32_t nparts, int32_t *node,
           kf_metadata_part **pool)
{
    t->error_code = KF_ERR_NONE;
    t->name = name;
    t->is_internal = false;
    t->partitions = *pool;
    t->n_partitions = nparts;
    for (int32_t p = 0; p < nparts; p++) {
        kf_metadata_part *mp = &t->partitions[p];
        memset(mp, 0, sizeof(*mp));
        mp->error_code = KF_ERR_NONE;
        mp->partition_index = p;
        mp->leader_id = node[0];
        mp->leader_epoch = 0;
        mp->replica_nodes = node;
        mp->n_replica_nodes = 1;
        mp->isr_nodes = node;
        mp->n_isr_nodes = 1;
        mp->offline_replicas = NULL;
        mp->n_offline_replicas = 0;
    }
    *pool += nparts;
    return 0;
}

/* Build and send the response.  body is a TOPIC_LIST reply, or empty when
 * segstore could not be asked (then requested topics are
 * LEADER_NOT_AVAILABLE, which clients retry). */
static void
md_respond(kf_req *r, int have_list, sl_slice body)
{
    kf_server *s = r->srv;
    md_state *st = r->hs;
    kf_metadata_req *q = r->msg;
    kf_metadata_broker broker = {
        .node_id = (int32_t)s->cfg->node_id,
        .host = sl_slice_str(s->cfg->adv_host),
        .port = s->cfg->adv_port,
        .rack = kf_nslice_null(),
    };
    kf_metadata_resp resp = {0};
    resp.brokers = &broker;
    resp.n_brokers = 1;
    resp.cluster_id =
        s->cluster_id[0] ? kf_nslice_str(s->cluster_id) : kf_nslice_null();
    resp.controller_id = (int32_t)s->cfg->node_id;

    ipc_topic_list_rep m = {0};
    ipc_topic_entry e;
    if (have_list && ipc_topic_list_rep_decode(body, &m) != 0)
        have_list = 0;
    size_t ntopics = 0, nparts = 0;
    if (st->all) {
        if (have_list) {
            ipc_topic_list_rep it = m;
            while (ipc_topic_list_rep_next(&it, &e) == 1) {
                ntopics++;
                nparts += (size_t)SL_MAX(e.partitions, 0);
            }
        }
    } else {
        ntopics = (size_t)q->n_topics;
        for (int32_t i = 0; have_list && i < q->n_topics; i++) {
            int32_t np;
            if (list_find(body, q->topics[i], &np))
                nparts += (size_t)SL_MAX(np, 0);
        }
    }
    kf_metadata_topic *topics = calloc(ntopics ? ntopics : 1, sizeof(*topics));
    kf_metadata_part *parts = calloc(nparts ? nparts : 1, sizeof(*parts));
    if (topics == NULL || parts == NULL) {
        free(topics);
        free(parts);
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    kf_metadata_part *pool = parts;
    int32_t n = 0;
    if (st->all) {
        while (have_list && ipc_topic_list_rep_next(&m, &e) == 1)
            fill_topic(&topics[n++], e.name, SL_MAX(e.partitions, 0), st->node,
                       &pool);
    } else {
        for (int32_t i = 0; i < q->n_topics; i++) {
            sl_slice name = q->topics[i];
            if (seen_before(q->topics, i))
                continue;
            kf_metadata_topic *t = &topics[n++];
            int32_t np;
            t->name = name;
            if (!kf__topic_valid(name))
                t->error_code = KF_ERR_INVALID_TOPIC_EXCEPTION;
            else if (!have_list)
                t->error_code = KF_ERR_LEADER_NOT_AVAILABLE;
            else if (list_find(body, name, &np))
                fill_topic(t, name, SL_MAX(np, 0), st->node, &pool);
            else
                t->error_code = KF_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    resp.topics = topics;
    resp.n_topics = n;
    kf__resp_send(r, &resp);
    free(topics);
    free(parts);
}

static void
on_create(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    (void)rc;
    (void)h;
    (void)body;
    if (!kf__ipc_back(r))
        return;
    md_state *st = r->hs;
    /* Whatever each creation answered (created, already there because
     * another client won the race, refused), the list that follows says
     * what exists. */
    if (--st->pending > 0)
        return;
    if (md_list(r) != 0)
        md_respond(r, 0, sl_slice_make(NULL, 0));
}

static void
on_list(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    md_state *st = r->hs;
    kf_metadata_req *q = r->msg;
    if (rc != 0 || h->status != 0) {
        md_respond(r, 0, body);
        return;
    }
    if (st->allow_create && !st->created) {
        st->created = 1;
        sl_buf b = {0};
        for (int32_t i = 0; i < q->n_topics; i++) {
            int32_t np;
            sl_slice name = q->topics[i];
            if (!kf__topic_valid(name) || seen_before(q->topics, i) ||
                list_find(body, name, &np))
                continue;
            if (ipc_topic_create_req_encode(
                    &b, name, (int32_t)r->srv->cfg->num_partitions, NULL, 0) ==
                    0 &&
                kf__ipc(r, &b, on_create) == 0)
                st->pending++;
        }
        sl_buf_fini(&b);
        if (st->pending > 0)
            return;
    }
    md_respond(r, 1, body);
}

static int
md_list(kf_req *r)
{
    sl_buf b = {0};
    int rc = ipc_topic_list_req_encode(&b);
    if (rc == 0)
        rc = kf__ipc(r, &b, on_list);
    sl_buf_fini(&b);
    return rc;
}

void
kf__metadata(kf_req *r)
{
    kf_metadata_req *q = r->msg;
    int16_t v = r->hdr.api_version;
    md_state *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    r->hs = st;
    r->hs_free = md_free;
    st->node[0] = (int32_t)r->srv->cfg->node_id;
    /* v0: an empty list means every topic; v1+: null does, and empty means
     * none (a client asking only for brokers). */
    st->all = v == 0 ? q->n_topics <= 0 : q->n_topics < 0;
    /* Before v4 the request cannot say; the broker's setting decides. */
    st->allow_create = r->srv->cfg->auto_create &&
                       (v < 4 || q->allow_auto_topic_creation) && !st->all;
    if (!st->all && q->n_topics == 0) {
        md_respond(r, 1, sl_slice_make(NULL, 0));
        return;
    }
    if (md_list(r) != 0)
        md_respond(r, 0, sl_slice_make(NULL, 0));
}
