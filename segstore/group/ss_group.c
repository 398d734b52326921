/*
 * ss_group.c — the group coordinator's state machine (Kafka's classic
 * protocol, as its GroupCoordinator runs it).
 *
 * States:
 *   EMPTY                 no members (offsets may still exist elsewhere)
 *   PREPARING_REBALANCE   waiting for every member to (re)join, at most
 *                         the largest rebalance timeout of the members
 *   COMPLETING_REBALANCE  joins answered (generation + 1); waiting for the
 *                         leader's SYNC with the assignments
 *   STABLE                assignments handed out; members heartbeat
 *
 * Transitions: a new member, a member leaving or timing out, the leader
 * rejoining or a member changing its protocols start a rebalance
 * (→ PREPARING).  It completes when every member has a JOIN held, or at the
 * deadline (members that did not rejoin are removed).  The leader's SYNC
 * moves COMPLETING → STABLE and answers the followers' held SYNCs.
 *
 * Invariants:
 *   1. Every held waiter is answered exactly once (reply, replacement by a
 *      newer request of the same member, removal, or fail_all).
 *   2. A member holds a JOIN only in PREPARING and a SYNC only in
 *      COMPLETING.
 *   3. The leader, when set, is a member.
 */
#include "ss_group.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#define SESSION_MIN_MS 1000
#define SESSION_MAX_MS 3600000

typedef struct bstr {
    uint8_t *p;
    size_t n;
} bstr;

typedef struct proto {
    bstr name, metadata;
} proto;

typedef struct member {
    bstr id, instance_id, client_id, client_host;
    int32_t session_timeout, rebalance_timeout;
    proto *protos;
    size_t nprotos;
    bstr assignment;
    int64_t last_seen;
    void *join_waiter;
    void *sync_waiter;
} member;

typedef struct pending_id {
    bstr id;
    int64_t expires;
} pending_id;

typedef struct group {
    bstr name;
    int state;
    int32_t generation;
    bstr protocol_type, protocol_name, leader;
    member **members;
    size_t nmembers, mcap;
    int64_t deadline;
    pending_id *pending;
    size_t npending;
} group;

struct ss_groups {
    ss_group_reply_fn reply;
    ss_group_event_fn event;
    void *arg;
    group **groups;
    size_t ngroups, cap;
    uint64_t id_seq;
    uint8_t id_salt[4];
    sl_buf out;
};

/* ---- small helpers --------------------------------------------------------
 */

static sl_slice
bs(const bstr *b)
{
    return sl_slice_make(b->p, b->n);
}

static int
bstr_set(bstr *b, sl_slice s)
{
    uint8_t *p = NULL;
    if (s.n > 0) {
        p = malloc(s.n);
        if (p == NULL)
            return -ENOMEM;
        memcpy(p, s.p, s.n);
    }
    free(b->p);
    b->p = p;
    b->n = s.n;
    return 0;
}

static void
bstr_free(bstr *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

static int
eq(const bstr *b, sl_slice s)
{
    return b->n == s.n && (s.n == 0 || memcmp(b->p, s.p, s.n) == 0);
}

static void
protos_free(member *m)
{
    for (size_t i = 0; i < m->nprotos; i++) {
        bstr_free(&m->protos[i].name);
        bstr_free(&m->protos[i].metadata);
    }
    free(m->protos);
    m->protos = NULL;
    m->nprotos = 0;
}

static void
member_free(member *m)
{
    if (m == NULL)
        return;
    bstr_free(&m->id);
    bstr_free(&m->instance_id);
    bstr_free(&m->client_id);
    bstr_free(&m->client_host);
    bstr_free(&m->assignment);
    protos_free(m);
    free(m);
}

static void
group_free(group *gr)
{
    if (gr == NULL)
        return;
    for (size_t i = 0; i < gr->nmembers; i++)
        member_free(gr->members[i]);
    free(gr->members);
    for (size_t i = 0; i < gr->npending; i++)
        bstr_free(&gr->pending[i].id);
    free(gr->pending);
    bstr_free(&gr->name);
    bstr_free(&gr->protocol_type);
    bstr_free(&gr->protocol_name);
    bstr_free(&gr->leader);
    free(gr);
}

ss_groups *
ss_groups_new(ss_group_reply_fn reply, ss_group_event_fn event, void *arg)
{
    ss_groups *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->reply = reply;
    g->event = event;
    g->arg = arg;
    sl_buf_init(&g->out);
    if (getrandom(g->id_salt, sizeof(g->id_salt), 0) != sizeof(g->id_salt))
        memset(g->id_salt, 0x5a, sizeof(g->id_salt));
    return g;
}

void
ss_groups_free(ss_groups *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->ngroups; i++)
        group_free(g->groups[i]);
    free(g->groups);
    sl_buf_fini(&g->out);
    free(g);
}

