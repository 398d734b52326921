/*
 * sl_sys.c — checksums, clocks and the single log sink.
 */
#include "sl_base.h"

#include <isa-l/crc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <xxhash.h>

uint32_t
sl_crc32c_update(uint32_t crc, const void *p, size_t n)
{
    /* ISA-L's crc32_iscsi takes and returns the raw register (no final
     * inversion) and an int length, so feed it in chunks below INT_MAX. */
    uint32_t reg = ~crc;
    const unsigned char *b = p;
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        reg = crc32_iscsi((unsigned char *)b, (int)chunk, reg);
        b += chunk;
        n -= chunk;
    }
    return ~reg;
}

uint32_t
sl_crc32c(const void *p, size_t n)
{
    return sl_crc32c_update(0, p, n);
}

uint64_t
sl_xxh3(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

int64_t
sl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
sl_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static atomic_int log_level = SL_LOG_INFO;

void
sl_log_set_level(int level)
{
    atomic_store(&log_level, level);
}

int
sl_log_level(void)
{
    return atomic_load(&log_level);
}

int
sl_log_level_parse(const char *s)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; i < SL_ARRAY_LEN(names); i++)
        if (strcasecmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

void
sl_log(int level, const char *event, const char *fmt, ...)
{
    static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < atomic_load(&log_level))
        return;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     tags[level < 0 || level > 3 ? 3 : level], event);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line keeps lines whole when threads log at once. */
    fwrite(line, 1, (size_t)n, stderr);
}
