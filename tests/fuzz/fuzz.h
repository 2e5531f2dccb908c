/*
 * fuzz.h - what every harness in tests/fuzz checks besides memory safety (ASan, UBSan): a
 * broken property is reported with the input's story and aborts, which libFuzzer records as a
 * crash with the input that caused it.
 */
#ifndef ECOM_FUZZ_H
#define ECOM_FUZZ_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ecom/escape.h"

static inline void fuzz_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static inline void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz property broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* Printable UTF-8 is exactly what the printable-only escaper leaves unchanged. Error texts go
 * to logs, headers and HTTP bodies: they must be. */
static inline void fuzz_check_printable(const char *what, const char *text)
{
    char out[4 * 1024 + 1];
    size_t len = strlen(text);
    if (len > 1024)
        fuzz_fail("%s is %zu bytes long", what, len);
    ecom_escape_append(out, sizeof out, 0, text, len, NULL);
    if (strcmp(out, text) != 0)
        fuzz_fail("%s is not printable UTF-8: %s", what, out);
}

/* The input as a C string: its bytes up to the first NUL, as a caller holding it would see. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
