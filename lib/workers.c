/*
 * workers.c - the parallel loop of workers.h, on pthreads.
 *
 * A job is published under the mutex with a new generation number; workers wake, claim indices
 * in small slices from a shared counter, and report when they run out. The caller, once it
 * finishes the job, claims the slices still left too, then waits until every worker that joined
 * this generation has finished.
 */
#include "ecom/workers.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include "ecom/buf.h"

#define SLICE 8 /* indices claimed at a time */

struct ecom_workers {
    int threads; /* including the caller */
    pthread_t *ids;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    /* the current job, valid while busy > 0 or next < n */
    void (*fn)(void *arg, int i);
    void *arg;
    int n, next;
    unsigned long generation;
    int busy;     /* workers still on the current job */
    bool started; /* a job started and not finished (ecom_workers_finish) */
    bool stop;
};

/* Claims the next slice of the job; false when none is left. Under the lock. */
static bool claim(ecom_workers *w, int *from, int *to)
{
    if (w->next >= w->n)
        return false;
    *from = w->next;
    *to = w->next + SLICE < w->n ? w->next + SLICE : w->n;
    w->next = *to;
    return true;
}

/* Runs slices of the current job until none is left; takes and returns the lock held. */
static void work(ecom_workers *w)
{
    int from, to;
    while (claim(w, &from, &to)) {
        void (*fn)(void *, int) = w->fn;
        void *arg = w->arg;
        pthread_mutex_unlock(&w->lock);
        for (int i = from; i < to; i++)
            fn(arg, i);
        pthread_mutex_lock(&w->lock);
    }
}

static void *worker_main(void *p)
{
    ecom_workers *w = p;
    unsigned long seen = 0;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stop && w->generation == seen)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->stop)
            break;
        seen = w->generation;
        w->busy++;
        work(w);
        if (--w->busy == 0)
            pthread_cond_signal(&w->done);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

ecom_workers *ecom_workers_new(int threads)
{
    ecom_workers *w = ecom_xcalloc(1, sizeof *w);
    w->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->done, NULL);
    w->ids = ecom_xcalloc((size_t)w->threads, sizeof *w->ids);
    for (int i = 1; i < w->threads; i++)
        if (pthread_create(&w->ids[i], NULL, worker_main, w) != 0) {
            w->threads = i; /* fewer threads is slower, not wrong */
            break;
        }
    return w;
}

void ecom_workers_free(ecom_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    for (int i = 1; i < w->threads; i++)
        pthread_join(w->ids[i], NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->done);
    free(w->ids);
    free(w);
}

int ecom_workers_threads(const ecom_workers *w)
{
    return w->threads;
}

void ecom_workers_start(ecom_workers *w, int n, void (*fn)(void *arg, int i), void *arg)
{
    if (w->threads == 1 || n <= SLICE) { /* not worth a thread: done here, now */
        for (int i = 0; i < n; i++)
            fn(arg, i);
        return;
    }
    pthread_mutex_lock(&w->lock);
    w->fn = fn;
    w->arg = arg;
    w->n = n;
    w->next = 0;
    w->generation++;
    w->started = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

void ecom_workers_finish(ecom_workers *w)
{
    pthread_mutex_lock(&w->lock);
    if (w->started) {
        work(w);
        while (w->busy > 0) /* workers that joined this job are finishing their slices */
            pthread_cond_wait(&w->done, &w->lock);
        w->started = false;
    }
    pthread_mutex_unlock(&w->lock);
}

int ecom_workers_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
