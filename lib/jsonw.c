/*
 * jsonw.c - the streaming JSON writer (see jsonw.h).
 *
 * Each call reserves room once and writes its bytes straight into the buffer: a field's comma,
 * name, colon and value together, a number or a timestamp in place. Almost no text needs
 * escaping (field names, ids, enumerated words, formatted times), so a string is measured up to
 * its first byte that would need an escape and copied whole; only a string that holds a quote,
 * a backslash or a control character goes on through the escaping loop.
 */
#include "ecom/jsonw.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "ecom/timeutil.h"


/* A byte a JSON string holds as it is: anything but the quote, the backslash, the controls below
 * 0x20 and the NUL that ends the C string. */
static inline bool plain(unsigned char c)
{
    return c >= 0x20 && c != '"' && c != '\\';
}

/* The bytes of s before the first one that is not plain. */
static inline size_t plain_length(const char *s)
{
    size_t n = 0;
    while (plain((unsigned char)s[n]))
        n++;
    return n;
}

/* Room for n more bytes (and the terminating NUL) at the end of b. */
static inline char *room(ecom_buf *b, size_t n)
{
    if (b->len + n + 1 > b->cap)
        ecom_buf_reserve(b, n);
    return b->data + b->len;
}

/* Ends a write of n bytes into what room() gave: the buffer stays NUL-terminated. */
static inline void wrote(ecom_buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

/* Room for an element of at most n bytes, with the comma it needs (if any) written; *used is
 * where the element starts. */
static inline char *element(jw *w, size_t n, size_t *used)
{
    bool comma = false;
    if (w->after_key)
        w->after_key = false;
    else if (w->first[w->depth])
        w->first[w->depth] = false;
    else
        comma = true;
    char *p = room(w->out, n + comma);
    if (comma)
        *p = ',';
    *used = comma;
    return p;
}

/* A field's comma, "name": and room for a value of at most n bytes after it. */
static inline char *field(jw *w, const char *name, size_t name_len, size_t n, size_t *used)
{
    char *p = element(w, name_len + 3 + n, used);
    p[(*used)++] = '"';
    memcpy(p + *used, name, name_len);
    *used += name_len;
    p[(*used)++] = '"';
    p[(*used)++] = ':';
    return p;
}

/* The escaped rest of a string from its first byte that is not plain, and the closing quote. */
static void escaped_tail(ecom_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    while (*s) {
        size_t run = plain_length(s);
        if (run) {
            memcpy(room(b, run), s, run);
            wrote(b, run);
            s += run;
            continue;
        }
        unsigned char c = (unsigned char)*s++;
        char *p = room(b, 6);
        p[0] = '\\';
        size_t len = 2;
        switch (c) {
        case '"':
            p[1] = '"';
            break;
        case '\\':
            p[1] = '\\';
            break;
        case '\n':
            p[1] = 'n';
            break;
        case '\r':
            p[1] = 'r';
            break;
        case '\t':
            p[1] = 't';
            break;
        case '\b':
            p[1] = 'b';
            break;
        case '\f':
            p[1] = 'f';
            break;
        default:
            memcpy(p + 1, "u00", 3);
            p[4] = hex[c >> 4];
            p[5] = hex[c & 15];
            len = 6;
        }
        wrote(b, len);
    }
    *room(b, 1) = '"';
    wrote(b, 1);
}

/* Writes s quoted at p + used, where room() left space for its first `plain` bytes and two
 * quotes, and ends the write. */
static inline void string_at(ecom_buf *b, char *p, size_t used, const char *s, size_t plain)
{
    p[used++] = '"';
    memcpy(p + used, s, plain);
    used += plain;
    if (s[plain]) { /* a byte to escape: the slow way from there */
        wrote(b, used);
        escaped_tail(b, s + plain);
        return;
    }
    p[used++] = '"';
    wrote(b, used);
}

void jw_init(jw *w, ecom_buf *out)
{
    w->out = out;
    w->depth = 0;
    w->first[0] = true;
    w->after_key = false;
}

static void open_level(jw *w, char c)
{
    size_t used;
    char *p = element(w, 1, &used);
    p[used] = c;
    wrote(w->out, used + 1);
    assert(w->depth + 1 < JW_MAX_DEPTH);
    w->first[++w->depth] = true;
}

static void close_level(jw *w, char c)
{
    assert(w->depth > 0);
    w->depth--;
    *room(w->out, 1) = c;
    wrote(w->out, 1);
}

void jw_begin_object(jw *w)
{
    open_level(w, '{');
}

void jw_end_object(jw *w)
{
    close_level(w, '}');
}

void jw_begin_array(jw *w)
{
    open_level(w, '[');
}

void jw_end_array(jw *w)
{
    close_level(w, ']');
}

void jw_key(jw *w, const char *key)
{
    jw_string(w, key);
    *room(w->out, 1) = ':';
    wrote(w->out, 1);
    w->after_key = true;
}

void jw_string(jw *w, const char *s)
{
    size_t n = plain_length(s), used;
    char *p = element(w, n + 2, &used);
    string_at(w->out, p, used, s, n);
}

void jw_int(jw *w, int64_t v)
{
    char tmp[ECOM_INT_TEXT];
    char *digits = ecom_int_text(v, tmp + sizeof tmp);
    size_t n = (size_t)(tmp + sizeof tmp - digits), used;
    char *p = element(w, n, &used);
    memcpy(p + used, digits, n);
    wrote(w->out, used + n);
}

void jw_real(jw *w, double v)
{
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp - 2, "%.6g", v);
    if (!strpbrk(tmp, ".eE")) {
        tmp[n++] = '.';
        tmp[n++] = '0';
        tmp[n] = '\0';
    }
    size_t used;
    char *p = element(w, (size_t)n, &used);
    memcpy(p + used, tmp, (size_t)n);
    wrote(w->out, used + (size_t)n);
}

void jw_bool(jw *w, bool v)
{
    size_t n = v ? 4 : 5, used;
    char *p = element(w, n, &used);
    memcpy(p + used, v ? "true" : "false", n);
    wrote(w->out, used + n);
}

void jw_null(jw *w)
{
    size_t used;
    char *p = element(w, 4, &used);
    memcpy(p + used, "null", 4);
    wrote(w->out, used + 4);
}

void jw_field_string(jw *w, const char *name, size_t n, const char *s)
{
    size_t len = plain_length(s), used;
    char *p = field(w, name, n, len + 2, &used);
    string_at(w->out, p, used, s, len);
}

void jw_field_int(jw *w, const char *name, size_t n, int64_t v)
{
    char tmp[ECOM_INT_TEXT];
    char *digits = ecom_int_text(v, tmp + sizeof tmp);
    size_t len = (size_t)(tmp + sizeof tmp - digits), used;
    char *p = field(w, name, n, len, &used);
    memcpy(p + used, digits, len);
    wrote(w->out, used + len);
}

void jw_field_opt_string(jw *w, const char *name, size_t n, const char *s)
{
    if (*s) {
        jw_field_string(w, name, n, s);
        return;
    }
    size_t used;
    char *p = field(w, name, n, 4, &used);
    memcpy(p + used, "null", 4);
    wrote(w->out, used + 4);
}

void jw_field_time(jw *w, const char *name, size_t n, int64_t t)
{
    size_t used;
    char *p = field(w, name, n, ECOM_TIME_TEXT + 1, &used);
    p[used] = '"';
    ecom_time_format(t, p + used + 1); /* 20 characters and a NUL, which the quote replaces */
    p[used + ECOM_TIME_TEXT] = '"';
    wrote(w->out, used + ECOM_TIME_TEXT + 1);
}
