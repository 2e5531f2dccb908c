/*
 * workers.h - a fixed set of threads that run one loop body in parallel, then wait.
 *
 * The consume loop's costliest step is decoding and validating JSON, and each message decodes
 * on its own: the loop starts a chunk of polled messages on the workers, which spread its
 * indices over their threads, and later finishes it, taking part in what is left and returning
 * when every index is done. Everything with an order (the stage, dead letters, offsets) stays
 * on the calling thread.
 */
#ifndef ECOM_WORKERS_H
#define ECOM_WORKERS_H

typedef struct ecom_workers ecom_workers;

/* `threads` counts the calling thread: 1 runs everything on the caller, no threads started. */
ecom_workers *ecom_workers_new(int threads);
void ecom_workers_free(ecom_workers *w);
int ecom_workers_threads(const ecom_workers *w);

/* Calls fn(arg, i) for every i in [0, n), on any of the threads; fn must only touch what index
 * i owns. start begins the job on the worker threads and returns (with one thread, or a job too
 * small to share, it does the job itself first), so the caller can do something else meanwhile;
 * finish takes part in what is left of it and returns when all calls have returned. One job at
 * a time: every start is followed by a finish before the next start, and nothing the job's
 * indices own is touched in between. */
void ecom_workers_start(ecom_workers *w, int n, void (*fn)(void *arg, int i), void *arg);
void ecom_workers_finish(ecom_workers *w);

/* Threads worth using here: the machine's online processors (at least 1). */
int ecom_workers_default_threads(void);

#endif