static group *
find_group(ss_groups *g, sl_slice name)
{
    for (size_t i = 0; i < g->ngroups; i++)
        if (eq(&g->groups[i]->name, name))
            return g->groups[i];
    return NULL;
}

static group *
get_group(ss_groups *g, sl_slice name)
{
    group *gr = find_group(g, name);
    if (gr != NULL)
        return gr;
    if (g->ngroups == g->cap) {
        size_t n = g->cap ? g->cap * 2 : 16;
        group **a = realloc(g->groups, n * sizeof(*a));
        if (a == NULL)
            return NULL;
        g->groups = a;
        g->cap = n;
    }
    gr = calloc(1, sizeof(*gr));
    if (gr == NULL || bstr_set(&gr->name, name) != 0) {
        free(gr);
        return NULL;
    }
    gr->state = IPC_GROUP_EMPTY;
    g->groups[g->ngroups++] = gr;
    return gr;
}

static void
drop_group(ss_groups *g, group *gr)
{
    for (size_t i = 0; i < g->ngroups; i++) {
        if (g->groups[i] == gr) {
            g->groups[i] = g->groups[--g->ngroups];
            group_free(gr);
            return;
        }
    }
}

static member *
find_member(group *gr, sl_slice id)
{
    for (size_t i = 0; i < gr->nmembers; i++)
        if (eq(&gr->members[i]->id, id))
            return gr->members[i];
    return NULL;
}

static member *
find_instance(group *gr, sl_slice instance)
{
    if (instance.n == 0)
        return NULL;
    for (size_t i = 0; i < gr->nmembers; i++)
        if (eq(&gr->members[i]->instance_id, instance))
            return gr->members[i];
    return NULL;
}

/* "<client id>-<salt><sequence>", unique for this segstore's lifetime and
 * unlikely to repeat across restarts. */
static int
new_member_id(ss_groups *g, sl_slice client_id, bstr *out)
{
    char buf[IPC_STR_MAX];
    size_t cn = SL_MIN(client_id.n, (size_t)200);
    int n = snprintf(buf, sizeof(buf), "%.*s-%02x%02x%02x%02x-%016" PRIx64,
                     (int)cn, (const char *)client_id.p, g->id_salt[0],
                     g->id_salt[1], g->id_salt[2], g->id_salt[3], ++g->id_seq);
    return bstr_set(out, sl_slice_make((const uint8_t *)buf, (size_t)n));
}

/* ---- replies --------------------------------------------------------------
 */

static void
send_join(ss_groups *g, void *waiter, group *gr, member *m, int32_t error)
{
    ipc_join_rep rep = {0};
    rep.error = error;
    rep.generation = error ? -1 : gr->generation;
    rep.protocol_name = error ? sl_slice_make(NULL, 0) : bs(&gr->protocol_name);
    rep.leader = error ? sl_slice_make(NULL, 0) : bs(&gr->leader);
    rep.member_id = m ? bs(&m->id) : sl_slice_make(NULL, 0);
    ipc_join_member *list = NULL;
    size_t n = 0;
    if (!error && m && eq(&gr->leader, bs(&m->id))) {
        list = calloc(gr->nmembers ? gr->nmembers : 1, sizeof(*list));
        if (list != NULL) {
            for (size_t i = 0; i < gr->nmembers; i++) {
                member *x = gr->members[i];
                list[n].member_id = bs(&x->id);
                list[n].instance_id = bs(&x->instance_id);
                list[n].metadata = sl_slice_make(NULL, 0);
                for (size_t k = 0; k < x->nprotos; k++)
                    if (eq(&x->protos[k].name, bs(&gr->protocol_name)))
                        list[n].metadata = bs(&x->protos[k].metadata);
                n++;
            }
        }
    }
    ipc_join_rep_encode(&g->out, &rep, list, n);
    free(list);
    g->reply(g->arg, waiter, &g->out);
}

/* A JOIN answered with an error that names a member id (MEMBER_REQUIRED,
 * UNKNOWN_MEMBER): the id is echoed. */
