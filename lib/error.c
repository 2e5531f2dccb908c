/*
 * error.c - filling in ecom_error; see error.h for the convention.
 */
#include "ecom/error.h"

#include <stdio.h>
#include <string.h>

int ecom_fail(ecom_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int ecom_fail_prefix(ecom_error *err, const char *fmt, ...)
{
    if (err) {
        char joined[2 * ECOM_ERROR_MAX + 2];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(joined, ECOM_ERROR_MAX, fmt, ap);
        va_end(ap);
        if (n < 0)
            n = 0;
        if (n >= ECOM_ERROR_MAX)
            n = ECOM_ERROR_MAX - 1;
        joined[n++] = ':';
        joined[n++] = ' ';
        memcpy(joined + n, err->msg, strnlen(err->msg, ECOM_ERROR_MAX - 1) + 1);
        memcpy(err->msg, joined, ECOM_ERROR_MAX - 1);
        err->msg[ECOM_ERROR_MAX - 1] = '\0';
    }
    return -1;
}
