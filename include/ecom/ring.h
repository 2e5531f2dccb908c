/*
 * ring.h - a bounded queue of fixed-size slots between one producing and one consuming thread.
 *
 * The generator simulates sessions on its main thread and publishes them on another: the
 * producer fills a slot in place, pushes it, and the consumer reads it in place, in the order
 * pushed, then releases it for reuse. Nothing is copied, and the ring's memory is all the
 * buffering there is between the two threads.
 *
 * A side that has to wait (the producer on a full ring, the consumer on an empty one) is woken
 * only once the other side has moved half the ring, or has closed or stopped it: under a steady
 * flow each thread sleeps and wakes once per half ring, not once per slot, and the thread that
 * was woken finds half a ring of work (or of room) waiting. The price is latency: a slot pushed
 * to a sleeping consumer may wait for half a ring's worth behind it, so the ring suits bulk
 * work, not paced traffic.
 */
#ifndef ECOM_RING_H
#define ECOM_RING_H

#include <stddef.h>

typedef struct ecom_ring ecom_ring;

/* A ring of `slots` slots of `slot_size` bytes each, zeroed. */
ecom_ring *ecom_ring_new(int slots, size_t slot_size);
/* Frees the ring; neither thread may use it any more. */
void ecom_ring_free(ecom_ring *r);

/* Producer: the slot to fill next (the same one until it is pushed), waiting while the ring is
 * full; NULL once the consumer has stopped. */
void *ecom_ring_claim(ecom_ring *r);
/* Producer: hands the claimed slot to the consumer. */
void ecom_ring_push(ecom_ring *r);
/* Producer: nothing more will be pushed; the consumer sees the end after the last slot. */
void ecom_ring_close(ecom_ring *r);

/* Consumer: the oldest pushed slot, waiting for one; NULL at the end (closed, and every slot
 * pushed before was released). */
void *ecom_ring_next(ecom_ring *r);
/* Consumer: gives the slot ecom_ring_next returned back to the producer. */
void ecom_ring_release(ecom_ring *r);
/* Consumer: takes no more slots; the producer's claims return NULL from now on. */
void ecom_ring_stop(ecom_ring *r);

#endif
