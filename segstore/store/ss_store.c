/*
 * ss_store.c — topics: the config table, topic.meta files, create, delete
 * and the lookup of partition logs.
 *
 * topic.meta (docs/format.md) is `key=value` text ending with a line
 * `xxh3=<16 hex>`, the XXH3 of every byte before that line.  It is written
 * whole (tmp, fdatasync, rename, fsync of the topic directory) before any
 * partition directory exists, so a crash during create leaves either no
 * topic or a topic whose partitions recovery creates empty.
 */
#include "ss_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const ts_types[] = {"CreateTime", "LogAppendTime", NULL};
static const char *const cleanup_policies[] = {"delete", NULL};

#define F(x) offsetof(ss_log_cfg, x)
const sl_conf_key ss_topic_conf[] = {
    {"segment.bytes", SL_CONF_I64, F(segment_bytes), 64 << 10, 1LL << 30,
     "134217728", 1, NULL,
     "Roll the active segment when the next append would pass this size."},
    {"segment.ms", SL_CONF_I64, F(segment_ms), 1, INT64_MAX, "604800000", 1,
     NULL, "Roll the active segment when its first batch is this old."},
    {"retention.ms", SL_CONF_I64, F(retention_ms), -1, INT64_MAX, "604800000",
     1, NULL,
     "Delete sealed segments whose newest record is older (-1: never)."},
    {"retention.bytes", SL_CONF_I64, F(retention_bytes), -1, INT64_MAX, "-1", 1,
     NULL,
     "Delete the oldest sealed segments while the partition stays at least "
     "this large (-1: no limit)."},
    {"index.interval.bytes", SL_CONF_I64, F(index_interval_bytes), 0, 16 << 20,
     "4096", 1, NULL,
     "Bytes of batches between two entries of the sparse offset index."},
    {"max.message.bytes", SL_CONF_I64, F(max_message_bytes), 128, 64 << 20,
     "1048588", 1, NULL, "Largest record batch accepted, in bytes."},
    {"message.timestamp.type", SL_CONF_ENUM, F(log_append_time), 0, 0,
     "CreateTime", 1, ts_types,
     "CreateTime keeps the producer's timestamps; LogAppendTime stamps the "
     "broker's time on every batch."},
    {"preallocate", SL_CONF_BOOL, F(preallocate), 0, 1, "true", 1, NULL,
     "fallocate each new segment to segment.bytes."},
    {"cleanup.policy", SL_CONF_ENUM, F(cleanup_policy), 0, 0, "delete", 1,
     cleanup_policies,
     "Only delete is supported (compaction is not implemented)."},
    {"tier.enable", SL_CONF_BOOL, F(tier_enable), 0, 1, "false", 1, NULL,
     "Offload sealed segments past tier.local.retention.* to the tier "
     "(segstore's tier.url); retention.* still bound the whole log."},
    {"tier.local.retention.ms", SL_CONF_I64, F(tier_local_retention_ms), -1,
     INT64_MAX, "-1", 1, NULL,
     "With tier.enable: offload sealed segments whose newest record is "
     "older (-1: no time limit)."},
    {"tier.local.retention.bytes", SL_CONF_I64, F(tier_local_retention_bytes),
     -1, INT64_MAX, "-1", 1, NULL,
     "With tier.enable: offload the oldest sealed segments while the local "
     "log stays at least this large (-1: no size limit)."},
};
#undef F
const size_t ss_topic_conf_len = SL_ARRAY_LEN(ss_topic_conf);

typedef struct ss_override {
    char key[64];
    char value[SL_CONF_STR_MAX];
} ss_override;

struct ss_topic {
    char name[SS_TOPIC_NAME_MAX + 1];
    int32_t partitions;
    int64_t created_ms;
    ss_log_cfg cfg;
    ss_override *ov;
    size_t nov;
    ss_log **logs;
};

struct ss_store {
    char *dir;
    int dir_fd;
    ss_log_cfg defaults;
    ss_topic **topics;
    size_t ntopics, cap;
};

