/* Real-space projector and its exact adjoint: line sums along z with trilinear interpolation.
 *
 *   P(x, y) = sum_{z=0}^{D-1} V( A^T (x - c, y - c, z - c) + c ),   c = D/2 (CONVENTIONS.md)
 *
 * V is read by trilinear interpolation, zero outside the box [0, D-1]^3. The adjoint splats
 * each image pixel with the same weights (+=). Slow (D^3 samples per image) but a direct,
 * independent statement of the projection; it is the reference the Fourier-slice projector is
 * tested against. Thread-safe: no shared state; the adjoint writes vol, so give each thread its
 * own volume.
 */
#include <math.h>
#include <string.h>

#include "cryogen/project.h"

/* Visit the 8 corners of the trilinear stencil at map point (px, py, pz) that lie inside the
 * box: OP(index, weight). */
#define CG_TRILINEAR_VISIT(D, px, py, pz, OP)                                                    \
    do {                                                                                         \
        double fx_ = floor(px), fy_ = floor(py), fz_ = floor(pz);                                \
        int x0_ = (int)fx_, y0_ = (int)fy_, z0_ = (int)fz_;                                      \
        if (x0_ < -1 || y0_ < -1 || z0_ < -1 || x0_ >= (D) || y0_ >= (D) || z0_ >= (D)) break;   \
        float tx_ = (float)((px) - fx_), ty_ = (float)((py) - fy_), tz_ = (float)((pz) - fz_);   \
        for (int dz_ = 0; dz_ < 2; dz_++) {                                                      \
            int zz_ = z0_ + dz_;                                                                 \
            if (zz_ < 0 || zz_ >= (D)) continue;                                                 \
            float wz_ = dz_ ? tz_ : 1.0f - tz_;                                                  \
            for (int dy_ = 0; dy_ < 2; dy_++) {                                                  \
                int yy_ = y0_ + dy_;                                                             \
                if (yy_ < 0 || yy_ >= (D)) continue;                                             \
                float wzy_ = wz_ * (dy_ ? ty_ : 1.0f - ty_);                                     \
                for (int dx_ = 0; dx_ < 2; dx_++) {                                              \
                    int xx_ = x0_ + dx_;                                                         \
                    if (xx_ < 0 || xx_ >= (D)) continue;                                         \
                    size_t idx_ = ((size_t)zz_ * (D) + yy_) * (D) + xx_;                         \
                    float w_ = wzy_ * (dx_ ? tx_ : 1.0f - tx_);                                  \
                    OP(idx_, w_);                                                                \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    } while (0)

void cg_project_real(const float *vol, int D, const double A[9], float *img) {
    const double c = D / 2;
    for (int y = 0; y < D; y++)
        for (int x = 0; x < D; x++) {
            double sum = 0;
            for (int z = 0; z < D; z++) {
                double rx = x - c, ry = y - c, rz = z - c;
                /* map point A^T r: component i = sum_j A[3j + i] r_j */
                double px = A[0] * rx + A[3] * ry + A[6] * rz + c;
                double py = A[1] * rx + A[4] * ry + A[7] * rz + c;
                double pz = A[2] * rx + A[5] * ry + A[8] * rz + c;
#define CG_GATHER(i, w) sum += (double)(w) * vol[i]
                CG_TRILINEAR_VISIT(D, px, py, pz, CG_GATHER);
#undef CG_GATHER
            }
            img[(size_t)y * D + x] = (float)sum;
        }
}

void cg_project_real_adjoint(const float *img, int D, const double A[9], float *vol) {
    const double c = D / 2;
    for (int y = 0; y < D; y++)
        for (int x = 0; x < D; x++) {
            const float v = img[(size_t)y * D + x];
            for (int z = 0; z < D; z++) {
                double rx = x - c, ry = y - c, rz = z - c;
                double px = A[0] * rx + A[3] * ry + A[6] * rz + c;
                double py = A[1] * rx + A[4] * ry + A[7] * rz + c;
                double pz = A[2] * rx + A[5] * ry + A[8] * rz + c;
#define CG_SCATTER(i, w) vol[i] += (w) * v
                CG_TRILINEAR_VISIT(D, px, py, pz, CG_SCATTER);
#undef CG_SCATTER
            }
        }
}
