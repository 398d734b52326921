/*
 * dump_out.c — text and JSON Lines rendering for sluice-dump.
 *
 * Text mode prints key=value tokens separated by single spaces, so a line
 * can be split on spaces as long as no quoted key or value holds one.
 * Keys, values and header values are shown as "quoted text" when every byte
 * is printable ASCII (tab, newline and carriage return allowed, escaped),
 * otherwise as hex:<digits>; null as null; and, beyond the byte limit,
 * cut short with ...[len=N] appended.  JSON mode gives the same fields, with
 * binary data as a hex string and a "<field>_hex": true flag.
 */
#include "dump_out.h"

#include <inttypes.h>

static const char *
sev_name(int severity)
{
    switch (severity) {
    case DUMP_SEV_WARNING:
        return "warning";
    case DUMP_SEV_CORRUPT:
        return "corrupt";
    default:
        return "error";
    }
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t
utf8_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    /* Second-byte ranges rule out overlong forms, surrogates and code
     * points above U+10FFFF. */
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    }
    return len;
}

static void
json_bytes(FILE *f, const uint8_t *p, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        if (c >= 0x80) {
            size_t len = utf8_len(p + i, n - i);
            if (len == 0) {
                fputs("\\ufffd", f);
                i++;
            } else {
                /* Byte by byte: p may be a mapped file, and its bytes are
                 * read only outside stdio (see main.c, SIGBUS). */
                for (size_t k = 0; k < len; k++)
                    fputc(p[i + k], f);
                i += len;
            }
            continue;
        }
        switch (c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
        i++;
    }
    fputc('"', f);
}

void
dump_out_json_str(FILE *f, const char *s)
{
    json_bytes(f, (const uint8_t *)s, strlen(s));
}

/* True when every byte is printable ASCII or tab/newline/return. */
static int
is_text(sl_slice v)
{
    for (size_t i = 0; i < v.n; i++) {
        uint8_t c = v.p[i];
        if ((c < 0x20 || c > 0x7e) && c != '\t' && c != '\n' && c != '\r')
            return 0;
    }
    return 1;
}

static void
put_hex(FILE *f, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        fputc(digits[p[i] >> 4], f);
        fputc(digits[p[i] & 15], f);
    }
}

/* Text-mode quoting: the C escapes a reader expects, nothing else. */
static void
put_quoted(FILE *f, const uint8_t *p, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        switch (p[i]) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            fputc(p[i], f);
        }
    }
    fputc('"', f);
}

/* Bytes of v to show under the output's limit. */
static size_t
shown_len(const dump_out *o, sl_slice v)
{
    return o->limit && v.n > o->limit ? o->limit : v.n;
}

/* A key/value in text mode: "text", hex:..., or null. */
static void
text_value(dump_out *o, int is_null, sl_slice v)
{
    size_t n = shown_len(o, v);

    if (is_null) {
        fputs("null", o->f);
        return;
    }
    if (is_text(v)) {
        put_quoted(o->f, v.p, n);
    } else {
        fputs("hex:", o->f);
        put_hex(o->f, v.p, n);
    }
    if (n < v.n)
        fprintf(o->f, "...[len=%zu]", v.n);
}

/* A key/value in JSON: "name":..., "name_hex":bool and, when cut short,
 * "name_truncated":true, "name_len":N. */
static void
json_value(dump_out *o, const char *name, int is_null, sl_slice v)
{
    size_t n = shown_len(o, v);
    int text = is_null || is_text(v);

    fprintf(o->f, "\"%s\":", name);
    if (is_null) {
        fputs("null", o->f);
    } else if (text) {
        json_bytes(o->f, v.p, n);
    } else {
        fputc('"', o->f);
        put_hex(o->f, v.p, n);
        fputc('"', o->f);
    }
    fprintf(o->f, ",\"%s_hex\":%s", name, text ? "false" : "true");
    if (n < v.n)
        fprintf(o->f, ",\"%s_truncated\":true,\"%s_len\":%zu", name, name, v.n);
}

static void
json_head(dump_out *o, const char *type, const char *path)
{
    fprintf(o->f, "{\"type\":\"%s\",\"file\":", type);
    dump_out_json_str(o->f, path);
}

static const char *
yes_no(int v)
{
    return v ? "yes" : "no";
}

static const char *
json_bool(int v)
{
    return v ? "true" : "false";
}

