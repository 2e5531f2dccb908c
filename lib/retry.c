/*
 * retry.c - the retry loop (see retry.h). Backoff starts at 200 ms and doubles to 10 s.
 */
#include "ecom/retry.h"

#include <time.h>
#include "ecom/log.h"
#include "ecom/signals.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 10000

void ecom_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int ecom_retry_run(ecom_retry *r, ecom_error *err)
{
    int backoff = BACKOFF_MIN_MS;
    bool failing = false;
    while (r->attempt(r->arg, err)) {
        r->failures++;
        if (!failing && r->on_outage)
            r->on_outage(r->arg, true);
        failing = true;
        if (ecom_stop_requested())
            return -1;
        ecom_log(ECOM_WARN, "unavailable, keeping position and retrying",
                 "what=\"%s\" error=\"%s\" attempt=%lld retry_in_ms=%d", r->what, err->msg,
                 (long long)r->failures, backoff);
        for (int waited = 0; waited < backoff && !ecom_stop_requested(); waited += 100)
            ecom_sleep_ms(100);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    if (failing) {
        ecom_log(ECOM_INFO, "available again", "what=\"%s\" failed_attempts=%lld", r->what,
                 (long long)r->failures);
        if (r->on_outage)
            r->on_outage(r->arg, false);
    }
    return 0;
}
