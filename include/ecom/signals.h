/*
 * signals.h - the stop flag of every long-running command.
 *
 * SIGINT and SIGTERM set a flag that service loops test between batches (the librdkafka
 * example's `run` pattern): the loop finishes its batch, flushes, commits and returns, and main
 * exits 0. A second signal is not special; a stuck process is what SIGKILL is for.
 */
#ifndef ECOM_SIGNALS_H
#define ECOM_SIGNALS_H

#include <stdbool.h>

void ecom_signals_install(void);
bool ecom_stop_requested(void);

#endif
