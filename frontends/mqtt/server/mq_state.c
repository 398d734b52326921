/*
 * mq_state.c — MQTT sessions: the map from client id to session, the
 * subscriptions of each (mirrored into the subscription trie), the
 * per-partition cursors, outbound messages in flight, inbound QoS 2 ids,
 * session expiry and delayed wills.
 *
 * Everything a session holds is small and bounded: its subscriptions, one
 * cursor per log partition, at most mqtt.max.inflight.out outbound entries
 * and at most mqtt.receive.maximum inbound QoS 2 ids.  Messages are never
 * copied into a session; a session that is offline or behind reads them
 * from the log when it can take them.
 *
 * This file is the seam for persistence: sessions live in this process's
 * memory, and an offline session survives as long as the process (for its
 * expiry interval).  Moving them into segstore's KV (mqtt/s/<client id>)
 * changes the bodies of mq__session_find/new/offline/tick, not the callers.
 */
#include "mq_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t
slot(sl_slice cid)
{
    return (size_t)(sl_xxh3(cid.p, cid.n) & ((1u << MQ_SMAP_BITS) - 1));
}

mq_session *
mq__session_find(mq_server *s, sl_slice cid)
{
    for (mq_session *ss = s->smap[slot(cid)]; ss != NULL; ss = ss->hnext)
        if (ss->cid_n == cid.n && memcmp(ss->cid, cid.p, cid.n) == 0)
            return ss;
    return NULL;
}

mq_session *
mq__session_new(mq_server *s, sl_slice cid)
{
    mq_session *ss = calloc(1, sizeof(*ss));
    if (ss == NULL)
        return NULL;
    ss->cid = malloc(cid.n + 1);
    ss->cur = calloc((size_t)s->nparts, sizeof(*ss->cur));
    if (ss->cid == NULL || ss->cur == NULL) {
        free(ss->cid);
        free(ss->cur);
        free(ss);
        return NULL;
    }
    memcpy(ss->cid, cid.p, cid.n);
    ss->cid[cid.n] = 0;
    ss->cid_n = cid.n;
    ss->nparts = s->nparts;
    ss->next_pid = 1;
    ss->refs = 1;
    size_t i = slot(cid);
    ss->hnext = s->smap[i];
    s->smap[i] = ss;
    s->nsessions++;
    mq__session_at_tail(s, ss);
    return ss;
}

void
mq__session_at_tail(mq_server *s, mq_session *ss)
{
    for (int32_t p = 0; p < ss->nparts; p++) {
        ss->cur[p].next = s->tail_next[p];
        ss->cur[p].redo_end = 0;
        ss->cur[p].live = 1;
    }
}

void
mq__session_hold(mq_session *ss)
{
    ss->refs++;
}

static void
session_free(mq_session *ss)
{
    for (size_t i = 0; i < ss->nout; i++) {
        mq__retained_rele(ss->out[i].held);
        free(ss->out[i].share);
    }
    for (size_t i = 0; i < ss->npend; i++)
        mq__retained_rele(ss->pend[i].r);
    free(ss->out);
    free(ss->pend);
    free(ss->q2);
    free(ss->cur);
    free(ss->will);
    free(ss->cid);
    free(ss);
}

void
mq__session_rele(mq_session *ss)
{
    if (--ss->refs == 0)
        session_free(ss);
}

static void
offline_unlink(mq_server *s, mq_session *ss)
{
    if (ss->off_prev)
        ss->off_prev->off_next = ss->off_next;
    else if (s->offline == ss)
        s->offline = ss->off_next;
    if (ss->off_next)
        ss->off_next->off_prev = ss->off_prev;
    ss->off_prev = ss->off_next = NULL;
}

/* Remove the session: subscriptions out of the trie, out of the map; the
 * memory goes when the last reference does (a READ in flight). */
void
mq__session_drop(mq_server *s, mq_session *ss)
{
    if (ss->gone)
        return;
    ss->gone = 1;
    mq_subent *e = ss->subs;
    while (e != NULL) {
        mq_subent *next = e->next;
        mq__trie_del_sub(s->subs_root, e);
        free(e->filter);
        free(e);
        e = next;
    }
    ss->subs = NULL;
    ss->nsubs = 0;
    mq_session **pp = &s->smap[slot(sl_slice_make(ss->cid, ss->cid_n))];
    while (*pp != NULL && *pp != ss)
        pp = &(*pp)->hnext;
    if (*pp == ss)
        *pp = ss->hnext;
    s->nsessions--;
    offline_unlink(s, ss);
    mq__session_rele(ss);
}

int
mq__session_sub(mq_server *s, mq_session *ss, const mq_sub *sub, uint32_t id,
                bool *existed)
{
    *existed = false;
    for (mq_subent *e = ss->subs; e != NULL; e = e->next) {
        if (e->filter_n == sub->filter.n &&
            memcmp(e->filter, sub->filter.p, sub->filter.n) == 0) {
            /* Replace the options of an existing subscription
             * [MQTT-3.8.4-3]; its trie entry stays. */
            e->qos = sub->qos;
            e->no_local = sub->no_local;
            e->rap = sub->retain_as_published;
            e->rh = sub->retain_handling;
            e->id = id;
            *existed = true;
            ss->dirty = 1;
            return 0;
        }
    }
    mq_subent *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -ENOMEM;
    e->filter = malloc(sub->filter.n + 1);
    if (e->filter == NULL) {
        free(e);
        return -ENOMEM;
    }
    memcpy(e->filter, sub->filter.p, sub->filter.n);
    e->filter[sub->filter.n] = 0;
    e->filter_n = sub->filter.n;
    mq_share sh;
    sl_slice f = sl_slice_make(e->filter, e->filter_n);
    if (mq_topic_share_parse(f, &sh) == 1) {
        e->group = sh.group;
        e->match = sh.filter;
    } else {
        e->match = f;
    }
    e->sess = ss;
    e->qos = sub->qos;
    e->no_local = sub->no_local;
    e->rap = sub->retain_as_published;
    e->rh = sub->retain_handling;
    e->id = id;
    /* A subscription sees messages published from now on (plus retained
     * ones): the tail may still be behind what was published earlier. */
    e->since_ms = sl_now_ms();
    int rc = mq__trie_add_sub(s->subs_root, e);
    if (rc != 0) {
        free(e->filter);
        free(e);
        return rc;
    }
    if (e->group.n != 0) {
        /* The group is coordinated across instances (mq_share.c). */
        mq_sgroup *g = mq__trie_group(s->subs_root, e->match, e->group);
        if (g != NULL && g->co == NULL)
            g->co = mq__share_get(s, f);
    }
    e->next = ss->subs;
    ss->subs = e;
    ss->nsubs++;
    ss->dirty = 1;
    return 0;
}

