/*
 * test_workers.c - the parallel loop of lib/workers.c, as the consume loop decodes a chunk of
 * messages with it.
 *
 * start and finish call the body exactly once for every index, on any thread, finish returning
 * when all calls have returned; start returns before the job is done, and the workers go on
 * with it while the caller does something else; finish takes part in what is left; one job
 * follows another at once; one thread does it all on the caller.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "ecom/retry.h"
#include "ecom/workers.h"

#define N 5000

typedef struct job {
    atomic_int calls[N];
    atomic_int other_thread; /* calls made on another thread than the caller's */
    atomic_bool hold;        /* the last index waits while set */
    pthread_t caller;
} job;

static void body(void *arg, int i)
{
    job *j = arg;
    if (i == N - 1)
        while (atomic_load(&j->hold))
            ecom_sleep_ms(1);
    atomic_fetch_add(&j->calls[i], 1);
    if (!pthread_equal(pthread_self(), j->caller))
        atomic_fetch_add(&j->other_thread, 1);
}

static void assert_each_once(job *j)
{
    for (int i = 0; i < N; i++)
        assert_int_equal(atomic_load(&j->calls[i]), 1);
}

static job *job_new(void)
{
    job *j = calloc(1, sizeof *j);
    j->caller = pthread_self();
    return j;
}

static void test_every_index_once(void **state)
{
    (void)state;
    ecom_workers *w = ecom_workers_new(3);
    for (int round = 0; round < 20; round++) { /* one job after another */
        job *j = job_new();
        ecom_workers_start(w, N, body, j);
        ecom_workers_finish(w);
        assert_each_once(j);
        free(j);
    }
    ecom_workers_free(w);
}

static void test_start_goes_on_while_the_caller_does_not_wait(void **state)
{
    (void)state;
    ecom_workers *w = ecom_workers_new(2);
    job *j = job_new();
    atomic_store(&j->hold, true);
    ecom_workers_start(w, N, body, j); /* returns although the last index is held */
    int seen = 0;
    for (int tries = 0; tries < 5000 && seen < N - 1; tries++) { /* the worker goes on alone */
        ecom_sleep_ms(1);
        seen = 0;
        for (int i = 0; i < N - 1; i++)
            seen += atomic_load(&j->calls[i]);
    }
    assert_int_equal(seen, N - 1);
    assert_int_equal(atomic_load(&j->other_thread), N - 1);
    assert_int_equal(atomic_load(&j->calls[N - 1]), 0);
    atomic_store(&j->hold, false);
    ecom_workers_finish(w);
    assert_each_once(j);
    free(j);
    ecom_workers_free(w);
}

static void test_one_thread_does_it_all_on_the_caller(void **state)
{
    (void)state;
    ecom_workers *w = ecom_workers_new(1);
    job *j = job_new();
    ecom_workers_start(w, N, body, j);
    assert_each_once(j); /* done before start returned */
    ecom_workers_finish(w);
    ecom_workers_finish(w); /* nothing started: returns at once */
    assert_int_equal(atomic_load(&j->other_thread), 0);
    free(j);
    ecom_workers_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_index_once),
        cmocka_unit_test(test_start_goes_on_while_the_caller_does_not_wait),
        cmocka_unit_test(test_one_thread_does_it_all_on_the_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
