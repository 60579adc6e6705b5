/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
 * Key = 64-bit seed; counter = (block, stream, index lo, index hi) so every (seed, stream,
 * index) triple owns an independent sequence of 2^32 blocks of four 32-bit words. */
#include <math.h>

#include "cryogen/core.h"

static void philox_round(uint32_t ctr[4], const uint32_t key[2]) {
    const uint64_t p0 = (uint64_t)0xD2511F53u * ctr[0];
    const uint64_t p1 = (uint64_t)0xCD9E8D57u * ctr[2];
    uint32_t c0 = (uint32_t)(p1 >> 32) ^ ctr[1] ^ key[0];
    uint32_t c2 = (uint32_t)(p0 >> 32) ^ ctr[3] ^ key[1];
    ctr[1] = (uint32_t)p1;
    ctr[3] = (uint32_t)p0;
    ctr[0] = c0;
    ctr[2] = c2;
}

static void philox_block(const uint32_t in[4], const uint32_t key_in[2], uint32_t out[4]) {
    uint32_t c[4] = {in[0], in[1], in[2], in[3]};
    uint32_t k[2] = {key_in[0], key_in[1]};
    for (int r = 0; r < 10; r++) {
        philox_round(c, k);
        k[0] += 0x9E3779B9u;
        k[1] += 0xBB67AE85u;
    }
    for (int i = 0; i < 4; i++) out[i] = c[i];
}

void cg_rng_init(cg_rng *r, uint64_t seed, uint64_t stream, uint64_t index) {
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    /* stream occupies 32 bits; fold any higher bits in so distinct streams stay distinct */
    r->ctr[0] = 0;
    r->ctr[1] = (uint32_t)stream ^ (uint32_t)(stream >> 32) * 0x85EBCA6Bu;
    r->ctr[2] = (uint32_t)index;
    r->ctr[3] = (uint32_t)(index >> 32);
    r->pos = 4;
    r->have_normal = 0;
    r->spare = 0;
}

uint32_t cg_rng_u32(cg_rng *r) {
    if (r->pos >= 4) {
        philox_block(r->ctr, r->key, r->buf);
        r->ctr[0]++;
        r->pos = 0;
    }
    return r->buf[r->pos++];
}

uint64_t cg_rng_u64(cg_rng *r) {
    uint64_t hi = cg_rng_u32(r);
    return (hi << 32) | cg_rng_u32(r);
}

double cg_rng_uniform(cg_rng *r) { return (double)(cg_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

double cg_rng_normal(cg_rng *r) {
    if (r->have_normal) {
        r->have_normal = 0;
        return r->spare;
    }
    double u1 = cg_rng_uniform(r), u2 = cg_rng_uniform(r);
    double rad = sqrt(-2.0 * log(1.0 - u1)); /* 1-u1 in (0, 1] */
    double th = 6.283185307179586 * u2;
    r->spare = rad * sin(th);
    r->have_normal = 1;
    return rad * cos(th);
}

uint64_t cg_rng_below(cg_rng *r, uint64_t n) {
    /* rejection sampling: unbiased for any n > 0 */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = cg_rng_u64(r);
    while (x >= limit);
    return x % n;
}

void cg_rng_shuffle(cg_rng *r, int64_t *idx, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)cg_rng_below(r, (uint64_t)i + 1);
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
