/*
 * rng.c - xoshiro256** with splitmix64 seeding (see rng.h for why streams are separate).
 */
#include "ecom/rng.h"

#include <assert.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void ecom_rng_seed(ecom_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t ecom_rng_next(ecom_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t ecom_rng_below(ecom_rng *r, uint64_t n)
{
    assert(n > 0);
    /* Rejection of the short final bucket keeps every outcome equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = ecom_rng_next(r);
    while (x >= limit);
    return x % n;
}

int64_t ecom_rng_range(ecom_rng *r, int64_t lo, int64_t hi)
{
    assert(lo <= hi);
    uint64_t span = (uint64_t)hi - (uint64_t)lo; /* unsigned: no overflow for any lo <= hi */
    if (span == UINT64_MAX)
        return (int64_t)ecom_rng_next(r);
    return (int64_t)((uint64_t)lo + ecom_rng_below(r, span + 1));
}

double ecom_rng_unit(ecom_rng *r)
{
    return (double)(ecom_rng_next(r) >> 11) * 0x1.0p-53;
}

int ecom_rng_chance(ecom_rng *r, double p)
{
    return ecom_rng_unit(r) < p;
}

int ecom_rng_weighted(ecom_rng *r, const double *w, int n)
{
    double total = 0;
    for (int i = 0; i < n; i++)
        total += w[i];
    double x = ecom_rng_unit(r) * total;
    for (int i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}
