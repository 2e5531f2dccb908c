/*
 * buf.h - a growable byte buffer with an owner.
 *
 * Encoders append into one reused buffer instead of allocating per message; the buffer is always
 * NUL-terminated so its contents can be used as a C string too.
 */
#ifndef ECOM_BUF_H
#define ECOM_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct ecom_buf {
    char *data;
    size_t len;
    size_t cap;
} ecom_buf;

void ecom_buf_init(ecom_buf *b);
void ecom_buf_free(ecom_buf *b);
void ecom_buf_reset(ecom_buf *b);
/* Ensures room for `extra` more bytes plus the terminating NUL. Aborts on out-of-memory, like
 * the other allocators in this project: there is no useful recovery from it here. */
void ecom_buf_reserve(ecom_buf *b, size_t extra);
void ecom_buf_append(ecom_buf *b, const void *data, size_t len);
void ecom_buf_puts(ecom_buf *b, const char *s);
/* v in decimal (what printf's "%lld" gives, without printf's cost). */
void ecom_buf_append_int(ecom_buf *b, int64_t v);

#define ECOM_INT_TEXT 20 /* the longest int64_t in decimal: "-9223372036854775808" */
/* The decimal digits of v, written to end just before `end`; returns where they start. */
static inline char *ecom_int_text(int64_t v, char *end)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--end = '-';
    return end;
}
void ecom_buf_printf(ecom_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 64-bit FNV-1a of len bytes, continuing from h (start with ECOM_FNV_OFFSET): for digests that
 * must be the same in every process, unlike GLib's per-process hashes. */
#define ECOM_FNV_OFFSET 0xcbf29ce484222325ULL
uint64_t ecom_fnv1a(uint64_t h, const void *data, size_t len);

/* malloc/calloc/strdup that abort with a message instead of returning NULL. */
void *ecom_xmalloc(size_t n);
void *ecom_xcalloc(size_t count, size_t size);
void *ecom_xrealloc(void *p, size_t n);
char *ecom_xstrdup(const char *s);

#endif
