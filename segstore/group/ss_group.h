/*
 * ss_group.h — the group membership service: the coordinator of Kafka's
 * classic group protocol (join, sync, heartbeat, leave, generations,
 * static members), kept in segstore so that every frontend instance sees
 * the same groups.  Membership lives in memory only: after a segstore
 * restart members get UNKNOWN_MEMBER and join again, as after a Kafka
 * coordinator failover.  Committed offsets are not here (ss_coord.c keeps
 * them in the KV store).
 *
 * Held replies: JOIN and SYNC may not be answerable at once.  The caller
 * passes an opaque `waiter` (segstore's request context); the service
 * answers every request exactly once through the reply function, either
 * during the call or later (another request, a tick, ss_groups_fail_all).
 *
 * Threading: one owner at a time (segstore's mutex).  Time is the caller's
 * monotonic milliseconds.
 */
#ifndef SS_GROUP_H
#define SS_GROUP_H

#include "ipc_msg.h"

typedef struct ss_groups ss_groups;

/* Send msg (a whole IPC reply message) as waiter's reply. */
typedef void (*ss_group_reply_fn)(void *arg, void *waiter, const sl_buf *msg);
/* A group began (state PREPARING_REBALANCE) or ended a rebalance. */
typedef void (*ss_group_event_fn)(void *arg, sl_slice group, int32_t generation,
                                  int state);

ss_groups *ss_groups_new(ss_group_reply_fn reply, ss_group_event_fn event,
                         void *arg);
/* Free without replying (the waiters must be gone). NULL is fine. */
void ss_groups_free(ss_groups *g);
/* Answer every held JOIN/SYNC with error (shutdown). */
void ss_groups_fail_all(ss_groups *g, int error);

/* Answered now or held; exactly once. */
void ss_groups_join(ss_groups *g, void *waiter, const ipc_join_req *req,
                    int64_t now_ms);
void ss_groups_sync(ss_groups *g, void *waiter, const ipc_sync_req *req,
                    int64_t now_ms);
/* Returns the error for the reply (0 or SL_E_*). */
int ss_groups_heartbeat(ss_groups *g, const ipc_heartbeat_req *req,
                        int64_t now_ms);
/* Remove the n members m[] (each by member id, or by instance id when it
 * has one) and rebalance once; errs[i] gets member i's outcome (0 or
 * SL_E_UNKNOWN_MEMBER / SL_E_FENCED).  Returns SL_E_UNKNOWN_MEMBER when
 * the group does not exist, else 0. */
int ss_groups_leave(ss_groups *g, sl_slice group, const ipc_leave_member *m,
                    size_t n, int32_t *errs, int64_t now_ms);

/* Session and rebalance timeouts; call every ~100 ms. */
void ss_groups_tick(ss_groups *g, int64_t now_ms);

/* May (generation, member, instance) commit offsets for group now?
 * 0, SL_E_REBALANCE, SL_E_UNKNOWN_MEMBER, SL_E_GENERATION or SL_E_FENCED.
 * A member's commit also counts as a sign of life. */
int ss_groups_commit_check(ss_groups *g, sl_slice group, int32_t generation,
                           sl_slice member, sl_slice instance, int64_t now_ms);

/* Groups with state in memory. */
typedef int (*ss_group_list_fn)(void *arg, sl_slice group,
                                sl_slice protocol_type, int state);
int ss_groups_list(ss_groups *g, ss_group_list_fn fn, void *arg);
/* 1 when the group is in memory (members or not), 0 otherwise. */
int ss_groups_known(ss_groups *g, sl_slice group);
/* Append one GROUP_DESCRIBE group entry (with its members) to out; an
 * unknown group is described as DEAD. */
int ss_groups_describe(ss_groups *g, sl_slice group, sl_buf *out);
/* Forget a group without members: 0, SL_E_NOTEMPTY, or SL_E_NOGROUP when
 * not in memory. */
int ss_groups_delete(ss_groups *g, sl_slice group);

#endif /* SS_GROUP_H */