static void
send_join_err(ss_groups *g, void *waiter, sl_slice member_id, int32_t error)
{
    ipc_join_rep rep = {0};
    rep.error = error;
    rep.generation = -1;
    rep.member_id = member_id;
    ipc_join_rep_encode(&g->out, &rep, NULL, 0);
    g->reply(g->arg, waiter, &g->out);
}

static void
send_sync(ss_groups *g, void *waiter, group *gr, sl_slice assignment,
          int32_t error)
{
    ipc_sync_rep rep = {0};
    rep.error = error;
    if (!error) {
        rep.protocol_type = bs(&gr->protocol_type);
        rep.protocol_name = bs(&gr->protocol_name);
        rep.assignment = assignment;
    }
    ipc_sync_rep_encode(&g->out, &rep);
    g->reply(g->arg, waiter, &g->out);
}

/* Answer whatever m holds with error (it is being replaced or removed). */
static void
release_waiters(ss_groups *g, group *gr, member *m, int32_t error)
{
    if (m->join_waiter) {
        void *w = m->join_waiter;
        m->join_waiter = NULL;
        send_join(g, w, gr, m, error);
    }
    if (m->sync_waiter) {
        void *w = m->sync_waiter;
        m->sync_waiter = NULL;
        send_sync(g, w, gr, sl_slice_make(NULL, 0), error);
    }
}

static void
announce(ss_groups *g, group *gr)
{
    if (g->event)
        g->event(g->arg, bs(&gr->name), gr->generation, gr->state);
}

/* ---- rebalancing ----------------------------------------------------------
 */

static void complete_join(ss_groups *g, group *gr, int64_t now, int forced);

static void
remove_member(ss_groups *g, group *gr, member *m, int32_t error)
{
    release_waiters(g, gr, m, error);
    for (size_t i = 0; i < gr->nmembers; i++) {
        if (gr->members[i] == m) {
            memmove(gr->members + i, gr->members + i + 1,
                    (gr->nmembers - i - 1) * sizeof(*gr->members));
            gr->nmembers--;
            break;
        }
    }
    if (eq(&gr->leader, bs(&m->id)))
        bstr_free(&gr->leader);
    member_free(m);
}

static void
prepare_rebalance(ss_groups *g, group *gr, int64_t now)
{
    if (gr->state == IPC_GROUP_PREPARING_REBALANCE)
        return;
    /* Followers waiting for the leader's SYNC must join again. */
    for (size_t i = 0; i < gr->nmembers; i++) {
        member *m = gr->members[i];
        if (m->sync_waiter) {
            void *w = m->sync_waiter;
            m->sync_waiter = NULL;
            send_sync(g, w, gr, sl_slice_make(NULL, 0), SL_E_REBALANCE);
        }
    }
    int32_t rt = 0;
    for (size_t i = 0; i < gr->nmembers; i++)
        if (gr->members[i]->rebalance_timeout > rt)
            rt = gr->members[i]->rebalance_timeout;
    gr->state = IPC_GROUP_PREPARING_REBALANCE;
    gr->deadline = now + rt;
    sl_log(SL_LOG_INFO, "SS-GROUP",
           "group=%.*s rebalance generation=%d members=%zu timeout_ms=%d",
           (int)gr->name.n, (const char *)gr->name.p, gr->generation,
           gr->nmembers, rt);
    announce(g, gr);
}

/* After membership changed outside a join (leave, expiry). */
static void
membership_changed(ss_groups *g, group *gr, int64_t now)
{
    if (gr->nmembers == 0) {
        if (gr->state != IPC_GROUP_EMPTY) {
            gr->generation++;
            gr->state = IPC_GROUP_EMPTY;
            bstr_free(&gr->protocol_name);
            bstr_free(&gr->leader);
            announce(g, gr);
        }
        return;
    }
    if (gr->state == IPC_GROUP_PREPARING_REBALANCE)
        complete_join(g, gr, now, 0);
    else
        prepare_rebalance(g, gr, now);
}

