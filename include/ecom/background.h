/*
 * background.h - a thread of its own that runs one job at a time while its owner goes on.
 *
 * The consume loop writes a closed batch on one while it keeps consuming into the next batch,
 * and the MongoDB store writes a batch over several connections with one per extra connection.
 * The owner starts a job, may look whether it has finished, and waits for its result. Until the
 * wait returns, the job and its owner must share nothing the job writes: the wait is the one
 * point where what the job did becomes the owner's again.
 *
 * If no thread can be started, jobs run on the owner's thread when started: slower, not wrong.
 */
#ifndef ECOM_BACKGROUND_H
#define ECOM_BACKGROUND_H

#include <stdbool.h>
#include "ecom/error.h"

typedef struct ecom_background ecom_background;

/* What a job does: 0 when done, else non-zero with err saying why. */
typedef int (*ecom_job_fn)(void *arg, ecom_error *err);

ecom_background *ecom_background_new(void);
/* Waits for a started job, then stops the thread. */
void ecom_background_free(ecom_background *bg);

/* Starts fn(arg) on the thread. One job at a time: only after the previous one's result was
 * taken with ecom_background_wait. */
void ecom_background_start(ecom_background *bg, ecom_job_fn fn, void *arg);
/* Whether a job was started and its result not taken yet. */
bool ecom_background_busy(ecom_background *bg);
/* Whether the started job has finished, so that ecom_background_wait returns at once. */
bool ecom_background_finished(ecom_background *bg);
/* Waits for the started job and takes its result: what fn returned, with err filled in when
 * that is non-zero. 0 when no job was started. */
int ecom_background_wait(ecom_background *bg, ecom_error *err);

#endif
