/*
 * test_background.c - one job at a time on a thread of its own (lib/background.c), as the
 * consume loop uses it to write a batch while it consumes the next.
 *
 * A job runs on another thread than its owner, while the owner goes on; "finished" turns true
 * only once it has returned; the wait hands back its result and its error text, and makes what
 * the job wrote visible; a new job can follow at once; freeing waits for a job still running;
 * waiting with no job started returns 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "ecom/background.h"
#include "ecom/retry.h"

typedef struct job_state {
    atomic_bool release;  /* the owner lets the job return */
    atomic_bool returned; /* the job is about to return */
    pthread_t ran_on;
    int value;  /* written by the job, read by the owner after the wait */
    int result; /* what the job returns */
} job_state;

static int job(void *arg, ecom_error *err)
{
    job_state *j = arg;
    j->ran_on = pthread_self();
    while (!atomic_load(&j->release))
        ecom_sleep_ms(1);
    j->value = 42;
    atomic_store(&j->returned, true);
    return j->result ? ecom_fail(err, "job failed with %d", j->result) : 0;
}

static void test_runs_beside_its_owner(void **state)
{
    (void)state;
    ecom_background *bg = ecom_background_new();
    job_state j = {.value = 0};
    assert_false(ecom_background_busy(bg));
    ecom_background_start(bg, job, &j);
    /* the owner goes on while the job waits for it: the job cannot be on this thread */
    assert_true(ecom_background_busy(bg));
    assert_false(ecom_background_finished(bg));
    atomic_store(&j.release, true);
    while (!ecom_background_finished(bg))
        ecom_sleep_ms(1);
    assert_true(atomic_load(&j.returned));
    ecom_error err;
    assert_int_equal(ecom_background_wait(bg, &err), 0);
    assert_int_equal(j.value, 42);
    assert_false(pthread_equal(j.ran_on, pthread_self()));
    assert_false(ecom_background_busy(bg));
    ecom_background_free(bg);
}

static void test_hands_back_the_error(void **state)
{
    (void)state;
    ecom_background *bg = ecom_background_new();
    job_state j = {.release = true, .result = 7};
    ecom_background_start(bg, job, &j);
    ecom_error err = {{0}};
    assert_int_equal(ecom_background_wait(bg, &err), -1);
    assert_string_equal(err.msg, "job failed with 7");
    /* the next job starts at once after the wait */
    job_state k = {.release = true};
    ecom_background_start(bg, job, &k);
    assert_int_equal(ecom_background_wait(bg, &err), 0);
    assert_int_equal(k.value, 42);
    ecom_background_free(bg);
}

static void test_wait_without_a_job(void **state)
{
    (void)state;
    ecom_background *bg = ecom_background_new();
    ecom_error err;
    assert_int_equal(ecom_background_wait(bg, &err), 0);
    assert_false(ecom_background_finished(bg));
    ecom_background_free(bg);
}

static void *release_later(void *arg)
{
    ecom_sleep_ms(50);
    atomic_store(&((job_state *)arg)->release, true);
    return NULL;
}

static void test_free_waits_for_a_running_job(void **state)
{
    (void)state;
    ecom_background *bg = ecom_background_new();
    job_state j = {.value = 0};
    ecom_background_start(bg, job, &j);
    pthread_t releaser;
    assert_int_equal(pthread_create(&releaser, NULL, release_later, &j), 0);
    ecom_background_free(bg);
    assert_true(atomic_load(&j.returned));
    pthread_join(releaser, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_beside_its_owner),
        cmocka_unit_test(test_hands_back_the_error),
        cmocka_unit_test(test_wait_without_a_job),
        cmocka_unit_test(test_free_waits_for_a_running_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
