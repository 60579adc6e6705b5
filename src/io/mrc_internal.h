/* Private helpers shared by src/io/mrc.c (reading) and src/io/mrc_write.c (writing):
 * byte-order-independent loads/stores and IEEE 754 binary16 <-> binary32 conversion.
 * Byte order is handled byte by byte, so the code does not depend on the host's order. */
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t cg__ld32(const unsigned char *p, int big) {
    return big ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]
               : ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}
static inline uint16_t cg__ld16(const unsigned char *p, int big) {
    return big ? (uint16_t)((p[0] << 8) | p[1]) : (uint16_t)((p[1] << 8) | p[0]);
}
static inline float cg__ldf32(const unsigned char *p, int big) {
    uint32_t u = cg__ld32(p, big);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
/* Little-endian stores (cryogen always writes little-endian files). */
static inline void cg__st32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}
static inline void cg__st16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline void cg__stf32(unsigned char *p, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    cg__st32(p, u);
}

/* binary16 -> binary32, exact for every input (subnormals, infinities, NaN payloads). */
static inline float cg__half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, f;
    if (exp == 0) {
        float v = ldexpf((float)mant, -24); /* zero or subnormal: mant * 2^-24 */
        return sign ? -v : v;
    }
    if (exp == 31) f = sign | 0x7f800000u | (mant << 13);
    else f = sign | ((exp + 112u) << 23) | (mant << 13);
    float out;
    memcpy(&out, &f, 4);
    return out;
}

/* binary32 -> binary16, round to nearest even; overflow gives infinity (callers range-check). */
static inline uint16_t cg__float_to_half(float x) {
    uint32_t f;
    memcpy(&f, &x, 4);
    uint32_t sign = (f >> 16) & 0x8000u, a = f & 0x7fffffffu;
    if (a >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u : 0));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to inf */
    if (a < 0x38800000u) {                                   /* below 2^-14: subnormal half */
        float v;
        memcpy(&v, &a, 4);
        return (uint16_t)(sign | (uint32_t)lrintf(v * 16777216.0f)); /* exact scaling, RNE */
    }
    uint32_t h = ((a >> 23) - 112u) << 10 | ((a & 0x7fffffu) >> 13), rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}
