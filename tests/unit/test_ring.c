/*
 * test_ring.c - the ring of slots between two threads (lib/ring.c), as the generator hands
 * simulated sessions to its publishing thread.
 *
 * Every slot pushed arrives once, in order, with what the producer wrote into it, whatever the
 * two threads' speeds; a claim stays on its slot until pushed; closing lets the consumer drain
 * what was pushed and then see the end; stopping releases a producer that waits on a full ring
 * and refuses its later claims; a sleeping consumer is woken once half the ring is full, without
 * waiting for the close; a ring of one slot works too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "ecom/retry.h"
#include "ecom/ring.h"

typedef struct item {
    int64_t seq;
    char text[32];
} item;

typedef struct feed {
    ecom_ring *ring;
    int64_t count;   /* items to push, then close */
    int pause_every; /* sleep a millisecond every so many items (0: never) */
    atomic_llong pushed;
    atomic_bool refused; /* a claim returned NULL */
} feed;

static void *producer(void *arg)
{
    feed *f = arg;
    for (int64_t i = 0; i < f->count; i++) {
        item *it = ecom_ring_claim(f->ring);
        if (!it) {
            atomic_store(&f->refused, true);
            return NULL;
        }
        it->seq = i;
        snprintf(it->text, sizeof it->text, "item %lld", (long long)i);
        ecom_ring_push(f->ring);
        atomic_store(&f->pushed, i + 1);
        if (f->pause_every && i % f->pause_every == 0)
            ecom_sleep_ms(1);
    }
    ecom_ring_close(f->ring);
    return NULL;
}

/* Consumes to the end, checking order and contents; returns how many arrived. */
static int64_t drain(ecom_ring *r, int pause_every)
{
    int64_t n = 0;
    const item *it;
    while ((it = ecom_ring_next(r))) {
        assert_int_equal(it->seq, n);
        char want[32];
        snprintf(want, sizeof want, "item %lld", (long long)n);
        assert_string_equal(it->text, want);
        ecom_ring_release(r);
        n++;
        if (pause_every && n % pause_every == 0)
            ecom_sleep_ms(1);
    }
    return n;
}

static void run_feed(int slots, int64_t count, int producer_pause, int consumer_pause)
{
    ecom_ring *r = ecom_ring_new(slots, sizeof(item));
    feed f = {.ring = r, .count = count, .pause_every = producer_pause};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, &f), 0);
    assert_int_equal(drain(r, consumer_pause), count);
    pthread_join(t, NULL);
    assert_false(atomic_load(&f.refused));
    /* the end stays the end */
    assert_null(ecom_ring_next(r));
    ecom_ring_free(r);
}

static void test_every_slot_in_order(void **state)
{
    (void)state;
    run_feed(8, 200000, 0, 0); /* both as fast as they go */
    run_feed(8, 3000, 7, 0);   /* a slow producer: the consumer sleeps on an empty ring */
    run_feed(8, 3000, 0, 5);   /* a slow consumer: the producer sleeps on a full ring */
    run_feed(1, 20000, 0, 0);  /* one slot */
    run_feed(3, 20000, 0, 0);  /* an odd size */
}

static void test_claim_stays_until_pushed(void **state)
{
    (void)state;
    ecom_ring *r = ecom_ring_new(4, sizeof(item));
    item *a = ecom_ring_claim(r);
    assert_ptr_equal(ecom_ring_claim(r), a);
    a->seq = 0;
    snprintf(a->text, sizeof a->text, "item 0");
    ecom_ring_push(r);
    item *b = ecom_ring_claim(r);
    assert_ptr_not_equal(b, a);
    ecom_ring_close(r);
    assert_int_equal(drain(r, 0), 1);
    ecom_ring_free(r);
}

static void test_close_drains_what_was_pushed(void **state)
{
    (void)state;
    ecom_ring *r = ecom_ring_new(4, sizeof(item));
    for (int i = 0; i < 3; i++) {
        item *it = ecom_ring_claim(r);
        it->seq = i;
        snprintf(it->text, sizeof it->text, "item %d", i);
        ecom_ring_push(r);
    }
    ecom_ring_close(r);
    assert_int_equal(drain(r, 0), 3);
    ecom_ring_free(r);
    /* closed while empty: the end at once */
    r = ecom_ring_new(4, sizeof(item));
    ecom_ring_close(r);
    assert_null(ecom_ring_next(r));
    ecom_ring_free(r);
}

static void *stop_later(void *arg)
{
    ecom_sleep_ms(50);
    ecom_ring_stop(arg);
    return NULL;
}

static void test_stop_releases_the_producer(void **state)
{
    (void)state;
    ecom_ring *r = ecom_ring_new(2, sizeof(item));
    for (int i = 0; i < 2; i++) {
        assert_non_null(ecom_ring_claim(r));
        ecom_ring_push(r);
    }
    /* the ring is full: this claim waits until the consumer stops */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_later, r), 0);
    assert_null(ecom_ring_claim(r));
    pthread_join(t, NULL);
    assert_null(ecom_ring_claim(r));
    ecom_ring_free(r);
}

typedef struct counter {
    ecom_ring *ring;
    atomic_int got;
} counter;

static void *count_until_end(void *arg)
{
    counter *c = arg;
    while (ecom_ring_next(c->ring)) {
        ecom_ring_release(c->ring);
        atomic_fetch_add(&c->got, 1);
    }
    return NULL;
}

static void test_half_a_ring_wakes_the_consumer(void **state)
{
    (void)state;
    ecom_ring *r = ecom_ring_new(8, sizeof(item));
    counter c = {.ring = r};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, count_until_end, &c), 0);
    ecom_sleep_ms(20); /* the consumer is asleep on the empty ring */
    for (int i = 0; i < 4; i++) {
        assert_non_null(ecom_ring_claim(r));
        ecom_ring_push(r);
    }
    /* four of eight pushed and nothing closed: the consumer takes them anyway */
    for (int waited = 0; atomic_load(&c.got) < 4 && waited < 5000; waited++)
        ecom_sleep_ms(1);
    assert_int_equal(atomic_load(&c.got), 4);
    ecom_ring_close(r);
    pthread_join(t, NULL);
    assert_int_equal(atomic_load(&c.got), 4);
    ecom_ring_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_slot_in_order),
        cmocka_unit_test(test_claim_stays_until_pushed),
        cmocka_unit_test(test_close_drains_what_was_pushed),
        cmocka_unit_test(test_stop_releases_the_producer),
        cmocka_unit_test(test_half_a_ring_wakes_the_consumer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
