/*
 * world.h - the generator's reference data and the shared state a simulation mutates.
 *
 * A world is built from (seed, scale, end) alone: 25 categories, products, users. Sessions and
 * transactions then draw from it and decrement product stock, so the world is also the
 * generator's inventory. Products are picked from a list of active, in-stock products that
 * shrinks as stock runs out; the list's order is a pure function of the draws, which keeps the
 * whole run deterministic.
 */
#ifndef ECOM_GEN_WORLD_H
#define ECOM_GEN_WORLD_H

#include <stdint.h>
#include "ecom/model.h"
#include "ecom/rng.h"

#define GEN_CATEGORIES 25
#define GEN_WINDOW_DAYS 90

typedef struct gen_world {
    uint64_t seed;
    double scale;
    ecom_time end;          /* midnight UTC of --end: the window is [start, end) */
    ecom_time window_start; /* end - 90 days */
    ecom_category categories[GEN_CATEGORIES];
    int n_products;
    ecom_product *products;
    int n_users;
    ecom_user *users;
    int64_t n_sessions;
    int64_t n_transactions; /* the target: session purchases plus standalone ones */
    int *sellable;          /* indexes of active products that may still have stock */
    int n_sellable;
    bool *stock_changed; /* per product: republish it at the end */
} gen_world;

void gen_world_build(gen_world *w, uint64_t seed, double scale, ecom_time end);
void gen_world_free(gen_world *w);

/* Index of a random active product with stock left that exists at time t, or -1. */
int gen_pick_product(gen_world *w, ecom_rng *r, ecom_time t);
/* The product's price in effect at time t (its first price before the first change). */
ecom_cents gen_price_at(const ecom_product *p, ecom_time t);
void gen_take_stock(gen_world *w, int product, int32_t quantity);

/* Random session attributes drawn from fixed vocabularies. */
void gen_session_profile(ecom_rng *r, const ecom_user *u, ecom_session_start *out);

#endif