int
ss_topic_name_ok(sl_slice n)
{
    if (n.n == 0 || n.n > SS_TOPIC_NAME_MAX)
        return 0;
    if (sl_slice_eq_str(n, ".") || sl_slice_eq_str(n, ".."))
        return 0;
    for (size_t i = 0; i < n.n; i++) {
        uint8_t c = n.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static void
topic_free(ss_topic *t)
{
    if (t == NULL)
        return;
    if (t->logs != NULL)
        for (int32_t p = 0; p < t->partitions; p++)
            ss_log_rele(t->logs[p]);
    free(t->logs);
    free(t->ov);
    free(t);
}

/* Apply defaults then overrides into t->cfg; err on a bad override. */
static int
topic_resolve(ss_topic *t, const ss_log_cfg *defaults, char *err, size_t errlen)
{
    t->cfg = *defaults;
    for (size_t i = 0; i < t->nov; i++) {
        const sl_conf_key *k = sl_conf_find(ss_topic_conf, ss_topic_conf_len,
                                            sl_slice_str(t->ov[i].key));
        if (k == NULL) {
            snprintf(err, errlen, "unknown topic config '%s'", t->ov[i].key);
            return SL_E_INVAL;
        }
        int rc =
            sl_conf_set(k, &t->cfg, sl_slice_str(t->ov[i].value), err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int
topic_add_override(ss_topic *t, sl_slice key, sl_slice value, char *err,
                   size_t errlen)
{
    if (key.n >= sizeof(t->ov[0].key) || value.n >= SL_CONF_STR_MAX) {
        snprintf(err, errlen, "config key or value too long");
        return SL_E_INVAL;
    }
    for (size_t i = 0; i < t->nov; i++) {
        if (sl_slice_eq_str(key, t->ov[i].key)) {
            snprintf(err, errlen, "config '%s' given twice", t->ov[i].key);
            return SL_E_INVAL;
        }
    }
    ss_override *n = realloc(t->ov, (t->nov + 1) * sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    t->ov = n;
    memcpy(n[t->nov].key, key.p, key.n);
    n[t->nov].key[key.n] = 0;
    memcpy(n[t->nov].value, value.p, value.n);
    n[t->nov].value[value.n] = 0;
    t->nov++;
    return 0;
}

/* Values the table would take but segstore cannot honour (creation and
 * alter share this). */
static int
value_supported(sl_slice key, sl_slice value, char *err, size_t errlen)
{
    if (sl_slice_eq_str(key, "cleanup.policy") &&
        sl_slice_eq_str(value, "compact")) {
        snprintf(err, errlen,
                 "cleanup.policy=compact: log compaction is "
                 "not supported; use delete");
        return SL_E_UNSUPPORTED;
    }
    return 0;
}

static int
write_meta(int topic_dir_fd, const ss_topic *t)
{
    sl_buf b;
    sl_buf_init(&b);
    char line[512];
    int rc = 0;
    int n = snprintf(line, sizeof(line),
                     "# sluice topic metadata\nversion=1\nname=%s\n"
                     "partitions=%d\ncreated.ms=%" PRId64 "\n",
                     t->name, t->partitions, t->created_ms);
    rc = sl_buf_append(&b, line, (size_t)n);
    for (size_t i = 0; rc == 0 && i < t->nov; i++) {
        n = snprintf(line, sizeof(line), "config.%s=%s\n", t->ov[i].key,
                     t->ov[i].value);
        rc = sl_buf_append(&b, line, (size_t)n);
    }
    if (rc == 0) {
        n = snprintf(line, sizeof(line), "xxh3=%016" PRIx64 "\n",
                     sl_xxh3(b.p, b.n));
        rc = sl_buf_append(&b, line, (size_t)n);
    }
    if (rc != 0)
        goto out;
    int fd = openat(topic_dir_fd, "topic.meta.tmp",
                    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if (write(fd, b.p, b.n) != (ssize_t)b.n || fdatasync(fd) != 0)
        rc = errno ? -errno : SL_E_IO;
    close(fd);
    if (rc == 0 &&
        renameat(topic_dir_fd, "topic.meta.tmp", topic_dir_fd, "topic.meta"))
        rc = -errno;
    if (rc == 0 && fsync(topic_dir_fd) != 0)
        rc = -errno;
out:
    sl_buf_fini(&b);
    return rc;
}

struct meta_ctx {
    ss_topic *t;
    int have_version, have_name, have_parts;
    char *err;
    size_t errlen;
};

static int
meta_cb(void *arg, sl_slice key, sl_slice value, int line)
{
    struct meta_ctx *c = arg;
    int64_t v;
    (void)line;
    if (sl_slice_eq_str(key, "version")) {
        if (!sl_slice_eq_str(value, "1"))
            return SL_E_VERSION;
        c->have_version = 1;
    } else if (sl_slice_eq_str(key, "name")) {
        if (!ss_topic_name_ok(value))
            return SL_E_CORRUPT;
        memcpy(c->t->name, value.p, value.n);
        c->t->name[value.n] = 0;
        c->have_name = 1;
    } else if (sl_slice_eq_str(key, "partitions")) {
        if (sl_conf_parse_i64(value, &v) != 0 || v < 1 || v > SS_PARTITIONS_MAX)
            return SL_E_CORRUPT;
        c->t->partitions = (int32_t)v;
        c->have_parts = 1;
    } else if (sl_slice_eq_str(key, "created.ms")) {
        if (sl_conf_parse_i64(value, &v) != 0)
            return SL_E_CORRUPT;
        c->t->created_ms = v;
    } else if (key.n > 7 && memcmp(key.p, "config.", 7) == 0) {
        return topic_add_override(c->t, sl_slice_make(key.p + 7, key.n - 7),
                                  value, c->err, c->errlen);
    } else if (!sl_slice_eq_str(key, "xxh3")) {
        return SL_E_CORRUPT;
    }
    return 0;
}

/* Parse and verify a topic.meta image into t. */
static int
parse_meta(sl_slice text, ss_topic *t, char *err, size_t errlen)
{
    /* The digest line is the last line. */
    if (text.n < 2 || text.p[text.n - 1] != '\n')
        return SL_E_CORRUPT;
    size_t i = text.n - 1;
    while (i > 0 && text.p[i - 1] != '\n')
        i--;
    sl_slice last = sl_slice_make(text.p + i, text.n - 1 - i);
    if (last.n != 5 + 16 || memcmp(last.p, "xxh3=", 5) != 0)
        return SL_E_CORRUPT;
    char hex[17];
    memcpy(hex, last.p + 5, 16);
    hex[16] = 0;
    char *end;
    uint64_t want = strtoull(hex, &end, 16);
    if (*end != 0 || want != sl_xxh3(text.p, i))
        return SL_E_CRC;
    struct meta_ctx c = {t, 0, 0, 0, err, errlen};
    int line;
    int rc = sl_conf_parse(sl_slice_make(text.p, i), meta_cb, &c, &line);
    if (rc == 0 && !(c.have_version && c.have_name && c.have_parts))
        rc = SL_E_CORRUPT;
    return rc;
}

static int
store_push(ss_store *st, ss_topic *t)
{
    if (st->ntopics == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        ss_topic **n = realloc(st->topics, cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        st->topics = n;
        st->cap = cap;
    }
    st->topics[st->ntopics++] = t;
    return 0;
}

static int
topic_open_logs(ss_store *st, ss_topic *t, char *err, size_t errlen)
{
    t->logs = calloc((size_t)t->partitions, sizeof(*t->logs));
    if (t->logs == NULL)
        return -ENOMEM;
    for (int32_t p = 0; p < t->partitions; p++) {
        char rel[SS_TOPIC_NAME_MAX + 16];
        snprintf(rel, sizeof(rel), "%s/%d", t->name, p);
        int rc = ss_log_open(st->dir, rel, &t->cfg, &t->logs[p]);
        if (rc != 0) {
            snprintf(err, errlen, "%s/%s: cannot open partition log: %s",
                     st->dir, rel, sl_strerror(rc));
            return rc;
        }
    }
    return 0;
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
remove_tree(const char *path)
{
    if (nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS) != 0)
        sl_log(SL_LOG_WARN, "SS-DELETE", "path=%s cannot remove: %s", path,
               strerror(errno));
}

static int
load_topic(ss_store *st, const char *name, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/topic.meta", name);
    int fd = openat(st->dir_fd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            /* A crash between mkdir and the meta write: nothing was ever
             * acknowledged for this topic. */
            sl_log(SL_LOG_WARN, "SS-TOPIC",
                   "dir=%s/%s has no topic.meta: ignored", st->dir, name);
            return 0;
        }
        snprintf(err, errlen, "%s/%s: %s", st->dir, path, strerror(errno));
        return -errno;
    }
    char buf[64 << 10];
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    ss_topic *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    int rc = n < 0 ? -errno : (n == (ssize_t)sizeof(buf) ? SL_E_TOOBIG : 0);
    char why[256] = "";
    if (rc == 0)
        rc = parse_meta(sl_slice_make(buf, (size_t)n), t, why, sizeof(why));
    if (rc == 0 && strcmp(t->name, name) != 0)
        rc = SL_E_CORRUPT;
    if (rc == 0)
        rc = topic_resolve(t, &st->defaults, why, sizeof(why));
    if (rc != 0) {
        snprintf(err, errlen, "%s/%s: %s%s%s", st->dir, path, sl_strerror(rc),
                 why[0] ? ": " : "", why);
        topic_free(t);
        return rc;
    }
    if ((rc = topic_open_logs(st, t, err, errlen)) != 0 ||
        (rc = store_push(st, t)) != 0) {
        topic_free(t);
        return rc;
    }
    return 0;
}

int
ss_store_set_defaults(ss_store *st, const ss_log_cfg *defaults)
{
    st->defaults = *defaults;
    int bad = 0;
    for (size_t i = 0; i < st->ntopics; i++) {
        ss_topic *t = st->topics[i];
        ss_log_cfg keep = t->cfg;
        char err[256];
        if (topic_resolve(t, &st->defaults, err, sizeof(err)) != 0) {
            /* Its overrides were valid when loaded; keep what it had. */
            t->cfg = keep;
            bad++;
            continue;
        }
        for (int32_t p = 0; p < t->partitions; p++)
            ss_log_set_cfg(t->logs[p], &t->cfg);
    }
    return bad ? SL_E_INVAL : 0;
}

int
ss_store_open(const char *data_dir, const ss_log_cfg *defaults, ss_store **out,
              char *err, size_t errlen)
{
    *out = NULL;
    ss_store *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return -ENOMEM;
    st->defaults = *defaults;
    st->dir_fd = -1;
    int rc = 0;
    st->dir = strdup(data_dir);
    if (st->dir == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    st->dir_fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dir_fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", data_dir, strerror(errno));
        goto fail;
    }
    DIR *d = fdopendir(dup(st->dir_fd));
    if (d == NULL) {
        rc = -errno;
        goto fail;
    }
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        /* '.' files (.lock) and '@' directories (segstore's own logs,
         * such as @kv) are not topics. */
        if (de->d_name[0] == '.' || de->d_name[0] == '@')
            continue;
        if (strchr(de->d_name, '~') != NULL) {
            char p[PATH_MAX];
            snprintf(p, sizeof(p), "%s/%s", data_dir, de->d_name);
            remove_tree(p);
            continue;
        }
        struct stat sb;
        if (fstatat(st->dir_fd, de->d_name, &sb, 0) != 0 ||
            !S_ISDIR(sb.st_mode) || !ss_topic_name_ok(sl_slice_str(de->d_name)))
            continue;
        rc = load_topic(st, de->d_name, err, errlen);
    }
    closedir(d);
    if (rc != 0)
        goto fail;
    *out = st;
    return 0;
fail:
    ss_store_close(st);
    return rc;
}

int
ss_store_close(ss_store *st)
{
    if (st == NULL)
        return 0;
    int rc = 0;
    for (size_t i = 0; i < st->ntopics; i++) {
        ss_topic *t = st->topics[i];
        for (int32_t p = 0; t->logs && p < t->partitions; p++) {
            int r = t->logs[p] ? ss_log_close(t->logs[p]) : 0;
            if (r != 0 && rc == 0)
                rc = r;
        }
        topic_free(t);
    }
    free(st->topics);
    if (st->dir_fd >= 0)
        close(st->dir_fd);
    free(st->dir);
    free(st);
    return rc;
}

ss_topic *
ss_store_topic_find(ss_store *st, sl_slice name)
{
    for (size_t i = 0; i < st->ntopics; i++)
        if (sl_slice_eq_str(name, st->topics[i]->name))
            return st->topics[i];
    return NULL;
}

size_t
ss_store_topic_count(const ss_store *st)
{
    return st->ntopics;
}

ss_topic *
ss_store_topic_at(ss_store *st, size_t i)
{
    return i < st->ntopics ? st->topics[i] : NULL;
}

const char *
ss_topic_name(const ss_topic *t)
{
    return t->name;
}

int32_t
ss_topic_partitions(const ss_topic *t)
{
    return t->partitions;
}

const ss_log_cfg *
ss_topic_cfg(const ss_topic *t)
{
    return &t->cfg;
}

ss_log *
ss_topic_log(const ss_topic *t, int32_t p)
{
    return p >= 0 && p < t->partitions ? t->logs[p] : NULL;
}

int
ss_topic_overrides(const ss_topic *t, const char *key)
{
    for (size_t i = 0; i < t->nov; i++)
        if (strcmp(t->ov[i].key, key) == 0)
            return 1;
    return 0;
}

int
ss_store_log(ss_store *st, sl_slice topic, int32_t partition, ss_log **out)
{
    ss_topic *t = ss_store_topic_find(st, topic);
    if (t == NULL)
        return SL_E_NOTOPIC;
    ss_log *l = ss_topic_log(t, partition);
    if (l == NULL)
        return SL_E_NOPART;
    *out = l;
    return 0;
}

int
ss_store_topic_create(ss_store *st, sl_slice name, int32_t partitions,
                      const ss_kv *configs, size_t nconfigs, char *err,
                      size_t errlen)
{
    if (!ss_topic_name_ok(name)) {
        snprintf(err, errlen,
                 "illegal topic name: use 1-%d characters of [A-Za-z0-9._-]",
                 SS_TOPIC_NAME_MAX);
        return SL_E_INVAL;
    }
    if (ss_store_topic_find(st, name) != NULL) {
        snprintf(err, errlen, "topic '%.*s' already exists", (int)name.n,
                 (const char *)name.p);
        return SL_E_EXISTS;
    }
    if (partitions < 1 || partitions > SS_PARTITIONS_MAX) {
        snprintf(err, errlen, "partitions must be 1..%d", SS_PARTITIONS_MAX);
        return SL_E_INVAL;
    }
    ss_topic *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    memcpy(t->name, name.p, name.n);
    t->name[name.n] = 0;
    t->partitions = partitions;
    t->created_ms = sl_now_ms();
    int rc = 0;
    int tfd = -1;
    for (size_t i = 0; i < nconfigs && rc == 0; i++) {
        if ((rc = value_supported(configs[i].key, configs[i].value, err,
                                  errlen)) != 0)
            break;
        rc = topic_add_override(t, configs[i].key, configs[i].value, err,
                                errlen);
    }
    if (rc == 0)
        rc = topic_resolve(t, &st->defaults, err, errlen);
    if (rc != 0)
        goto fail;
    if (mkdirat(st->dir_fd, t->name, 0755) != 0 && errno != EEXIST) {
        rc = -errno;
        snprintf(err, errlen, "mkdir %s/%s: %s", st->dir, t->name,
                 strerror(errno));
        goto fail;
    }
    tfd = openat(st->dir_fd, t->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0 || (rc = write_meta(tfd, t)) != 0 || fsync(st->dir_fd) != 0) {
        if (rc == 0)
            rc = -errno;
        snprintf(err, errlen, "%s/%s/topic.meta: %s", st->dir, t->name,
                 sl_strerror(rc));
        goto fail;
    }
    close(tfd);
    tfd = -1;
    if ((rc = topic_open_logs(st, t, err, errlen)) != 0 ||
        (rc = store_push(st, t)) != 0)
        goto fail;
    sl_log(SL_LOG_INFO, "SS-TOPIC", "created topic=%s partitions=%d", t->name,
           t->partitions);
    return 0;
fail:
    if (tfd >= 0)
        close(tfd);
    topic_free(t);
    return rc;
}

int
ss_store_topic_delete(ss_store *st, sl_slice name)
{
    size_t i;
    for (i = 0; i < st->ntopics; i++)
        if (sl_slice_eq_str(name, st->topics[i]->name))
            break;
    if (i == st->ntopics)
        return SL_E_NOTOPIC;
    ss_topic *t = st->topics[i];
    char gone[SS_TOPIC_NAME_MAX + 40];
    snprintf(gone, sizeof(gone), "%s~%" PRId64 ".deleted", t->name,
             sl_now_ms());
    /* The rename is the commit point: after it (and the directory fsync)
     * the topic does not exist, whatever happens to the removal. */
    if (renameat(st->dir_fd, t->name, st->dir_fd, gone) != 0)
        return -errno;
    fsync(st->dir_fd);
    /* The logs must not checkpoint into the renamed directory: drop them
     * without a final sync (in-flight jobs keep their own references). */
    for (int32_t p = 0; p < t->partitions; p++) {
        ss_log_abandon(t->logs[p]);
    }
    memmove(st->topics + i, st->topics + i + 1,
            (st->ntopics - i - 1) * sizeof(*st->topics));
    st->ntopics--;
    sl_log(SL_LOG_INFO, "SS-TOPIC", "deleted topic=%s", t->name);
    topic_free(t);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", st->dir, gone);
    remove_tree(path);
    return 0;
}

int
ss_store_topic_add_partitions(ss_store *st, sl_slice name, int32_t count,
                              int validate_only, char *err, size_t errlen)
{
    ss_topic *t = ss_store_topic_find(st, name);
    if (t == NULL) {
        snprintf(err, errlen, "unknown topic '%.*s'", (int)name.n,
                 (const char *)name.p);
        return SL_E_NOTOPIC;
    }
    if (count <= t->partitions || count > SS_PARTITIONS_MAX) {
        snprintf(err, errlen,
                 "topic '%s' has %d partitions; the new count must be "
                 "%d..%d",
                 t->name, t->partitions, t->partitions + 1, SS_PARTITIONS_MAX);
        return SL_E_INVAL;
    }
    if (validate_only)
        return 0;
    ss_log **logs = realloc(t->logs, (size_t)count * sizeof(*logs));
    if (logs == NULL)
        return -ENOMEM;
    t->logs = logs;
    int32_t old = t->partitions;
    int rc = 0;
    int32_t p;
    /* The new logs first, then topic.meta: a crash in between leaves empty
     * partition directories that the old count ignores. */
    for (p = old; p < count; p++) {
        char rel[SS_TOPIC_NAME_MAX + 16];
        snprintf(rel, sizeof(rel), "%s/%d", t->name, p);
        rc = ss_log_open(st->dir, rel, &t->cfg, &t->logs[p]);
        if (rc != 0) {
            snprintf(err, errlen, "%s/%s: cannot open partition log: %s",
                     st->dir, rel, sl_strerror(rc));
            break;
        }
    }
    if (rc == 0) {
        int tfd =
            openat(st->dir_fd, t->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        t->partitions = count;
        rc = tfd < 0 ? -errno : write_meta(tfd, t);
        if (tfd >= 0)
            close(tfd);
        if (rc != 0) {
            t->partitions = old;
            snprintf(err, errlen, "%s/%s/topic.meta: %s", st->dir, t->name,
                     sl_strerror(rc));
        }
    }
    if (rc != 0) {
        for (int32_t q = old; q < p && q < count; q++)
            ss_log_rele(t->logs[q]);
        return rc;
    }
    return 0;
}

size_t
ss_topic_override_count(const ss_topic *t)
{
    return t->nov;
}

const char *
ss_topic_override_key(const ss_topic *t, size_t i)
{
    return i < t->nov ? t->ov[i].key : NULL;
}

const char *
ss_topic_override_value(const ss_topic *t, size_t i)
{
    return i < t->nov ? t->ov[i].value : NULL;
}

/* Drop override i of t (order of the rest kept). */
static void
topic_drop_override(ss_topic *t, size_t i)
{
    memmove(t->ov + i, t->ov + i + 1, (t->nov - i - 1) * sizeof(*t->ov));
    t->nov--;
}

/* Check one op's key the way creation does, plus what alter adds: the key
 * must exist and be changeable after creation.  The value is checked when
 * the whole new set is resolved. */
static int
alter_check_op(const ss_cfg_op *o, char *err, size_t errlen)
{
    const sl_conf_key *k =
        sl_conf_find(ss_topic_conf, ss_topic_conf_len, o->key);
    if (k == NULL) {
        if (sl_slice_eq_str(o->key, "partitions") ||
            sl_slice_eq_str(o->key, "num.partitions"))
            snprintf(err, errlen,
                     "'%.*s' is not a topic config; add partitions instead "
                     "(sluice-ctl topic grow, Kafka "
                     "CreatePartitions)",
                     (int)o->key.n, (const char *)o->key.p);
        else
            snprintf(err, errlen, "unknown topic config '%.*s'",
                     (int)SL_MIN(o->key.n, 64), (const char *)o->key.p);
        return SL_E_INVAL;
    }
    if (!k->reloadable) {
        snprintf(err, errlen,
                 "topic config '%s' cannot be changed after "
                 "the topic is created",
                 k->name);
        return SL_E_INVAL;
    }
    if (o->op == SS_CFG_SET)
        return value_supported(o->key, o->value, err, errlen);
    if (o->op != SS_CFG_DELETE) {
        snprintf(err, errlen, "%s: unknown operation %d", k->name, o->op);
        return SL_E_INVAL;
    }
    return 0;
}

int
ss_store_topic_alter(ss_store *st, sl_slice name, const ss_cfg_op *ops,
                     size_t nops, int replace, int validate_only,
                     ss_alter_report_fn report, void *arg, char *err,
                     size_t errlen)
{
    ss_topic *t = ss_store_topic_find(st, name);
    if (t == NULL) {
        snprintf(err, errlen, "unknown topic '%.*s'",
                 (int)SL_MIN(name.n, SS_TOPIC_NAME_MAX), (const char *)name.p);
        return SL_E_NOTOPIC;
    }
    /* The new state is built in a scratch copy of the topic; t itself is
     * touched only once topic.meta holds the new state. */
    ss_topic nt = *t;
    nt.logs = NULL;
    nt.ov = NULL;
    nt.nov = 0;
    int rc = 0;
    for (size_t i = 0; i < nops && rc == 0; i++) {
        rc = alter_check_op(&ops[i], err, errlen);
        for (size_t j = 0; j < i && rc == 0; j++) {
            if (ops[j].key.n == ops[i].key.n &&
                memcmp(ops[j].key.p, ops[i].key.p, ops[i].key.n) == 0) {
                snprintf(err, errlen, "config '%.*s' given twice",
                         (int)ops[i].key.n, (const char *)ops[i].key.p);
                rc = SL_E_INVAL;
            }
        }
    }
    /* Overrides kept: all of them, or with replace none. */
    for (size_t i = 0; rc == 0 && !replace && i < t->nov; i++)
        rc = topic_add_override(&nt, sl_slice_str(t->ov[i].key),
                                sl_slice_str(t->ov[i].value), err, errlen);
    for (size_t i = 0; rc == 0 && i < nops; i++) {
        for (size_t j = 0; j < nt.nov; j++) {
            if (sl_slice_eq_str(ops[i].key, nt.ov[j].key)) {
                topic_drop_override(&nt, j);
                break;
            }
        }
        if (ops[i].op == SS_CFG_SET)
            rc = topic_add_override(&nt, ops[i].key, ops[i].value, err, errlen);
    }
    if (rc == 0)
        rc = topic_resolve(&nt, &st->defaults, err, errlen);
    if (rc != 0)
        goto out;
    if (validate_only) {
        if (report != NULL)
            report(arg, &nt);
        goto out;
    }
    int tfd = openat(st->dir_fd, t->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = tfd < 0 ? -errno : write_meta(tfd, &nt);
    if (tfd >= 0)
        close(tfd);
    if (rc != 0) {
        snprintf(err, errlen, "%s/%s/topic.meta: %s", st->dir, t->name,
                 sl_strerror(rc));
        goto out;
    }
    /* Committed: swap the overrides in and hand every log its settings. */
    ss_override *old = t->ov;
    t->ov = nt.ov;
    t->nov = nt.nov;
    t->cfg = nt.cfg;
    nt.ov = old;
    for (int32_t p = 0; p < t->partitions; p++)
        ss_log_set_cfg(t->logs[p], &t->cfg);
    if (report != NULL)
        report(arg, t);
    sl_log(SL_LOG_INFO, "SS-TOPIC",
           "altered topic=%s configs=%zu overrides=%zu", t->name, nops, t->nov);
out:
    free(nt.ov);
    return rc;
}
