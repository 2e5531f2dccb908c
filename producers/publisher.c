/*
 * publisher.c - the publishing thread (see publisher.h).
 *
 * The ring holds a few dozen sessions: enough that neither thread waits on the other for long,
 * few enough to stay a few megabytes (a slot holds the largest session the simulation makes).
 * A record that cannot be published stops the thread: it stops the ring, so the main thread's
 * next slot request returns NULL, and the error comes out of gen_publisher_finish.
 */
#include "publisher.h"

#include <string.h>

#define PUBLISHER_SLOTS 64

/* One slot's records, in the order the main thread would have sent them. */
static int publish_slot(gen_emitter *out, const gen_session *s, ecom_error *err)
{
    if (gen_publish_run(out, ECOM_KIND_SESSION_EVENT, s->events, sizeof s->events[0], s->n_events,
                        err))
        return -1;
    if (s->has_transaction)
        return gen_publish(out, ECOM_KIND_TRANSACTION, &s->transaction, err);
    return 0;
}

static void *publishing_thread(void *arg)
{
    gen_publisher *p = arg;
    const gen_session *s;
    while ((s = ecom_ring_next(p->ring))) {
        p->rc = publish_slot(p->out, s, &p->err);
        ecom_ring_release(p->ring);
        if (p->rc) {
            ecom_ring_stop(p->ring);
            break;
        }
        atomic_store_explicit(&p->messages, gen_emitter_total(p->out), memory_order_relaxed);
        atomic_store_explicit(&p->bytes, p->out->bytes, memory_order_relaxed);
    }
    return NULL;
}

int gen_publisher_start(gen_publisher *p, gen_emitter *out, ecom_error *err)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->ring = ecom_ring_new(PUBLISHER_SLOTS, sizeof(gen_session));
    atomic_init(&p->messages, gen_emitter_total(out));
    atomic_init(&p->bytes, out->bytes);
    int e = pthread_create(&p->thread, NULL, publishing_thread, p);
    if (e) {
        ecom_ring_free(p->ring);
        p->ring = NULL;
        return ecom_fail(err, "cannot start the publishing thread: %s", strerror(e));
    }
    return 0;
}

gen_session *gen_publisher_slot(gen_publisher *p)
{
    return p->filling = ecom_ring_claim(p->ring);
}

int gen_publisher_submit(gen_publisher *p, ecom_error *err)
{
    const gen_session *s = p->filling;
    for (int e = 0; e < s->n_events; e++)
        if (gen_check(ECOM_KIND_SESSION_EVENT, &s->events[e], err))
            return -1;
    if (s->has_transaction && gen_check(ECOM_KIND_TRANSACTION, &s->transaction, err))
        return -1;
    ecom_ring_push(p->ring);
    return 0;
}

int gen_publisher_finish(gen_publisher *p, ecom_error *err)
{
    ecom_ring_close(p->ring);
    pthread_join(p->thread, NULL);
    ecom_ring_free(p->ring);
    p->ring = NULL;
    if (p->rc)
        *err = p->err;
    return p->rc;
}
