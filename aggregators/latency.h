/*
 * latency.h - produce-to-Redis latency of the aggregator, as millisecond histograms.
 *
 * Every message carries the time its producer handed it to Kafka (CreateTime); once its batch is
 * applied in Redis the difference is its end-to-end latency. One histogram covers the whole run
 * (the final log line, the benchmark) and one the recent window (the pipeline gauges the
 * dashboard shows). 1 ms buckets up to a minute, one overflow bucket beyond.
 */
#ifndef ECOM_AGG_LATENCY_H
#define ECOM_AGG_LATENCY_H

#include <stdint.h>

#define LATENCY_BUCKETS 60001 /* 0..59,999 ms, then 60 s and more */

typedef struct latency_histogram {
    int64_t count;
    int64_t buckets[LATENCY_BUCKETS];
} latency_histogram;

void latency_reset(latency_histogram *h);
void latency_add(latency_histogram *h, int64_t ms);
/* The q-quantile (0 < q <= 1) in ms; 0 when empty. */
int64_t latency_quantile(const latency_histogram *h, double q);

#endif
