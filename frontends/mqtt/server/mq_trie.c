/*
 * mq_trie.c — topic tries: one for subscriptions, one for retained
 * messages.  A node is one topic level; its children are kept sorted by
 * level bytes and found by binary search, so a lookup costs
 * O(levels * log(fan-out)) whatever the number of subscriptions.
 *
 * Subscription matching of a topic name walks, level by level, the literal
 * child and the "+" child, and at every node visited the "#" child matches
 * the rest (also zero remaining levels: "a/#" matches "a").  At the root, a
 * name starting with '$' is matched neither by "+" nor by "#"
 * [MQTT-4.7.2-1].
 *
 * Retained lookup for a filter walks the retained trie the other way: a
 * literal level takes one child, "+" every child, "#" the whole subtree;
 * '$' children of the root are skipped for wildcards.  That is what keeps a
 * wildcard subscribe from scanning every retained topic (mqtt-notes §3.4).
 */
#include "mq_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

mq_tnode *
mq__trie_new(void)
{
    return calloc(1, sizeof(mq_tnode));
}

static void
node_free(mq_tnode *n)
{
    free(n->lvl);
    free(n->kids);
    free(n->subs);
    for (uint32_t i = 0; i < n->ngroups; i++) {
        free(n->groups[i].name);
        free(n->groups[i].members);
    }
    free(n->groups);
    free(n);
}

void
mq__trie_free(mq_tnode *n)
{
    if (n == NULL)
        return;
    for (uint32_t i = 0; i < n->nkids; i++)
        mq__trie_free(n->kids[i]);
    if (n->ret)
        mq__retained_rele(n->ret);
    node_free(n);
}

static int
lvl_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, SL_MIN(an, bn));
    if (c != 0)
        return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

/* Index of the child with level l, or -(insertion point) - 1. */
static long
kid_find(const mq_tnode *n, const uint8_t *l, size_t ln)
{
    long lo = 0, hi = (long)n->nkids - 1;
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        int c = lvl_cmp(n->kids[mid]->lvl_n ? (const uint8_t *)n->kids[mid]->lvl
                                            : (const uint8_t *)"",
                        n->kids[mid]->lvl_n, l, ln);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -lo - 1;
}

static mq_tnode *
kid_get(mq_tnode *n, const uint8_t *l, size_t ln, bool create)
{
    long i = kid_find(n, l, ln);
    if (i >= 0)
        return n->kids[i];
    if (!create)
        return NULL;
    size_t at = (size_t)(-i - 1);
    if (n->nkids == n->capkids) {
        uint32_t cap = n->capkids ? n->capkids * 2 : 4;
        mq_tnode **k = realloc(n->kids, cap * sizeof(*k));
        if (k == NULL)
            return NULL;
        n->kids = k;
        n->capkids = cap;
    }
    mq_tnode *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->lvl = malloc(ln + 1);
    if (c->lvl == NULL) {
        free(c);
        return NULL;
    }
    if (ln)
        memcpy(c->lvl, l, ln);
    c->lvl[ln] = 0;
    c->lvl_n = ln;
    c->parent = n;
    memmove(&n->kids[at + 1], &n->kids[at], (n->nkids - at) * sizeof(*n->kids));
    n->kids[at] = c;
    n->nkids++;
    return c;
}

static bool
node_empty(const mq_tnode *n)
{
    return n->nkids == 0 && n->nsubs == 0 && n->ngroups == 0 && n->ret == NULL;
}

/* Remove empty nodes from n upwards (never the root). */
static void
prune(mq_tnode *n)
{
    while (n->parent != NULL && node_empty(n)) {
        mq_tnode *p = n->parent;
        long i = kid_find(p, (const uint8_t *)n->lvl, n->lvl_n);
        if (i >= 0) {
            memmove(&p->kids[i], &p->kids[i + 1],
                    (p->nkids - (size_t)i - 1) * sizeof(*p->kids));
            p->nkids--;
        }
        node_free(n);
        n = p;
    }
}

/* Walk (creating) the node for topic or filter t. */
static mq_tnode *
node_for(mq_tnode *root, sl_slice t, bool create)
{
    mq_tnode *n = root;
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < t.n && t.p[j] != '/')
            j++;
        n = kid_get(n, t.p + i, j - i, create);
        if (n == NULL)
            return NULL;
        if (j >= t.n)
            return n;
        i = j + 1;
    }
}