void
dump_out_segment_begin(dump_out *o, const char *path, int has_base,
                       int64_t base, size_t size)
{
    if (o->json) {
        json_head(o, "segment", path);
        if (has_base)
            fprintf(o->f, ",\"base_offset\":%" PRId64, base);
        else
            fputs(",\"base_offset\":null", o->f);
        fprintf(o->f, ",\"size\":%zu}\n", size);
        return;
    }
    fprintf(o->f, "segment %s", path);
    if (has_base)
        fprintf(o->f, " base=%" PRId64, base);
    else
        fputs(" base=?", o->f);
    fprintf(o->f, " size=%zu\n", size);
}

static const char *
tail_name(int end_kind)
{
    switch (end_kind) {
    case DUMP_END_ZERO:
        return "zero";
    case DUMP_END_GARBAGE:
        return "garbage";
    default:
        return "none";
    }
}

void
dump_out_segment_end(dump_out *o, const char *path, const dump_seg *s)
{
    size_t tail = s->data.n - s->end;

    if (o->json) {
        json_head(o, "segment_end", path);
        fprintf(o->f,
                ",\"batches\":%" PRIu64 ",\"records\":%" PRIu64
                ",\"end\":%zu,\"data_end\":%zu,\"next_offset\":%" PRId64
                ",\"tail\":\"%s\",\"tail_bytes\":%zu}\n",
                s->batches, s->records, s->end, s->data_end, s->next,
                tail_name(s->end_kind), tail);
        return;
    }
    fprintf(o->f,
            "end batches=%" PRIu64 " records=%" PRIu64 " end=%zu "
            "next_offset=%" PRId64 " tail=%s tail_bytes=%zu\n",
            s->batches, s->records, s->end, s->next, tail_name(s->end_kind),
            tail);
}

void
dump_out_batch(dump_out *o, const char *path, const dump_batch *b)
{
    const sl_batch_hdr *h = &b->h;
    const char *ts_type = (h->attributes & SL_BATCH_ATTR_LOG_APPEND_TIME)
                              ? "LogAppendTime"
                              : "CreateTime";
    const char *codec = sl_compression_name(sl_batch_compression(h));
    int txn = (h->attributes & SL_BATCH_ATTR_TRANSACTIONAL) != 0;
    int ctrl = (h->attributes & SL_BATCH_ATTR_CONTROL) != 0;
    int crc_ok = !(b->problems & DUMP_BATCH_CRC);

    if (o->json) {
        json_head(o, "batch", path);
        fprintf(o->f,
                ",\"base_offset\":%" PRId64 ",\"last_offset\":%" PRId64
                ",\"record_count\":%" PRId32 ",\"first_timestamp\":%" PRId64
                ",\"max_timestamp\":%" PRId64 ",\"timestamp_type\":\"%s\""
                ",\"position\":%zu,\"size\":%zu,\"codec\":\"%s\""
                ",\"producer_id\":%" PRId64 ",\"producer_epoch\":%d"
                ",\"base_sequence\":%" PRId32 ",\"leader_epoch\":%" PRId32
                ",\"transactional\":%s,\"control\":%s,\"crc\":\"%s\""
                ",\"stored_crc\":\"0x%08" PRIx32 "\",\"valid\":%s}\n",
                h->base_offset, b->last, h->record_count, h->base_timestamp,
                h->max_timestamp, ts_type, b->pos, b->bytes.n, codec,
                h->producer_id, (int)h->producer_epoch, h->base_sequence,
                h->leader_epoch, json_bool(txn), json_bool(ctrl),
                crc_ok ? "ok" : "BAD", h->crc, json_bool(b->problems == 0));
        return;
    }
    fprintf(o->f,
            "batch base=%" PRId64 " last=%" PRId64 " count=%" PRId32
            " first_ts=%" PRId64 " max_ts=%" PRId64 " ts_type=%s pos=%zu"
            " size=%zu codec=%s producer_id=%" PRId64 " producer_epoch=%d"
            " base_seq=%" PRId32 " txn=%s control=%s crc=%s\n",
            h->base_offset, b->last, h->record_count, h->base_timestamp,
            h->max_timestamp, ts_type, b->pos, b->bytes.n, codec,
            h->producer_id, (int)h->producer_epoch, h->base_sequence,
            yes_no(txn), yes_no(ctrl), crc_ok ? "ok" : "BAD");
}

/* Kafka control records carry (int16 version, int16 type) as their key. */
static const char *
control_type(const sl_record *r)
{
    if (r->key_null || r->key.n != 4)
        return "unknown";
    switch (sl_get_u16be(r->key.p + 2)) {
    case 0:
        return "abort";
    case 1:
        return "commit";
    default:
        return "unknown";
    }
}

