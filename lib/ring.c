/*
 * ring.c - the single-producer, single-consumer ring of slots (see ring.h), on pthreads.
 *
 * Two counters say where each side is: `pushed` slots were handed over so far and `released`
 * were given back, so pushed - released slots are full, the producer fills slot pushed % n and
 * the consumer reads slot released % n. Both change under one mutex, which also makes what a
 * side wrote into a slot visible to the other. A side about to sleep says so (`*_waiting`), and
 * the other signals it only when half the ring has moved since: see ring.h for why.
 */
#include "ecom/ring.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "ecom/buf.h"

struct ecom_ring {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a sleeping side has something to do, or the ring ended */
    char *slots;
    size_t slot_size;
    int64_t n;
    int64_t half; /* slots that move before a sleeping side is woken */
    int64_t pushed, released;
    bool producer_waiting, consumer_waiting;
    bool closed;  /* by the producer: nothing more comes */
    bool stopped; /* by the consumer: nothing more is taken */
};

ecom_ring *ecom_ring_new(int slots, size_t slot_size)
{
    assert(slots > 0 && slot_size > 0);
    ecom_ring *r = ecom_xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
    r->slots = ecom_xcalloc((size_t)slots, slot_size);
    r->slot_size = slot_size;
    r->n = slots;
    r->half = slots / 2 ? slots / 2 : 1;
    return r;
}

void ecom_ring_free(ecom_ring *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->changed);
    free(r->slots);
    free(r);
}

static void *slot(ecom_ring *r, int64_t i)
{
    return r->slots + (size_t)(i % r->n) * r->slot_size;
}

void *ecom_ring_claim(ecom_ring *r)
{
    pthread_mutex_lock(&r->lock);
    while (r->pushed - r->released == r->n && !r->stopped) {
        r->producer_waiting = true;
        pthread_cond_wait(&r->changed, &r->lock);
    }
    r->producer_waiting = false;
    void *s = r->stopped ? NULL : slot(r, r->pushed);
    pthread_mutex_unlock(&r->lock);
    return s;
}

void ecom_ring_push(ecom_ring *r)
{
    pthread_mutex_lock(&r->lock);
    assert(r->pushed - r->released < r->n && !r->closed);
    r->pushed++;
    if (r->consumer_waiting && r->pushed - r->released >= r->half)
        pthread_cond_signal(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

void ecom_ring_close(ecom_ring *r)
{
    pthread_mutex_lock(&r->lock);
    r->closed = true;
    pthread_cond_signal(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

void *ecom_ring_next(ecom_ring *r)
{
    pthread_mutex_lock(&r->lock);
    while (r->pushed == r->released && !r->closed) {
        r->consumer_waiting = true;
        pthread_cond_wait(&r->changed, &r->lock);
    }
    r->consumer_waiting = false;
    void *s = r->pushed == r->released ? NULL : slot(r, r->released);
    pthread_mutex_unlock(&r->lock);
    return s;
}

void ecom_ring_release(ecom_ring *r)
{
    pthread_mutex_lock(&r->lock);
    assert(r->released < r->pushed);
    r->released++;
    if (r->producer_waiting && r->n - (r->pushed - r->released) >= r->half)
        pthread_cond_signal(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

void ecom_ring_stop(ecom_ring *r)
{
    pthread_mutex_lock(&r->lock);
    r->stopped = true;
    pthread_cond_signal(&r->changed);
    pthread_mutex_unlock(&r->lock);
}
