/*
 * session_sim.h - one shopping session, simulated whole, and the standalone purchases.
 *
 * A session is planned completely when it starts: its page flow (the Markov chain of SPEC
 * section 1), what it adds to the cart, whether it converts, and the transaction that results.
 * Each event carries its planned offset from the session start; backfill stamps events with
 * start + offset, live mode stamps them with the wall clock when it sends them.
 */
#ifndef ECOM_GEN_SESSION_SIM_H
#define ECOM_GEN_SESSION_SIM_H

#include <stdbool.h>
#include "world.h"

#define GEN_MIN_PAGES 4
#define GEN_MAX_PAGES 16
#define GEN_MAX_EVENTS (2 + 2 * GEN_MAX_PAGES) /* start, views, cart adds, end */

typedef struct gen_session {
    ecom_time start;
    int n_events;
    ecom_session_event events[GEN_MAX_EVENTS];
    int32_t offsets[GEN_MAX_EVENTS]; /* seconds after start, non-decreasing */
    bool viewed, carted, converted;  /* the funnel outcome */
    bool has_transaction;
    ecom_transaction transaction; /* stamped at the session's end */
} gen_session;

/* Simulates session number `index` starting at `start`; a purchase takes the next transaction
 * id from *next_txn and takes stock from the world. */
void gen_session_simulate(gen_world *w, int64_t index, ecom_time start, int64_t *next_txn,
                          gen_session *out);

/* A purchase outside any session at time ts: up to 3 products, 1-3 units each, bounded by stock.
 * Returns false (and takes nothing) when no product could be sold. */
bool gen_standalone_transaction(gen_world *w, ecom_rng *r, ecom_time ts, int64_t txn_number,
                                ecom_transaction *out);

#endif
