/*
 * publisher.h - a backfill's sessions, published on a thread of their own.
 *
 * Simulation must run in one thread, in time order (sessions share the stock); encoding each
 * record and handing it to librdkafka (or writing the NDJSON line) only needs the session's own
 * records. So the main thread simulates each session straight into a slot of a ring (ring.h),
 * validates its records and goes on with the next, while the publishing thread takes the slots
 * in the same order and publishes their records exactly as the main thread would have: the same
 * messages, keys and order, so the same bytes. librdkafka compresses and sends on its own
 * threads in turn. Validation runs on the main thread, which has time to spare: encoding and
 * queueing a session's messages cost more than simulating it.
 *
 * While a publisher runs, its emitter belongs to the publishing thread; it is the caller's again
 * once gen_publisher_finish returns.
 */
#ifndef ECOM_GEN_PUBLISHER_H
#define ECOM_GEN_PUBLISHER_H

#include <pthread.h>
#include <stdatomic.h>
#include "ecom/error.h"
#include "ecom/ring.h"
#include "emitter.h"
#include "session_sim.h"

typedef struct gen_publisher {
    gen_emitter *out;
    ecom_ring *ring;
    gen_session *filling; /* the slot the main thread was last given */
    pthread_t thread;
    int rc; /* the thread's result, and why it failed: read once it is joined */
    ecom_error err;
    atomic_llong messages, bytes; /* published so far, for the progress line */
} gen_publisher;

/* Starts the publishing thread on `out`. */
int gen_publisher_start(gen_publisher *p, gen_emitter *out, ecom_error *err);
/* The slot to simulate the next session into (the same one until it is submitted), waiting
 * while every slot is taken; NULL once publishing has failed (gen_publisher_finish says why).
 * A slot with no events and a transaction publishes a standalone purchase. */
gen_session *gen_publisher_slot(gen_publisher *p);
/* Validates the slot's records (gen_check, on the calling thread) and hands the slot over: its
 * events, then its transaction if it has one, are published next, and the caller must not touch
 * it any more. A record that does not pass fails here, and the slot is not handed over. */
int gen_publisher_submit(gen_publisher *p, ecom_error *err);
/* Publishes what was submitted, stops the thread and releases the ring; the first error of the
 * publishing thread, if any. The emitter's counts then include everything published. */
int gen_publisher_finish(gen_publisher *p, ecom_error *err);

#endif
