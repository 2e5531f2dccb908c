/*
 * live.h - the dashboard's current metrics, kept fresh by three threads.
 *
 * One thread subscribes to the aggregator's change notices (Redis pub/sub, counters.h); one
 * samples Kafka's pipeline figures every LIVE_PIPELINE_MS; a third re-reads the snapshot when a
 * notice or a new sample arrived (at most every LIVE_MIN_INTERVAL_MS), merges both into the JSON
 * of /api/metrics.json and publishes it as a new version when it changed. HTTP threads read the
 * latest version, or wait for a newer one (server-sent events).
 */
#ifndef ECOM_DASHBOARD_LIVE_H
#define ECOM_DASHBOARD_LIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "ecom/config.h"
#include "ecom/error.h"

#define LIVE_MIN_INTERVAL_MS 100 /* between two snapshot reads */
#define LIVE_PIPELINE_MS 2000    /* between two Kafka samples (and pushes, if anything moved) */

typedef struct live live;

/* Starts the threads. groups: the consumer groups whose lag is shown (comma-separated). */
live *live_start(const ecom_config *cfg, const char *groups, ecom_error *err);
/* Wakes every waiter and tells readers to finish (live_stopping); the state stays valid. */
void live_request_stop(live *l);
/* Stops the threads and frees everything (after the last reader is gone). */
void live_stop(live *l);

/* The latest metrics: a new reference to the JSON (NULL while there is none: *why says why)
 * and its version. Waits up to timeout_ms for a version newer than `after` (0: no wait). */
json_t *live_latest(live *l, int64_t after, int timeout_ms, int64_t *version, char *why,
                    size_t why_size);

/* Health of the last refresh: whether Redis and Kafka answered (with the error if not). */
void live_health(live *l, bool *redis_ok, bool *kafka_ok, char *error, size_t error_size);

bool live_stopping(live *l);

#endif
