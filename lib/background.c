/*
 * background.c - one job at a time on a thread of its own (see background.h), on pthreads.
 *
 * One mutex and one condition variable carry both directions: the owner publishes a job and
 * the thread publishes its result, each under the lock, so the wait that reads the result also
 * sees everything the job wrote.
 */
#include "ecom/background.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include "ecom/buf.h"

typedef enum job_state { JOB_NONE, JOB_STARTED, JOB_FINISHED } job_state;

struct ecom_background {
    pthread_t thread;
    bool has_thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    job_state state;
    ecom_job_fn fn;
    void *arg;
    int rc;
    ecom_error err;
    bool stop;
};

/* Runs fn(arg) with the lock released and publishes its result; takes and returns the lock
 * held. */
static void run_job(ecom_background *bg, ecom_job_fn fn, void *arg)
{
    pthread_mutex_unlock(&bg->lock);
    ecom_error err = {{0}};
    int rc = fn(arg, &err);
    pthread_mutex_lock(&bg->lock);
    bg->rc = rc;
    bg->err = err;
    bg->state = JOB_FINISHED;
    pthread_cond_broadcast(&bg->changed);
}

static void *thread_main(void *p)
{
    ecom_background *bg = p;
    pthread_mutex_lock(&bg->lock);
    for (;;) {
        while (!bg->stop && bg->state != JOB_STARTED)
            pthread_cond_wait(&bg->changed, &bg->lock);
        if (bg->stop)
            break;
        run_job(bg, bg->fn, bg->arg);
    }
    pthread_mutex_unlock(&bg->lock);
    return NULL;
}

ecom_background *ecom_background_new(void)
{
    ecom_background *bg = ecom_xcalloc(1, sizeof *bg);
    pthread_mutex_init(&bg->lock, NULL);
    pthread_cond_init(&bg->changed, NULL);
    bg->has_thread = pthread_create(&bg->thread, NULL, thread_main, bg) == 0;
    return bg;
}

void ecom_background_free(ecom_background *bg)
{
    if (!bg)
        return;
    pthread_mutex_lock(&bg->lock);
    while (bg->state == JOB_STARTED)
        pthread_cond_wait(&bg->changed, &bg->lock);
    bg->stop = true;
    pthread_cond_broadcast(&bg->changed);
    pthread_mutex_unlock(&bg->lock);
    if (bg->has_thread)
        pthread_join(bg->thread, NULL);
    pthread_mutex_destroy(&bg->lock);
    pthread_cond_destroy(&bg->changed);
    free(bg);
}

void ecom_background_start(ecom_background *bg, ecom_job_fn fn, void *arg)
{
    pthread_mutex_lock(&bg->lock);
    assert(bg->state == JOB_NONE);
    if (!bg->has_thread) {
        run_job(bg, fn, arg);
    } else {
        bg->fn = fn;
        bg->arg = arg;
        bg->state = JOB_STARTED;
        pthread_cond_broadcast(&bg->changed);
    }
    pthread_mutex_unlock(&bg->lock);
}

bool ecom_background_busy(ecom_background *bg)
{
    pthread_mutex_lock(&bg->lock);
    bool busy = bg->state != JOB_NONE;
    pthread_mutex_unlock(&bg->lock);
    return busy;
}

bool ecom_background_finished(ecom_background *bg)
{
    pthread_mutex_lock(&bg->lock);
    bool finished = bg->state == JOB_FINISHED;
    pthread_mutex_unlock(&bg->lock);
    return finished;
}

int ecom_background_wait(ecom_background *bg, ecom_error *err)
{
    pthread_mutex_lock(&bg->lock);
    while (bg->state == JOB_STARTED)
        pthread_cond_wait(&bg->changed, &bg->lock);
    int rc = 0;
    if (bg->state == JOB_FINISHED) {
        rc = bg->rc;
        if (rc && err)
            *err = bg->err;
        bg->state = JOB_NONE;
    }
    pthread_mutex_unlock(&bg->lock);
    return rc;
}
