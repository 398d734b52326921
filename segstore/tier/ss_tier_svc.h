/*
 * ss_tier_svc.h — segstore's tier service: an offload thread (uploads
 * sealed segments past the local retention of tier-enabled topics, keeps
 * the manifests, applies retention to the tier, deletes deleted topics'
 * objects) and a download thread (fetches segment objects into the local
 * cache <data>/@tiercache for reads below a log's local start).
 *
 * Locking: the service shares segstore's one mutex `mu`.  Every function
 * here except new/start/stop/free is called with mu held; the threads take
 * mu only to look at or change state and never hold it during I/O.
 */
#ifndef SS_TIER_SVC_H
#define SS_TIER_SVC_H

#include "ss_store.h"
#include "ss_tier.h"

#include <pthread.h>

typedef struct ss_tier_svc ss_tier_svc;

/* Called under mu when a download that `waiter` waited for has finished
 * (successfully or not): the waiter retries its request. */
typedef void (*ss_tier_wake_fn)(void *arg, void *waiter);

typedef struct ss_tier_svc_conf {
    ss_tier_conf tier;
    const char *data_dir; /* absolute */
    int64_t cache_bytes;
    int64_t check_ms; /* how often the offload thread looks for work */
    int odirect;      /* read segments with O_DIRECT through libaio */
    ss_tier_wake_fn wake;
    void *wake_arg;
} ss_tier_svc_conf;

int ss_tier_svc_new(const ss_tier_svc_conf *conf, ss_store *store,
                    pthread_mutex_t *mu, ss_tier_svc **out, char *err,
                    size_t errlen);
/* Load and reconcile the manifests of every tier-enabled partition
 * (blocking; before requests are served), then start the threads. */
int ss_tier_svc_start(ss_tier_svc *t);
/* Stop the threads (mu NOT held).  Waiters are not woken. */
void ss_tier_svc_stop(ss_tier_svc *t);
void ss_tier_svc_free(ss_tier_svc *t);
/* Wake the offload thread (e.g. after a retention pass). */
void ss_tier_svc_kick(ss_tier_svc *t);

typedef struct ss_tier_read_res {
    const uint8_t *data; /* into the cache file's mapping; valid under mu */
    char path[SS_TOPIC_NAME_MAX + 64]; /* relative to data_dir */
    int64_t segment_base;
    uint64_t position;
    uint32_t length;
} ss_tier_read_res;

/*
 * A read below l's local start.  0 with r filled (length 0: nothing below
 * limit), 1 when the segment is being downloaded (waiter is woken once;
 * retry then), SL_E_RANGE when the tier does not hold offset,
 * SL_E_CORRUPT when the object failed its digest, or another error.
 */
int ss_tier_svc_read(ss_tier_svc *t, ss_log *l, int64_t offset,
                     int32_t max_bytes, int64_t limit, void *waiter,
                     ss_tier_read_res *r);
/* KIP-79 over the tier: 0 with *offset (-1: not in the tier, ask the
 * local log), 1 pending as above, or an error. */
int ss_tier_svc_find_time(ss_tier_svc *t, ss_log *l, int64_t ts, int64_t limit,
                          void *waiter, int64_t *offset, int64_t *found_ts);
/* A topic is being deleted: forget its partitions, delete its objects
 * (asynchronously).  Call before the store deletes it. */
void ss_tier_svc_topic_deleted(ss_tier_svc *t, const char *topic);

typedef struct ss_tier_part_status {
    int64_t local_start, local_end, local_bytes;
    int64_t remote_start, remote_end, remote_bytes;
    int32_t remote_segments;
    int32_t pending_offload; /* local sealed segments due for offload */
    int64_t failures;        /* consecutive failed attempts */
    char last_error[256];
} ss_tier_part_status;

/* Status of one partition's log. */
void ss_tier_svc_status(ss_tier_svc *t, ss_log *l, ss_tier_part_status *st);

/* Counters (for status and tests). */
typedef struct ss_tier_counters {
    uint64_t offloaded_segments, offloaded_bytes, offload_failures;
    uint64_t downloads, download_bytes, download_failures, digest_failures;
    uint64_t cache_hits, cache_evictions, deleted_objects;
} ss_tier_counters;
void ss_tier_svc_counters(ss_tier_svc *t, ss_tier_counters *c);

#endif /* SS_TIER_SVC_H */
