/*
 * rng.h - the deterministic random source of the generator.
 *
 * xoshiro256** seeded through splitmix64. Same seed, same sequence, on every platform: the
 * generator's byte-for-byte reproducibility rests on this and on never consulting the clock or
 * the address space. Independent streams (one per entity kind, one per session) are derived from
 * the seed and a stream number, so adding draws to one stream never shifts another.
 */
#ifndef ECOM_RNG_H
#define ECOM_RNG_H

#include <stdint.h>

typedef struct ecom_rng {
    uint64_t s[4];
} ecom_rng;

void ecom_rng_seed(ecom_rng *r, uint64_t seed, uint64_t stream);
uint64_t ecom_rng_next(ecom_rng *r);
/* Uniform in [0, n), unbiased. n > 0. */
uint64_t ecom_rng_below(ecom_rng *r, uint64_t n);
/* Uniform in [lo, hi], inclusive. */
int64_t ecom_rng_range(ecom_rng *r, int64_t lo, int64_t hi);
/* Uniform double in [0, 1). */
double ecom_rng_unit(ecom_rng *r);
/* True with probability p. */
int ecom_rng_chance(ecom_rng *r, double p);
/* Index drawn from cumulative-free weights (w[i] >= 0, sum > 0). */
int ecom_rng_weighted(ecom_rng *r, const double *w, int n);

#endif