static void
record_text(dump_out *o, const dump_batch *b, const sl_record *r)
{
    sl_rd hr;

    fprintf(o->f, "  record offset=%" PRId64 " ts=%" PRId64 " key=",
            dump_record_offset(&b->h, r), dump_record_timestamp(&b->h, r));
    text_value(o, r->key_null, r->key);
    fputs(" value=", o->f);
    text_value(o, r->value_null, r->value);
    fputs(" headers={", o->f);
    sl_rd_init(&hr, r->headers);
    for (int32_t i = 0; i < r->header_count; i++) {
        sl_record_header h;
        if (sl_record_header_next(&hr, &h) != 0)
            break;
        if (i > 0)
            fputc(',', o->f);
        text_value(o, 0, h.key);
        fputc(':', o->f);
        text_value(o, h.value_null, h.value);
    }
    fputc('}', o->f);
    if (b->h.attributes & SL_BATCH_ATTR_CONTROL)
        fprintf(o->f, " control_type=%s", control_type(r));
    fputc('\n', o->f);
}

static void
record_json(dump_out *o, const char *path, const dump_batch *b,
            const sl_record *r)
{
    sl_rd hr;

    json_head(o, "record", path);
    fprintf(o->f, ",\"offset\":%" PRId64 ",\"timestamp\":%" PRId64 ",",
            dump_record_offset(&b->h, r), dump_record_timestamp(&b->h, r));
    json_value(o, "key", r->key_null, r->key);
    fputc(',', o->f);
    json_value(o, "value", r->value_null, r->value);
    fputs(",\"headers\":[", o->f);
    sl_rd_init(&hr, r->headers);
    for (int32_t i = 0; i < r->header_count; i++) {
        sl_record_header h;
        if (sl_record_header_next(&hr, &h) != 0)
            break;
        fputs(i > 0 ? ",{" : "{", o->f);
        json_value(o, "key", 0, h.key);
        fputc(',', o->f);
        json_value(o, "value", h.value_null, h.value);
        fputc('}', o->f);
    }
    fputc(']', o->f);
    if (b->h.attributes & SL_BATCH_ATTR_CONTROL)
        fprintf(o->f, ",\"control_type\":\"%s\"", control_type(r));
    fputs("}\n", o->f);
}

void
dump_out_records(dump_out *o, const char *path, const dump_batch *b)
{
    int codec = sl_batch_compression(&b->h);
    sl_rd r;

    if (codec != SL_COMPRESSION_NONE) {
        if (o->json) {
            json_head(o, "records_compressed", path);
            fprintf(o->f, ",\"base_offset\":%" PRId64 ",\"codec\":\"%s\"}\n",
                    b->h.base_offset, sl_compression_name(codec));
        } else {
            fprintf(o->f, "  records compressed with %s, not decoded\n",
                    sl_compression_name(codec));
        }
        return;
    }
    sl_rd_init(&r, sl_batch_records(b->bytes));
    for (int32_t i = 0; i < b->h.record_count; i++) {
        sl_record rec;
        if (sl_record_next(&r, &rec) != 0)
            return;
        if (o->json)
            record_json(o, path, b, &rec);
        else
            record_text(o, b, &rec);
    }
}

static const char *
digest_state(uint64_t stored, uint64_t calc)
{
    return stored == calc ? "ok" : "BAD";
}

