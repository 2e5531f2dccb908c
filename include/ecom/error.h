/*
 * error.h - the one error type every fallible function in lib/ fills in.
 *
 * Functions return 0 on success and -1 on failure, writing a human sentence into an ecom_error
 * the caller owns. The sentence names the input and what is wrong with it ("field
 * 'items[2].quantity': must be an integer 1..1000, got -3") so it can go straight to a log line,
 * a dead-letter header or a usage message. Only main() turns errors into exit codes.
 */
#ifndef ECOM_ERROR_H
#define ECOM_ERROR_H

#include <stdarg.h>

#define ECOM_ERROR_MAX 512

typedef struct ecom_error {
    char msg[ECOM_ERROR_MAX];
} ecom_error;

/* Formats msg into err (when err is non-NULL) and returns -1, so `return ecom_fail(...)` reads
 * naturally at every error site. */
int ecom_fail(ecom_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to an existing message, keeping the original reason. */
int ecom_fail_prefix(ecom_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
