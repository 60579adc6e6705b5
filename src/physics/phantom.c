/* Built-in synthetic molecule (see include/cryogen/phantom.h): a chain of Gaussian blobs that
 * folds back on itself like a small protein domain, plus a few large "domain" blobs and a
 * protruding arm that break every symmetry. Generated from a fixed Philox seed so it is the same
 * on every machine; nothing is read from disk.
 */
#include <math.h>

#include "cryogen/phantom.h"

int cg_phantom_blobs(int D, cg_blob *b) {
    const double s = D / 64.0; /* designed at D = 64, scaled with the box */
    cg_rng r;
    cg_rng_init(&r, 0x5eed0f0ca11ULL, CG_RNG_STREAM_USER, 0);
    int n = 0;
    /* a self-avoiding-ish random walk of 36 small blobs, kept within radius 16 (D = 64) */
    double x = -6, y = -4, z = 2;
    for (int i = 0; i < 36; i++) {
        for (int tries = 0; tries < 20; tries++) {
            double dx = cg_rng_normal(&r), dy = cg_rng_normal(&r), dz = cg_rng_normal(&r);
            double nrm = sqrt(dx * dx + dy * dy + dz * dz) + 1e-9;
            double nx = x + 3.2 * dx / nrm, ny = y + 3.2 * dy / nrm, nz = z + 3.2 * dz / nrm;
            if (nx * nx + ny * ny + nz * nz < 16.0 * 16.0) {
                x = nx, y = ny, z = nz;
                break;
            }
        }
        b[n++] = (cg_blob){x * s, y * s, z * s, (1.6 + 0.4 * cg_rng_uniform(&r)) * s, 0.6 + 0.4 * cg_rng_uniform(&r)};
    }
    /* two domains of different size and an arm: asymmetric by construction */
    b[n++] = (cg_blob){8 * s, 5 * s, -4 * s, 4.5 * s, 0.35};
    b[n++] = (cg_blob){-9 * s, 3 * s, 7 * s, 3.5 * s, 0.4};
    for (int i = 0; i < 5; i++) b[n++] = (cg_blob){(4 + 2.5 * i) * s, (-10 - 1.2 * i) * s, (3 + 0.8 * i) * s, 1.8 * s, 0.8};
    return n;
}

void cg_phantom_render(const cg_blob *b, int n, int D, float *vol) {
    const double c = D / 2;
    for (size_t i = 0; i < (size_t)D * D * D; i++) vol[i] = 0;
    for (int j = 0; j < n; j++) {
        /* evaluate within 4.5 sigma (exp(-10) ~ 5e-5 relative) */
        double rad = 4.5 * b[j].sigma, inv2s2 = 1.0 / (2 * b[j].sigma * b[j].sigma);
        int lo[3], hi[3];
        const double ctr[3] = {b[j].x + c, b[j].y + c, b[j].z + c};
        for (int a = 0; a < 3; a++) {
            lo[a] = (int)ceil(ctr[a] - rad);
            hi[a] = (int)floor(ctr[a] + rad);
            if (lo[a] < 0) lo[a] = 0;
            if (hi[a] > D - 1) hi[a] = D - 1;
        }
        for (int zz = lo[2]; zz <= hi[2]; zz++)
            for (int yy = lo[1]; yy <= hi[1]; yy++)
                for (int xx = lo[0]; xx <= hi[0]; xx++) {
                    double dx = xx - ctr[0], dy = yy - ctr[1], dz = zz - ctr[2];
                    vol[((size_t)zz * D + yy) * D + xx] += (float)(b[j].amplitude * exp(-(dx * dx + dy * dy + dz * dz) * inv2s2));
                }
    }
}

void cg_phantom_volume(int D, float *vol) {
    cg_blob b[CG_PHANTOM_MAX_BLOBS];
    int n = cg_phantom_blobs(D, b);
    cg_phantom_render(b, n, D, vol);
}