/* The protocol every member supports that most members prefer. */
static int
choose_protocol(group *gr, bstr *out)
{
    member *first = gr->members[0];
    size_t best_votes = 0;
    const bstr *best = NULL;
    for (size_t k = 0; k < first->nprotos; k++) {
        const bstr *cand = &first->protos[k].name;
        int all = 1;
        for (size_t i = 1; i < gr->nmembers && all; i++) {
            member *m = gr->members[i];
            int has = 0;
            for (size_t j = 0; j < m->nprotos && !has; j++)
                has = eq(&m->protos[j].name, bs(cand));
            all = has;
        }
        if (!all)
            continue;
        size_t votes = 0;
        for (size_t i = 0; i < gr->nmembers; i++) {
            member *m = gr->members[i];
            /* A member votes for its first choice among the candidates. */
            for (size_t j = 0; j < m->nprotos; j++) {
                int common = 1;
                for (size_t x = 0; x < gr->nmembers && common; x++) {
                    member *o = gr->members[x];
                    int has = 0;
                    for (size_t y = 0; y < o->nprotos && !has; y++)
                        has = eq(&o->protos[y].name, bs(&m->protos[j].name));
                    common = has;
                }
                if (common) {
                    if (eq(&m->protos[j].name, bs(cand)))
                        votes++;
                    break;
                }
            }
        }
        if (best == NULL || votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    if (best == NULL)
        return SL_E_GROUP_PROTOCOL;
    return bstr_set(out, bs(best));
}

static void
complete_join(ss_groups *g, group *gr, int64_t now, int forced)
{
    if (gr->state != IPC_GROUP_PREPARING_REBALANCE)
        return;
    size_t joined = 0;
    for (size_t i = 0; i < gr->nmembers; i++)
        joined += gr->members[i]->join_waiter != NULL;
    if (joined < gr->nmembers && !forced)
        return;
    /* At the deadline, members that did not rejoin are out. */
    for (size_t i = gr->nmembers; i-- > 0;) {
        member *m = gr->members[i];
        if (m->join_waiter == NULL) {
            sl_log(SL_LOG_INFO, "SS-GROUP",
                   "group=%.*s member=%.*s removed: did not rejoin in time",
                   (int)gr->name.n, (const char *)gr->name.p, (int)m->id.n,
                   (const char *)m->id.p);
            remove_member(g, gr, m, SL_E_UNKNOWN_MEMBER);
        }
    }
    gr->generation++;
    if (gr->nmembers == 0) {
        gr->state = IPC_GROUP_EMPTY;
        bstr_free(&gr->protocol_name);
        bstr_free(&gr->leader);
        announce(g, gr);
        return;
    }
    if (choose_protocol(gr, &gr->protocol_name) != 0) {
        /* Cannot happen: joins are refused without a common protocol. */
        for (size_t i = gr->nmembers; i-- > 0;)
            remove_member(g, gr, gr->members[i], SL_E_GROUP_PROTOCOL);
        gr->state = IPC_GROUP_EMPTY;
        return;
    }
    if (gr->leader.n == 0 || find_member(gr, bs(&gr->leader)) == NULL)
        bstr_set(&gr->leader, bs(&gr->members[0]->id));
    gr->state = IPC_GROUP_COMPLETING_REBALANCE;
    sl_log(SL_LOG_INFO, "SS-GROUP",
           "group=%.*s generation=%d members=%zu protocol=%.*s leader=%.*s",
           (int)gr->name.n, (const char *)gr->name.p, gr->generation,
           gr->nmembers, (int)gr->protocol_name.n,
           (const char *)gr->protocol_name.p, (int)gr->leader.n,
           (const char *)gr->leader.p);
    for (size_t i = 0; i < gr->nmembers; i++) {
        member *m = gr->members[i];
        bstr_free(&m->assignment);
        m->last_seen = now;
        void *w = m->join_waiter;
        m->join_waiter = NULL;
        send_join(g, w, gr, m, 0);
    }
    announce(g, gr);
}

/* ---- JOIN -----------------------------------------------------------------
 */

static int
set_protocols(member *m, const ipc_join_req *req)
{
    ipc_join_req it = *req;
    ipc_group_protocol p;
    protos_free(m);
    m->protos =
        calloc(req->nprotocols ? req->nprotocols : 1, sizeof(*m->protos));
    if (m->protos == NULL)
        return -ENOMEM;
    while (ipc_join_req_next(&it, &p) == 1) {
        proto *x = &m->protos[m->nprotos++];
        if (bstr_set(&x->name, p.name) != 0 ||
            bstr_set(&x->metadata, p.metadata) != 0)
            return -ENOMEM;
    }
    return 0;
}

static int
same_protocols(const member *m, const ipc_join_req *req)
{
    if (m->nprotos != req->nprotocols)
        return 0;
    ipc_join_req it = *req;
    ipc_group_protocol p;
    for (size_t i = 0; ipc_join_req_next(&it, &p) == 1; i++)
        if (!eq(&m->protos[i].name, p.name) ||
            !eq(&m->protos[i].metadata, p.metadata))
            return 0;
    return 1;
}

/* Does the request share a protocol with every current member? */
static int
protocols_compatible(group *gr, const ipc_join_req *req, const member *self)
{
    if (gr->nmembers == 0 || (gr->nmembers == 1 && gr->members[0] == self))
        return 1;
    if (!eq(&gr->protocol_type, req->protocol_type))
        return 0;
    ipc_join_req it = *req;
    ipc_group_protocol p;
    while (ipc_join_req_next(&it, &p) == 1) {
        int all = 1;
        for (size_t i = 0; i < gr->nmembers && all; i++) {
            member *m = gr->members[i];
            if (m == self)
                continue;
            int has = 0;
            for (size_t k = 0; k < m->nprotos && !has; k++)
                has = eq(&m->protos[k].name, p.name);
            all = has;
        }
        if (all)
            return 1;
    }
    return 0;
}

static int
update_member(member *m, const ipc_join_req *req, int64_t now)
{
    m->session_timeout = req->session_timeout_ms;
    m->rebalance_timeout = req->rebalance_timeout_ms > 0
                               ? req->rebalance_timeout_ms
                               : req->session_timeout_ms;
    m->last_seen = now;
    if (bstr_set(&m->client_id, req->client_id) != 0 ||
        bstr_set(&m->client_host, req->client_host) != 0 ||
        bstr_set(&m->instance_id, req->instance_id) != 0)
        return -ENOMEM;
    return set_protocols(m, req);
}

static member *
add_member(group *gr, sl_slice id)
{
    if (gr->nmembers == gr->mcap) {
        size_t n = gr->mcap ? gr->mcap * 2 : 8;
        member **a = realloc(gr->members, n * sizeof(*a));
        if (a == NULL)
            return NULL;
        gr->members = a;
        gr->mcap = n;
    }
    member *m = calloc(1, sizeof(*m));
    if (m == NULL || bstr_set(&m->id, id) != 0) {
        free(m);
        return NULL;
    }
    gr->members[gr->nmembers++] = m;
    return m;
}

static int
take_pending(group *gr, sl_slice id)
{
    for (size_t i = 0; i < gr->npending; i++) {
        if (eq(&gr->pending[i].id, id)) {
            bstr_free(&gr->pending[i].id);
            gr->pending[i] = gr->pending[--gr->npending];
            return 1;
        }
    }
    return 0;
}

static void
hold_join(ss_groups *g, group *gr, member *m, void *waiter, int64_t now)
{
    if (m->join_waiter) {
        /* A second JOIN from the same member replaces the first. */
        void *w = m->join_waiter;
        m->join_waiter = NULL;
        send_join_err(g, w, bs(&m->id), SL_E_REBALANCE);
    }
    m->join_waiter = waiter;
    prepare_rebalance(g, gr, now);
    complete_join(g, gr, now, 0);
}

void
ss_groups_join(ss_groups *g, void *waiter, const ipc_join_req *req, int64_t now)
{
    sl_slice mid = req->member_id;
    if (req->group.n == 0 || req->session_timeout_ms < SESSION_MIN_MS ||
        req->session_timeout_ms > SESSION_MAX_MS ||
        req->rebalance_timeout_ms < 0 || req->nprotocols == 0 ||
        req->protocol_type.n == 0) {
        send_join_err(g, waiter, mid, SL_E_INVAL);
        return;
    }
    group *gr = get_group(g, req->group);
    if (gr == NULL) {
        send_join_err(g, waiter, mid, -ENOMEM);
        return;
    }
    member *m = NULL;
    if (mid.n > 0) {
        m = find_member(gr, mid);
        if (m == NULL && !take_pending(gr, mid)) {
            send_join_err(g, waiter, mid, SL_E_UNKNOWN_MEMBER);
            return;
        }
        if (m != NULL && req->instance_id.n > 0 &&
            !eq(&m->instance_id, req->instance_id)) {
            send_join_err(g, waiter, mid, SL_E_FENCED);
            return;
        }
    }
    if (!protocols_compatible(gr, req, m)) {
        send_join_err(g, waiter, mid, SL_E_GROUP_PROTOCOL);
        return;
    }
    if (gr->nmembers == 0 &&
        bstr_set(&gr->protocol_type, req->protocol_type) != 0) {
        send_join_err(g, waiter, mid, -ENOMEM);
        return;
    }

    if (mid.n == 0 && req->instance_id.n > 0) {
        /* A static member (re)joining with a new member id: the old id is
         * fenced.  In a stable group with unchanged protocols it takes its
         * old place without a rebalance. */
        member *old = find_instance(gr, req->instance_id);
        bstr id = {0};
        if (new_member_id(g, req->client_id, &id) != 0) {
            send_join_err(g, waiter, mid, -ENOMEM);
            return;
        }
        if (old != NULL) {
            release_waiters(g, gr, old, SL_E_FENCED);
            int was_leader = eq(&gr->leader, bs(&old->id));
            int same = same_protocols(old, req);
            bstr_free(&old->id);
            old->id = id;
            if (was_leader)
                bstr_set(&gr->leader, bs(&old->id));
            if (update_member(old, req, now) != 0) {
                send_join_err(g, waiter, bs(&old->id), -ENOMEM);
                return;
            }
            if (gr->state == IPC_GROUP_STABLE && same) {
                send_join(g, waiter, gr, old, 0);
                return;
            }
            hold_join(g, gr, old, waiter, now);
            return;
        }
        m = add_member(gr, bs(&id));
        bstr_free(&id);
        if (m == NULL || update_member(m, req, now) != 0) {
            send_join_err(g, waiter, mid, -ENOMEM);
            return;
        }
        hold_join(g, gr, m, waiter, now);
        return;
    }

    if (mid.n == 0) {
        bstr id = {0};
        if (new_member_id(g, req->client_id, &id) != 0) {
            send_join_err(g, waiter, mid, -ENOMEM);
            return;
        }
        if (req->flags & IPC_JOIN_REQUIRE_MEMBER_ID) {
            /* JoinGroup v4+: hand out the id; the member joins with it. */
            pending_id *p =
                realloc(gr->pending, (gr->npending + 1) * sizeof(*p));
            if (p == NULL) {
                bstr_free(&id);
                send_join_err(g, waiter, mid, -ENOMEM);
                return;
            }
            gr->pending = p;
            p[gr->npending].id = id;
            p[gr->npending].expires = now + req->session_timeout_ms;
            gr->npending++;
            send_join_err(g, waiter, bs(&id), SL_E_MEMBER_REQUIRED);
            return;
        }
        m = add_member(gr, bs(&id));
        bstr_free(&id);
        if (m == NULL || update_member(m, req, now) != 0) {
            send_join_err(g, waiter, mid, -ENOMEM);
            return;
        }
        hold_join(g, gr, m, waiter, now);
        return;
    }

    if (m == NULL) {
        /* A pending id (MEMBER_REQUIRED) coming back. */
        m = add_member(gr, mid);
        if (m == NULL || update_member(m, req, now) != 0) {
            send_join_err(g, waiter, mid, -ENOMEM);
            return;
        }
        hold_join(g, gr, m, waiter, now);
        return;
    }

    /* A known member. */
    int same = same_protocols(m, req);
    if (update_member(m, req, now) != 0) {
        send_join_err(g, waiter, mid, -ENOMEM);
        return;
    }
    switch (gr->state) {
    case IPC_GROUP_COMPLETING_REBALANCE:
        if (same) {
            send_join(g, waiter, gr, m, 0);
            return;
        }
        break;
    case IPC_GROUP_STABLE:
        if (same && !eq(&gr->leader, mid)) {
            send_join(g, waiter, gr, m, 0);
            return;
        }
        break;
    default:
        break;
    }
    hold_join(g, gr, m, waiter, now);
}

/* ---- SYNC, HEARTBEAT, LEAVE -------------------------------------------------
 */

static int
check_member(group *gr, sl_slice mid, sl_slice instance, member **out)
{
    *out = NULL;
    if (gr == NULL)
        return SL_E_UNKNOWN_MEMBER;
    member *m = find_member(gr, mid);
    if (m == NULL) {
        /* A static member whose id was replaced is fenced, not unknown. */
        if (instance.n > 0 && find_instance(gr, instance) != NULL)
            return SL_E_FENCED;
        return SL_E_UNKNOWN_MEMBER;
    }
    if (instance.n > 0 && !eq(&m->instance_id, instance))
        return SL_E_FENCED;
    *out = m;
    return 0;
}

void
ss_groups_sync(ss_groups *g, void *waiter, const ipc_sync_req *req, int64_t now)
{
    group *gr = find_group(g, req->group);
    member *m;
    int rc = check_member(gr, req->member_id, req->instance_id, &m);
    if (rc == 0 && req->generation != gr->generation)
        rc = SL_E_GENERATION;
    if (rc == 0 && ((req->protocol_type.n > 0 &&
                     !eq(&gr->protocol_type, req->protocol_type)) ||
                    (req->protocol_name.n > 0 &&
                     !eq(&gr->protocol_name, req->protocol_name))))
        rc = SL_E_GROUP_PROTOCOL;
    if (rc == 0 && gr->state == IPC_GROUP_PREPARING_REBALANCE)
        rc = SL_E_REBALANCE;
    if (rc != 0) {
        send_sync(g, waiter, gr, sl_slice_make(NULL, 0), rc);
        return;
    }
    m->last_seen = now;
    if (gr->state == IPC_GROUP_STABLE) {
        send_sync(g, waiter, gr, bs(&m->assignment), 0);
        return;
    }
    /* COMPLETING_REBALANCE */
    if (m->sync_waiter) {
        void *w = m->sync_waiter;
        m->sync_waiter = NULL;
        send_sync(g, w, gr, sl_slice_make(NULL, 0), SL_E_REBALANCE);
    }
    if (!eq(&gr->leader, req->member_id)) {
        m->sync_waiter = waiter;
        return;
    }
    ipc_sync_req it = *req;
    ipc_sync_assignment a;
    while (ipc_sync_req_next(&it, &a) == 1) {
        member *x = find_member(gr, a.member_id);
        if (x != NULL)
            bstr_set(&x->assignment, a.assignment);
    }
    gr->state = IPC_GROUP_STABLE;
    announce(g, gr);
    for (size_t i = 0; i < gr->nmembers; i++) {
        member *x = gr->members[i];
        if (x->sync_waiter) {
            void *w = x->sync_waiter;
            x->sync_waiter = NULL;
            x->last_seen = now;
            send_sync(g, w, gr, bs(&x->assignment), 0);
        }
    }
    send_sync(g, waiter, gr, bs(&m->assignment), 0);
}

int
ss_groups_heartbeat(ss_groups *g, const ipc_heartbeat_req *req, int64_t now)
{
    group *gr = find_group(g, req->group);
    member *m;
    int rc = check_member(gr, req->member_id, req->instance_id, &m);
    if (rc != 0)
        return rc;
    if (req->generation != gr->generation)
        return SL_E_GENERATION;
    m->last_seen = now;
    if (gr->state == IPC_GROUP_PREPARING_REBALANCE)
        return SL_E_REBALANCE;
    return 0;
}

/* Remove one member; 1 when removed, else the error. */
static int
leave_one(ss_groups *g, group *gr, const ipc_leave_member *lm)
{
    member *m = NULL;
    if (lm->instance_id.n > 0) {
        m = find_instance(gr, lm->instance_id);
        if (m == NULL)
            return SL_E_UNKNOWN_MEMBER;
        if (lm->member_id.n > 0 && !eq(&m->id, lm->member_id))
            return SL_E_FENCED;
    } else {
        m = find_member(gr, lm->member_id);
        if (m == NULL)
            return SL_E_UNKNOWN_MEMBER;
    }
    sl_log(SL_LOG_INFO, "SS-GROUP", "group=%.*s member=%.*s left",
           (int)gr->name.n, (const char *)gr->name.p, (int)m->id.n,
           (const char *)m->id.p);
    remove_member(g, gr, m, SL_E_UNKNOWN_MEMBER);
    return 1;
}

int
ss_groups_leave(ss_groups *g, sl_slice group_name, const ipc_leave_member *lm,
                size_t n, int32_t *errs, int64_t now)
{
    group *gr = find_group(g, group_name);
    size_t left = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = gr ? leave_one(g, gr, &lm[i]) : SL_E_UNKNOWN_MEMBER;
        errs[i] = rc == 1 ? 0 : rc;
        left += rc == 1;
    }
    /* One rebalance for the whole batch (KIP-345), not one per member. */
    if (left > 0)
        membership_changed(g, gr, now);
    return gr ? 0 : SL_E_UNKNOWN_MEMBER;
}

/* ---- time -----------------------------------------------------------------
 */

void
ss_groups_tick(ss_groups *g, int64_t now)
{
    for (size_t gi = g->ngroups; gi-- > 0;) {
        group *gr = g->groups[gi];
        for (size_t i = gr->npending; i-- > 0;) {
            if (gr->pending[i].expires <= now) {
                bstr_free(&gr->pending[i].id);
                gr->pending[i] = gr->pending[--gr->npending];
            }
        }
        int changed = 0;
        for (size_t i = gr->nmembers; i-- > 0;) {
            member *m = gr->members[i];
            /* A member waiting on us is alive. */
            if (m->join_waiter || m->sync_waiter) {
                m->last_seen = now;
                continue;
            }
            if (now - m->last_seen > m->session_timeout) {
                sl_log(SL_LOG_INFO, "SS-GROUP",
                       "group=%.*s member=%.*s session expired after %d ms",
                       (int)gr->name.n, (const char *)gr->name.p, (int)m->id.n,
                       (const char *)m->id.p, m->session_timeout);
                remove_member(g, gr, m, SL_E_UNKNOWN_MEMBER);
                changed = 1;
            }
        }
        if (changed)
            membership_changed(g, gr, now);
        if (gr->state == IPC_GROUP_PREPARING_REBALANCE && now >= gr->deadline)
            complete_join(g, gr, now, 1);
        if (gr->state == IPC_GROUP_EMPTY && gr->nmembers == 0 &&
            gr->npending == 0)
            drop_group(g, gr);
    }
}

void
ss_groups_fail_all(ss_groups *g, int error)
{
    for (size_t gi = 0; gi < g->ngroups; gi++) {
        group *gr = g->groups[gi];
        for (size_t i = 0; i < gr->nmembers; i++) {
            member *m = gr->members[i];
            if (m->join_waiter) {
                void *w = m->join_waiter;
                m->join_waiter = NULL;
                send_join_err(g, w, bs(&m->id), error);
            }
            if (m->sync_waiter) {
                void *w = m->sync_waiter;
                m->sync_waiter = NULL;
                send_sync(g, w, gr, sl_slice_make(NULL, 0), error);
            }
        }
    }
}

/* ---- offsets, listing ------------------------------------------------------
 */

int
ss_groups_commit_check(ss_groups *g, sl_slice group_name, int32_t generation,
                       sl_slice mid, sl_slice instance, int64_t now)
{
    group *gr = find_group(g, group_name);
    if (generation < 0 && (gr == NULL || gr->nmembers == 0))
        return 0;
    if (gr == NULL)
        return SL_E_UNKNOWN_MEMBER;
    if (gr->state == IPC_GROUP_COMPLETING_REBALANCE)
        return SL_E_REBALANCE;
    member *m;
    int rc = check_member(gr, mid, instance, &m);
    if (rc != 0)
        return rc;
    if (generation != gr->generation)
        return SL_E_GENERATION;
    m->last_seen = now;
    return 0;
}

int
ss_groups_list(ss_groups *g, ss_group_list_fn fn, void *arg)
{
    for (size_t i = 0; i < g->ngroups; i++) {
        group *gr = g->groups[i];
        int rc = fn(arg, bs(&gr->name), bs(&gr->protocol_type), gr->state);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int
ss_groups_known(ss_groups *g, sl_slice group_name)
{
    return find_group(g, group_name) != NULL;
}

int
ss_groups_describe(ss_groups *g, sl_slice group_name, sl_buf *out)
{
    group *gr = find_group(g, group_name);
    ipc_group_info gi = {0};
    gi.group = group_name;
    if (gr == NULL) {
        gi.state = IPC_GROUP_DEAD;
        return ipc_group_describe_rep_group(out, &gi);
    }
    gi.state = (uint8_t)gr->state;
    gi.protocol_type = bs(&gr->protocol_type);
    gi.protocol_name = bs(&gr->protocol_name);
    gi.nmembers = (uint32_t)gr->nmembers;
    int rc = ipc_group_describe_rep_group(out, &gi);
    for (size_t i = 0; i < gr->nmembers && rc == 0; i++) {
        member *m = gr->members[i];
        ipc_group_member_info mi = {0};
        mi.member_id = bs(&m->id);
        mi.instance_id = bs(&m->instance_id);
        mi.client_id = bs(&m->client_id);
        mi.client_host = bs(&m->client_host);
        for (size_t k = 0; k < m->nprotos; k++)
            if (eq(&m->protos[k].name, bs(&gr->protocol_name)))
                mi.metadata = bs(&m->protos[k].metadata);
        mi.assignment = bs(&m->assignment);
        rc = ipc_group_describe_rep_member(out, &mi);
    }
    return rc;
}

int
ss_groups_delete(ss_groups *g, sl_slice group_name)
{
    group *gr = find_group(g, group_name);
    if (gr == NULL)
        return SL_E_NOGROUP;
    if (gr->nmembers > 0)
        return SL_E_NOTEMPTY;
    for (size_t i = 0; i < gr->npending; i++)
        bstr_free(&gr->pending[i].id);
    gr->npending = 0;
    drop_group(g, gr);
    return 0;
}