int
mq__session_unsub(mq_server *s, mq_session *ss, sl_slice filter)
{
    for (mq_subent **pp = &ss->subs; *pp != NULL; pp = &(*pp)->next) {
        mq_subent *e = *pp;
        if (e->filter_n == filter.n &&
            memcmp(e->filter, filter.p, filter.n) == 0) {
            *pp = e->next;
            mq__trie_del_sub(s->subs_root, e);
            free(e->filter);
            free(e);
            ss->nsubs--;
            ss->dirty = 1;
            return 1;
        }
    }
    return 0;
}

void
mq__session_offline(mq_server *s, mq_session *ss)
{
    /* Cursors that followed the tail stay where the tail was: everything
     * after is the session's to read when it returns. */
    for (int32_t p = 0; p < ss->nparts; p++) {
        mq_cursor *c = &ss->cur[p];
        if (c->live) {
            c->next = SL_MAX(c->next, s->tail_next[p]);
            c->live = 0;
        }
    }
    ss->conn = NULL;
    ss->disconnect_ms = (int64_t)mq__now_ms();
    ss->disconnect_wall = sl_now_ms();
    ss->dirty = 1;
    offline_unlink(s, ss);
    ss->off_next = s->offline;
    if (s->offline)
        s->offline->off_prev = ss;
    s->offline = ss;
}

void
mq__session_online(mq_server *s, mq_session *ss)
{
    offline_unlink(s, ss);
    free(ss->will);
    ss->will = NULL;
    ss->will_n = 0;
    ss->will_at_ms = 0;
}

bool
mq__session_q2_has(mq_session *ss, uint16_t pid)
{
    for (size_t i = 0; i < ss->nq2; i++)
        if (ss->q2[i] == pid)
            return true;
    return false;
}

void
mq__session_q2_add(mq_session *ss, uint16_t pid)
{
    if (mq__session_q2_has(ss, pid))
        return;
    if (ss->nq2 == ss->capq2) {
        size_t cap = ss->capq2 ? ss->capq2 * 2 : 8;
        uint16_t *v = realloc(ss->q2, cap * sizeof(*v));
        if (v == NULL)
            return; /* dedupe is lost for this id: a duplicate may pass */
        ss->q2 = v;
        ss->capq2 = cap;
    }
    ss->q2[ss->nq2++] = pid;
    ss->dirty = 1;
}

bool
mq__session_q2_del(mq_session *ss, uint16_t pid)
{
    for (size_t i = 0; i < ss->nq2; i++)
        if (ss->q2[i] == pid) {
            ss->q2[i] = ss->q2[--ss->nq2];
            ss->dirty = 1;
            return true;
        }
    return false;
}

static void
will_fire(mq_server *s, mq_session *ss)
{
    mq_msg m;
    if (ss->will != NULL &&
        mq__msg_from_blob(s, sl_slice_make(ss->will, ss->will_n), &m) == 0) {
        s->st.wills++;
        mq__publish_internal(s, &m);
    }
    free(ss->will);
    ss->will = NULL;
    ss->will_n = 0;
    ss->will_at_ms = 0;
    mq__kv_will_del(s, sl_slice_make(ss->cid, ss->cid_n));
}

/* Housekeeping of offline sessions: delayed wills and expiry. */
void
mq__sessions_tick(mq_server *s, uint64_t now)
{
    mq_session *ss = s->offline;
    while (ss != NULL) {
        mq_session *next = ss->off_next;
        if (ss->will != NULL && (int64_t)now >= ss->will_at_ms)
            will_fire(s, ss);
        if (ss->expiry == 0xFFFFFFFFu && ss->persist && s->kv_ok &&
            s->cfg->session_memory_s > 0 && !ss->dirty && ss->will == NULL &&
            ss->refs == 1 && !s->kv_busy && s->nkv == 0 &&
            (int64_t)now >=
                ss->disconnect_ms + s->cfg->session_memory_s * 1000) {
            /* Its last state is durable in KV (nothing is being written):
             * memory is for the clients that are here. */
            s->st.evicted++;
            mq__session_drop(s, ss);
            ss = next;
            continue;
        }
        if (ss->expiry != 0xFFFFFFFFu &&
            (int64_t)now >= ss->disconnect_ms + (int64_t)ss->expiry * 1000) {
            /* A will still waiting goes out when its session ends. */
            if (ss->will != NULL)
                will_fire(s, ss);
            if (ss->persist)
                mq__kv_session_delete(s, sl_slice_make(ss->cid, ss->cid_n));
            mq__session_drop(s, ss);
        }
        ss = next;
    }
}

void
mq__sessions_free(mq_server *s)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(s->smap); i++)
        while (s->smap[i] != NULL)
            mq__session_drop(s, s->smap[i]);
}
