/*
 * signals.c - SIGINT/SIGTERM to a stop flag (see signals.h). A signal handler can only reach
 * static storage, so the flag is a file-scope variable: the handler sets it, every loop reads it.
 *
 * It is not lib/'s only process-wide state. The rest is each set once per process, never per
 * service, and never changed after:
 *   - the signal dispositions installed here: SIGINT and SIGTERM to the handler, SIGPIPE ignored
 *     (a peer that closed its socket is then an error from the write, not the end of the process);
 *   - log.c: the level threshold, read from ECOM_LOG_LEVEL at the first log line and kept;
 *   - consumer.c: jansson's hash seed, fixed with json_object_seed(0) by the consume loop before
 *     its threads build JSON objects;
 *   - codec.c: the key of the decoder's per-thread token arrays (created once, pthread_once;
 *     each thread's array is freed with the thread);
 *   - hbase_store.c: the finalize functions of the generated Thrift classes, patched once
 *     (g_once) to chain up to GObject's;
 *   - mongo_store.c: libmongoc's global state and its log handler (ecom_mongo_init).
 */
#include "ecom/signals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void ecom_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool ecom_stop_requested(void)
{
    return stop_requested != 0;
}
