/*
 * retry.h - the one retry loop: try, back off exponentially (capped), say so in the log, stop
 * when asked to.
 *
 * Used wherever a store may be down for a while (a batch write, creating a table or indexes at
 * start-up): the caller keeps its place and loses nothing, and an operator sees one log line
 * per attempt with the reason and the next delay.
 */
#ifndef ECOM_RETRY_H
#define ECOM_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include "ecom/error.h"

typedef struct ecom_retry {
    const char *what; /* "write batch to MongoDB", for the log */
    int (*attempt)(void *arg, ecom_error *err);
    void *arg;
    void (*on_outage)(void *arg, bool begins); /* optional: called when failing starts / ends */
    int64_t failures;                          /* out: failed attempts */
} ecom_retry;

/* Runs attempt() until it succeeds (0) or a stop is requested while it fails (-1, err holds the
 * last failure). */
int ecom_retry_run(ecom_retry *r, ecom_error *err);

void ecom_sleep_ms(int ms);

#endif
