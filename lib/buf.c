/*
 * buf.c - growable buffers and allocation that cannot return NULL.
 */
#include "ecom/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t n)
{
    fprintf(stderr, "level=error msg=\"out of memory\" bytes=%zu\n", n);
    abort();
}

void *ecom_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *ecom_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *ecom_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *ecom_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = ecom_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

uint64_t ecom_fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void ecom_buf_init(ecom_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void ecom_buf_free(ecom_buf *b)
{
    free(b->data);
    ecom_buf_init(b);
}

void ecom_buf_reset(ecom_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void ecom_buf_reserve(ecom_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->data = ecom_xrealloc(b->data, cap);
    b->cap = cap;
}

void ecom_buf_append(ecom_buf *b, const void *data, size_t len)
{
    ecom_buf_reserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void ecom_buf_puts(ecom_buf *b, const char *s)
{
    ecom_buf_append(b, s, strlen(s));
}

void ecom_buf_append_int(ecom_buf *b, int64_t v)
{
    char tmp[ECOM_INT_TEXT];
    const char *digits = ecom_int_text(v, tmp + sizeof tmp);
    ecom_buf_append(b, digits, (size_t)(tmp + sizeof tmp - digits));
}

void ecom_buf_printf(ecom_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    ecom_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}
