/*
 * alloc_weight.c - the weights of a sampled allocation (portable).
 *
 * Bytes are sampled as a Poisson process with mean interval N (bpf_sampler_linux.c), so an
 * allocation of s bytes is sampled with probability p = 1 - exp(-s/N). Weighting each sampled
 * allocation by 1/p (Horvitz-Thompson) makes the sums unbiased: the expected allocation count of
 * a stack is its true count, the expected bytes (weight s/p) its true bytes. For s << N the
 * weights approach N/s and N; for s >> N, 1 and s (every such allocation is sampled).
 */
#include <math.h>

#include "alloc_probe.h"

static uint64_t next(uint64_t *x)
{
    uint64_t v = *x ? *x : 0x9E3779B97F4A7C15ull;    /* xorshift64 never leaves 0 */
    v ^= v << 13;
    v ^= v >> 7;
    v ^= v << 17;
    *x = v;
    return v;
}

/* v rounded down or up, up with probability frac(v): E[result] = v. */
static uint64_t round_random(double v, uint64_t *rng)
{
    double whole = floor(v);
    double u = (double)(next(rng) >> 11) * 0x1.0p-53;
    return (uint64_t)whole + (u < v - whole ? 1 : 0);
}

void ap_weights(uint64_t size, uint64_t mean, uint64_t *rng, uint64_t *bytes, uint64_t *objects)
{
    if (size == 0 || mean == 0) {
        *bytes = *objects = 0;
        return;
    }
    double p = -expm1(-(double)size / (double)mean);
    *objects = round_random(1.0 / p, rng);
    *bytes = round_random((double)size / p, rng);
}