void
dump_out_index(dump_out *o, const char *path, const dump_index *ix)
{
    const char *kind = ix->kind == DUMP_INDEX_OFFSET ? "offset" : "time";
    char magic[9];

    if (!ix->has_header) {
        if (o->json) {
            json_head(o, "index", path);
            fprintf(o->f, ",\"kind\":\"%s\",\"size\":%zu,\"header\":null}\n",
                    kind, ix->file.n);
        } else {
            fprintf(o->f, "index %s kind=%s size=%zu header=none\n", path, kind,
                    ix->file.n);
        }
        return;
    }
    /* Show the magic as text only when it is printable. */
    if (is_text(sl_slice_make(ix->magic, 4)) &&
        memchr(ix->magic, '\n', 4) == NULL &&
        memchr(ix->magic, '\r', 4) == NULL &&
        memchr(ix->magic, '\t', 4) == NULL &&
        memchr(ix->magic, '"', 4) == NULL &&
        memchr(ix->magic, '\\', 4) == NULL) {
        memcpy(magic, ix->magic, 4);
        magic[4] = '\0';
    } else {
        snprintf(magic, sizeof(magic), "%08" PRIx32,
                 sl_get_u32be((const uint8_t *)ix->magic));
    }
    const char *hdr = digest_state(ix->header_xxh3, ix->header_xxh3_calc);
    const char *ent =
        ix->ok_entries ? digest_state(ix->entries_xxh3, ix->entries_xxh3_calc)
                       : "unchecked";
    if (o->json) {
        json_head(o, "index", path);
        fprintf(o->f,
                ",\"kind\":\"%s\",\"size\":%zu,\"magic\":\"%s\""
                ",\"version\":%u,\"flags\":%u,\"sealed\":%s"
                ",\"base_offset\":%" PRId64 ",\"covered_bytes\":%" PRIu64
                ",\"next_offset\":%" PRId64 ",\"max_timestamp\":%" PRId64
                ",\"entries\":%" PRIu32 ",\"entry_size\":%" PRIu32
                ",\"header_digest\":\"%s\",\"entries_digest\":\"%s\"}\n",
                kind, ix->file.n, magic, ix->version, ix->flags,
                json_bool(ix->flags & DUMP_INDEX_SEALED), ix->base, ix->covered,
                ix->next, ix->max_ts, ix->count, ix->entry_size, hdr, ent);
    } else {
        fprintf(o->f,
                "index %s kind=%s size=%zu magic=%s version=%u flags=0x%04x "
                "sealed=%s base=%" PRId64 " covered=%" PRIu64
                " next_offset=%" PRId64 " max_ts=%" PRId64 " entries=%" PRIu32
                " entry_size=%" PRIu32 " header_xxh3=%s entries_xxh3=%s\n",
                path, kind, ix->file.n, magic, ix->version, ix->flags,
                yes_no(ix->flags & DUMP_INDEX_SEALED), ix->base, ix->covered,
                ix->next, ix->max_ts, ix->count, ix->entry_size, hdr, ent);
    }
    if (!ix->ok_entries)
        return;
    for (uint32_t i = 0; i < ix->count; i++) {
        dump_index_entry e = dump_index_get(ix, i);
        int64_t abs = (int64_t)((uint64_t)ix->base + e.rel);
        if (o->json) {
            json_head(o, "index_entry", path);
            fprintf(o->f,
                    ",\"entry\":%" PRIu32 ",\"relative_offset\":%" PRIu32
                    ",\"offset\":%" PRId64,
                    i, e.rel, abs);
            if (ix->kind == DUMP_INDEX_OFFSET)
                fprintf(o->f, ",\"position\":%" PRIu32 "}\n", e.pos);
            else
                fprintf(o->f, ",\"timestamp\":%" PRId64 "}\n", e.timestamp);
        } else if (ix->kind == DUMP_INDEX_OFFSET) {
            fprintf(o->f,
                    "  entry %" PRIu32 " offset=%" PRId64 " rel=%" PRIu32
                    " pos=%" PRIu32 "\n",
                    i, abs, e.rel, e.pos);
        } else {
            fprintf(o->f,
                    "  entry %" PRIu32 " ts=%" PRId64 " offset=%" PRId64
                    " rel=%" PRIu32 "\n",
                    i, e.timestamp, abs, e.rel);
        }
    }
}

void
dump_out_problem(dump_out *o, const char *path, int severity, int64_t pos,
                 const char *msg)
{
    if (!o->json)
        return;
    fprintf(o->f, "{\"type\":\"problem\",\"severity\":\"%s\",\"file\":",
            sev_name(severity));
    dump_out_json_str(o->f, path);
    if (pos >= 0)
        fprintf(o->f, ",\"position\":%" PRId64 ",\"message\":", pos);
    else
        fputs(",\"position\":null,\"message\":", o->f);
    dump_out_json_str(o->f, msg);
    fputs("}\n", o->f);
}

void
dump_out_summary(dump_out *o, const dump_stats *st, const char *status)
{
    if (o->json) {
        fprintf(o->f,
                "{\"type\":\"summary\",\"files\":%" PRIu64
                ",\"segments\":%" PRIu64 ",\"indexes\":%" PRIu64
                ",\"batches\":%" PRIu64 ",\"records\":%" PRIu64
                ",\"corrupt\":%" PRIu64 ",\"warnings\":%" PRIu64
                ",\"errors\":%" PRIu64 ",\"status\":\"%s\"}\n",
                st->files, st->segments, st->indexes, st->batches, st->records,
                st->corrupt, st->warnings, st->errors, status);
        return;
    }
    fprintf(o->f,
            "summary files=%" PRIu64 " segments=%" PRIu64 " indexes=%" PRIu64
            " batches=%" PRIu64 " records=%" PRIu64 " corrupt=%" PRIu64
            " warnings=%" PRIu64 " errors=%" PRIu64 " status=%s\n",
            st->files, st->segments, st->indexes, st->batches, st->records,
            st->corrupt, st->warnings, st->errors, status);
}
