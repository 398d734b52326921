/*
 * kf_srv_offsets.c — ListOffsets (v1-4): earliest (-2), latest (-1) and
 * by timestamp (KIP-79: the first offset whose batch maxTimestamp is at or
 * after the target, or offset -1 / timestamp -1 when there is none), every
 * partition of the request in one segstore LIST_OFFSETS.
 *
 * Without transactions the last stable offset is the high watermark, so
 * read_committed and read_uncommitted get the same answer.  The leader
 * epoch (v4) is 0, the epoch segstore stamps on every batch.  Any other
 * negative timestamp (later versions define -3 for "max timestamp") is not
 * something v1-4 can ask for: INVALID_REQUEST for that partition.
 */
#include "kf_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct lo_part {
    int16_t err;
    int asked;
    int64_t offset, timestamp;
} lo_part;

typedef struct lo_state {
    lo_part *parts;
    int32_t *first;
    int32_t nparts;
} lo_state;

static void
lo_free(kf_req *r)
{
    lo_state *st = r->hs;
    if (st != NULL) {
        free(st->parts);
        free(st->first);
        free(st);
    }
    r->hs = NULL;
}

static void
lo_respond(kf_req *r)
{
    lo_state *st = r->hs;
    kf_listoffsets_req *q = r->msg;
    kf_listoffsets_resp resp = {0};
    kf_listoffsets_resp_topic *topics =
        calloc(q->n_topics > 0 ? (size_t)q->n_topics : 1, sizeof(*topics));
    kf_listoffsets_resp_part *parts =
        calloc(st->nparts ? (size_t)st->nparts : 1, sizeof(*parts));
    if (topics == NULL || parts == NULL) {
        free(topics);
        free(parts);
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_listoffsets_req_topic *qt = &q->topics[t];
        topics[t].name = qt->name;
        topics[t].partitions = &parts[st->first[t]];
        topics[t].n_partitions = qt->n_partitions;
        for (int32_t p = 0; p < qt->n_partitions; p++) {
            lo_part *lp = &st->parts[st->first[t] + p];
            kf_listoffsets_resp_part *rp = &parts[st->first[t] + p];
            rp->partition_index = qt->partitions[p].partition_index;
            rp->error_code = lp->err;
            rp->offset = lp->err ? -1 : lp->offset;
            rp->timestamp = lp->err ? -1 : lp->timestamp;
            rp->leader_epoch = lp->err ? -1 : 0;
        }
    }
    resp.topics = topics;
    resp.n_topics = q->n_topics;
    kf__resp_send(r, &resp);
    free(topics);
    free(parts);
}

static void
on_offsets(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    lo_state *st = r->hs;
    ipc_offsets_rep m;
    int whole =
        rc != 0 || h->status != 0 || ipc_offsets_rep_decode(body, &m) != 0;
    if (whole)
        r->srv->st.ipc_errors++;
    for (int32_t i = 0; i < st->nparts; i++) {
        lo_part *lp = &st->parts[i];
        if (!lp->asked)
            continue;
        ipc_offsets_result res;
        if (whole || ipc_offsets_rep_next(&m, &res) != 1) {
            /* Retriable: librdkafka and kafka-python ask again after a
             * metadata refresh. */
            lp->err = KF_ERR_NOT_LEADER_OR_FOLLOWER;
            continue;
        }
        lp->err = kf__err_from_sl(res.status, r->hdr.api_key,
                                  KF_ERR_NOT_LEADER_OR_FOLLOWER);
        lp->offset = res.offset;
        lp->timestamp = res.timestamp;
    }
    lo_respond(r);
}

void
kf__listoffsets(kf_req *r)
{
    kf_listoffsets_req *q = r->msg;
    ipc_offsets_entry *e = NULL;
    sl_buf b = {0};
    lo_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        goto fail;
    r->hs = st;
    r->hs_free = lo_free;
    int64_t total = 0;
    for (int32_t t = 0; t < q->n_topics; t++)
        total += SL_MAX(q->topics[t].n_partitions, 0);
    st->nparts = (int32_t)total;
    st->parts = calloc(total ? (size_t)total : 1, sizeof(*st->parts));
    st->first =
        calloc(q->n_topics > 0 ? (size_t)q->n_topics : 1, sizeof(*st->first));
    e = calloc(total ? (size_t)total : 1, sizeof(*e));
    if (st->parts == NULL || st->first == NULL || e == NULL)
        goto fail;
    size_t n = 0;
    int32_t i = 0;
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_listoffsets_req_topic *qt = &q->topics[t];
        st->first[t] = i;
        int name_ok = kf__topic_valid(qt->name);
        for (int32_t p = 0; p < qt->n_partitions; p++, i++) {
            lo_part *lp = &st->parts[i];
            int64_t ts = qt->partitions[p].timestamp;
            if (!name_ok || qt->partitions[p].partition_index < 0) {
                lp->err = KF_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            } else if (ts < IPC_OFFSET_EARLIEST) {
                lp->err = KF_ERR_INVALID_REQUEST;
            } else {
                lp->asked = 1;
                e[n].topic = qt->name;
                e[n].partition = qt->partitions[p].partition_index;
                e[n].spec = ts;
                n++;
            }
        }
    }
    if (n == 0) {
        free(e);
        lo_respond(r);
        return;
    }
    int rc = ipc_offsets_req_encode(&b, e, n);
    if (rc == 0)
        rc = kf__ipc(r, &b, on_offsets);
    sl_buf_fini(&b);
    free(e);
    if (rc != 0) {
        for (int32_t k = 0; k < st->nparts; k++)
            if (st->parts[k].asked)
                st->parts[k].err = KF_ERR_NOT_LEADER_OR_FOLLOWER;
        lo_respond(r);
    }
    return;
fail:
    free(e);
    kf__conn_fail(r, -ENOMEM);
    kf__req_done(r);
}
