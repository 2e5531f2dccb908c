/*
 * signals.c - SIGINT/SIGTERM to a stop flag (see signals.h). A signal handler can only reach
 * static storage, so the flag is the one piece of process-wide mutable state in lib/.
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
