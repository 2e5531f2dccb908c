/*
 * jsonw.c - the streaming JSON writer (see jsonw.h).
 */
#include "ecom/jsonw.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "ecom/timeutil.h"

void jw_init(jw *w, ecom_buf *out)
{
    w->out = out;
    w->depth = 0;
    w->first[0] = true;
    w->after_key = false;
}

/* Writes the separator a new element needs at the current level. */
static void element(jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth])
        ecom_buf_append(w->out, ",", 1);
    w->first[w->depth] = false;
}

static void open_level(jw *w, char c)
{
    element(w);
    ecom_buf_append(w->out, &c, 1);
    assert(w->depth + 1 < JW_MAX_DEPTH);
    w->first[++w->depth] = true;
}

static void close_level(jw *w, char c)
{
    assert(w->depth > 0);
    w->depth--;
    ecom_buf_append(w->out, &c, 1);
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

static void quoted(ecom_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);
    ecom_buf_reserve(b, n + 2);
    b->data[b->len++] = '"';
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        ecom_buf_append(b, run, (size_t)(p - run));
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t len = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        ecom_buf_append(b, esc, len);
        run = p + 1;
    }
    ecom_buf_append(b, run, strlen(run));
    ecom_buf_append(b, "\"", 1);
}

void jw_key(jw *w, const char *key)
{
    element(w);
    quoted(w->out, key);
    ecom_buf_append(w->out, ":", 1);
    w->after_key = true;
}

void jw_string(jw *w, const char *s)
{
    element(w);
    quoted(w->out, s);
}

void jw_int(jw *w, int64_t v)
{
    element(w);
    ecom_buf_append_int(w->out, v);
}

void jw_real(jw *w, double v)
{
    element(w);
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp - 2, "%.6g", v);
    if (!strpbrk(tmp, ".eE")) {
        tmp[n++] = '.';
        tmp[n++] = '0';
        tmp[n] = '\0';
    }
    ecom_buf_append(w->out, tmp, (size_t)n);
}

void jw_bool(jw *w, bool v)
{
    element(w);
    ecom_buf_puts(w->out, v ? "true" : "false");
}

void jw_null(jw *w)
{
    element(w);
    ecom_buf_append(w->out, "null", 4);
}

void jw_kv_string(jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_string(w, s);
}

void jw_kv_int(jw *w, const char *key, int64_t v)
{
    jw_key(w, key);
    jw_int(w, v);
}

void jw_kv_opt_string(jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    if (*s)
        jw_string(w, s);
    else
        jw_null(w);
}

void jw_kv_time(jw *w, const char *key, int64_t t)
{
    char s[ECOM_TIME_TEXT];
    ecom_time_format(t, s);
    jw_kv_string(w, key, s);
}
