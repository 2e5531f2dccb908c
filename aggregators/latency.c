/*
 * latency.c - millisecond histograms (see latency.h).
 */
#include "latency.h"

#include <string.h>

void latency_reset(latency_histogram *h)
{
    memset(h, 0, sizeof *h);
}

void latency_add(latency_histogram *h, int64_t ms)
{
    if (ms < 0)
        ms = 0; /* clocks of producer and aggregator hosts disagree by a little */
    h->buckets[ms < LATENCY_BUCKETS - 1 ? ms : LATENCY_BUCKETS - 1]++;
    h->count++;
}

int64_t latency_quantile(const latency_histogram *h, double q)
{
    if (h->count == 0)
        return 0;
    int64_t rank = (int64_t)(q * (double)h->count + 0.999999);
    if (rank < 1)
        rank = 1;
    int64_t seen = 0;
    for (int64_t ms = 0; ms < LATENCY_BUCKETS; ms++) {
        seen += h->buckets[ms];
        if (seen >= rank)
            return ms;
    }
    return LATENCY_BUCKETS - 1;
}