int
mq__trie_add_sub(mq_tnode *root, mq_subent *e)
{
    mq_tnode *n = node_for(root, e->match, true);
    if (n == NULL)
        return -ENOMEM;
    if (e->group.n == 0) {
        if (n->nsubs == n->capsubs) {
            uint32_t cap = n->capsubs ? n->capsubs * 2 : 2;
            mq_subent **v = realloc(n->subs, cap * sizeof(*v));
            if (v == NULL)
                return -ENOMEM;
            n->subs = v;
            n->capsubs = cap;
        }
        n->subs[n->nsubs++] = e;
        return 0;
    }
    mq_sgroup *g = NULL;
    for (uint32_t i = 0; i < n->ngroups; i++)
        if (n->groups[i].name_n == e->group.n &&
            memcmp(n->groups[i].name, e->group.p, e->group.n) == 0)
            g = &n->groups[i];
    if (g == NULL) {
        if (n->ngroups == n->capgroups) {
            uint32_t cap = n->capgroups ? n->capgroups * 2 : 1;
            mq_sgroup *v = realloc(n->groups, cap * sizeof(*v));
            if (v == NULL)
                return -ENOMEM;
            n->groups = v;
            n->capgroups = cap;
        }
        g = &n->groups[n->ngroups];
        memset(g, 0, sizeof(*g));
        g->name = malloc(e->group.n + 1);
        if (g->name == NULL)
            return -ENOMEM;
        memcpy(g->name, e->group.p, e->group.n);
        g->name[e->group.n] = 0;
        g->name_n = e->group.n;
        n->ngroups++;
    }
    if (g->n == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 2;
        mq_subent **v = realloc(g->members, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        g->members = v;
        g->cap = cap;
    }
    g->members[g->n++] = e;
    return 0;
}

void
mq__trie_del_sub(mq_tnode *root, mq_subent *e)
{
    mq_tnode *n = node_for(root, e->match, false);
    if (n == NULL)
        return;
    if (e->group.n == 0) {
        for (uint32_t i = 0; i < n->nsubs; i++)
            if (n->subs[i] == e) {
                n->subs[i] = n->subs[--n->nsubs];
                break;
            }
    } else {
        for (uint32_t gi = 0; gi < n->ngroups; gi++) {
            mq_sgroup *g = &n->groups[gi];
            for (uint32_t i = 0; i < g->n; i++)
                if (g->members[i] == e) {
                    memmove(&g->members[i], &g->members[i + 1],
                            (g->n - i - 1) * sizeof(*g->members));
                    g->n--;
                    break;
                }
            if (g->n == 0) {
                /* The tail no longer sees this group: its cursors must
                 * not follow the tail past messages nobody delivered. */
                if (g->co != NULL)
                    mq__share_freeze(g->co);
                free(g->name);
                free(g->members);
                n->groups[gi] = n->groups[--n->ngroups];
                break;
            }
        }
    }
    prune(n);
}

mq_sgroup *
mq__trie_group(mq_tnode *root, sl_slice match, sl_slice group)
{
    mq_tnode *n = node_for(root, match, false);
    if (n == NULL)
        return NULL;
    for (uint32_t i = 0; i < n->ngroups; i++)
        if (n->groups[i].name_n == group.n &&
            memcmp(n->groups[i].name, group.p, group.n) == 0)
            return &n->groups[i];
    return NULL;
}

typedef struct match_ctx {
    sl_slice t;
    mq_match_cb cb;
    mq_group_cb gcb;
    void *arg;
} match_ctx;

static void
visit(match_ctx *m, mq_tnode *n)
{
    for (uint32_t i = 0; i < n->nsubs; i++)
        m->cb(m->arg, n->subs[i]);
    for (uint32_t i = 0; i < n->ngroups; i++)
        m->gcb(m->arg, &n->groups[i]);
}

/* n has matched the levels before offset i (i == t.n + 1: all consumed). */
static void
match_at(match_ctx *m, mq_tnode *n, size_t i, bool root)
{
    bool dollar = root && m->t.n > 0 && m->t.p[0] == '$';
    if (!dollar) {
        mq_tnode *h = kid_get(n, (const uint8_t *)"#", 1, false);
        if (h != NULL)
            visit(m, h);
    }
    if (i > m->t.n) {
        visit(m, n);
        return;
    }
    size_t j = i;
    while (j < m->t.n && m->t.p[j] != '/')
        j++;
    mq_tnode *c = kid_get(n, m->t.p + i, j - i, false);
    if (c != NULL)
        match_at(m, c, j + 1, false);
    if (!dollar) {
        mq_tnode *p = kid_get(n, (const uint8_t *)"+", 1, false);
        if (p != NULL)
            match_at(m, p, j + 1, false);
    }
}

void
mq__trie_match(mq_tnode *root, sl_slice topic, mq_match_cb cb, mq_group_cb gcb,
               void *arg)
{
    match_ctx m = {topic, cb, gcb, arg};
    match_at(&m, root, 0, true);
}

/* ---- retained ---------------------------------------------------------- */

void
mq__retained_hold(mq_retained *r)
{
    r->refs++;
}

void
mq__retained_rele(mq_retained *r)
{
    if (r == NULL || --r->refs > 0)
        return;
    free(r->topic);
    free(r->blob);
    free(r);
}

int
mq__retained_set(mq_server *s, sl_slice topic, const uint8_t *blob, size_t n,
                 int64_t version)
{
    mq_tnode *node = node_for(s->ret_root, topic, blob != NULL);
    if (node == NULL)
        return blob ? -ENOMEM : 0;
    if (node->ret != NULL) {
        node->ret->node = NULL;
        mq__retained_rele(node->ret);
        node->ret = NULL;
        s->nretained--;
    }
    if (blob == NULL) {
        prune(node);
        return 0;
    }
    mq_retained *r = calloc(1, sizeof(*r));
    if (r == NULL)
        goto fail;
    r->topic = malloc(topic.n + 1);
    r->blob = malloc(n ? n : 1);
    if (r->topic == NULL || r->blob == NULL)
        goto fail;
    memcpy(r->topic, topic.p, topic.n);
    r->topic[topic.n] = 0;
    r->topic_n = topic.n;
    memcpy(r->blob, blob, n);
    r->n = n;
    r->refs = 1;
    r->node = node;
    r->version = version;
    node->ret = r;
    s->nretained++;
    return 0;
fail:
    if (r != NULL) {
        free(r->topic);
        free(r->blob);
        free(r);
    }
    prune(node);
    return -ENOMEM;
}

typedef struct rmatch {
    sl_slice f;
    mq_ret_cb cb;
    void *arg;
} rmatch;

static void
subtree(rmatch *m, mq_tnode *n, bool root)
{
    if (n->ret != NULL)
        m->cb(m->arg, n->ret);
    for (uint32_t i = 0; i < n->nkids; i++) {
        if (root && n->kids[i]->lvl_n > 0 && n->kids[i]->lvl[0] == '$')
            continue;
        subtree(m, n->kids[i], false);
    }
}

static void
rmatch_at(rmatch *m, mq_tnode *n, size_t i, bool root)
{
    if (i > m->f.n) {
        if (n->ret != NULL)
            m->cb(m->arg, n->ret);
        return;
    }
    size_t j = i;
    while (j < m->f.n && m->f.p[j] != '/')
        j++;
    if (j - i == 1 && m->f.p[i] == '#') {
        /* "a/#" matches "a" itself too. */
        if (!root && n->ret != NULL)
            m->cb(m->arg, n->ret);
        for (uint32_t k = 0; k < n->nkids; k++) {
            if (root && n->kids[k]->lvl_n > 0 && n->kids[k]->lvl[0] == '$')
                continue;
            subtree(m, n->kids[k], false);
        }
        return;
    }
    if (j - i == 1 && m->f.p[i] == '+') {
        for (uint32_t k = 0; k < n->nkids; k++) {
            if (root && n->kids[k]->lvl_n > 0 && n->kids[k]->lvl[0] == '$')
                continue;
            rmatch_at(m, n->kids[k], j + 1, false);
        }
        return;
    }
    mq_tnode *c = kid_get(n, m->f.p + i, j - i, false);
    if (c != NULL)
        rmatch_at(m, c, j + 1, false);
}

void
mq__retained_match(mq_server *s, sl_slice filter, mq_ret_cb cb, void *arg)
{
    rmatch m = {filter, cb, arg};
    rmatch_at(&m, s->ret_root, 0, true);
}
