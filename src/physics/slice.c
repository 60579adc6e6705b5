/* Fourier-slice projector and its exact adjoint (back-projector).
 *
 * Forward operator, for a real volume v (D^3, origin at voxel D/2) and rotation A:
 *   1. gridding pre-correction: v(r) / g(r), g(r) = prod_axes sinc^2((r_i - D/2) / M), the
 *      Fourier transform of the trilinear kernel on the padded grid (M = oversample * D);
 *   2. zero-pad to M^3 with voxel D/2 moved to index 0; 3D r2c FFT (unnormalised);
 *   3. the half-complex result is copied into a CENTRED extended half grid G with
 *      x in [0, L], y, z in [-L, L], L = M/2 + 1, so that trilinear interpolation never wraps
 *      indices (G(x, y, z) = H(x mod M, ...) or conj(H(-x mod M, ...)) where x mod M > M/2);
 *   4. the image spectrum at (kx, ky), kx in [0, D/2], |k| < D/2 (strictly; zero beyond) is
 *      the trilinear interpolation of G at q = oversample * A^T (kx, ky, 0); where q_x < 0 the
 *      Hermitian mirror is used: conj(interp(G, -q)).
 *
 * Adjoint (see project.h for the exact statement): with Y the spectrum of a real image y,
 * inserting Y accumulates, in the same extended grid, the transposed interpolation of
 * (m_kx / D^2) Y (m_kx = 1 on the self-conjugate column kx = 0, and kx = D/2 for even D,
 * else 2: the Hermitian half counts twice in <img, img'> = (1/D^2) sum_full Re(S conj S')).
 * cg_backprojector_finish folds G back into the M^3 half grid, applies the transpose of the
 * r2c FFT, V(x) = sum_half Re(H(k) exp(+2 pi i k.x / M)), computed as M^3 * c2r(sym(H) / m)
 * where sym makes the self-conjugate planes Hermitian (which leaves that real sum unchanged),
 * extracts the D^3 box and divides by g again.
 *
 * References: RELION src/projector.cpp (project, computeFourierTransformMap), backprojector.cpp;
 * Penczek, "Fundamentals of three-dimensional reconstruction", Methods Enzymol. 482 (2010).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cryogen/project.h"

/* ---------------------------------------------------------------- shared grid ----------- */
typedef struct {
    int D, oversample, M, L;
    int nx, ny;       /* L + 1, 2L + 1; nz = ny */
    size_t count;     /* nx * ny * ny */
} grid_layout;

static void layout_init(grid_layout *g, int D, int oversample) {
    g->D = D;
    g->oversample = oversample;
    g->M = D * oversample;
    g->L = g->M / 2 + 1;
    g->nx = g->L + 1;
    g->ny = 2 * g->L + 1;
    g->count = (size_t)g->nx * g->ny * g->ny;
}

static cg_status check_sizes(const char *what, int D, int oversample) {
    if (D < 2 || D > 2048) return cg_error(CG_ERR_ARG, "%s: box size %d px is outside [2, 2048]", what, D);
    if (oversample < 1 || oversample > 4)
        return cg_error(CG_ERR_ARG, "%s: oversampling %d is outside [1, 4] (2 is recommended)", what, oversample);
    return CG_OK;
}

/* sinc^2 of the trilinear kernel's transform along one axis, index i of a D box */
static double gridding_factor(int i, int D, int M) {
    double x = M_PI * (double)(i - D / 2) / M;
    if (x == 0) return 1.0;
    double s = sin(x) / x;
    return s * s;
}

/* Map an extended-grid point (x >= 0, y, z signed) to the FFT half grid: returns its index
 * and sets *conj when the stored value is the Hermitian mirror. */
static size_t half_index(int x, int y, int z, int M, int *conj) {
    int xm = ((x % M) + M) % M, ym = ((y % M) + M) % M, zm = ((z % M) + M) % M;
    *conj = 0;
    if (xm > M / 2) {
        xm = M - xm;
        ym = (M - ym) % M;
        zm = (M - zm) % M;
        *conj = 1;
    }
    return ((size_t)zm * M + ym) * (M / 2 + 1) + xm;
}

/* Four floats (two complex values) as one SSE vector (GCC/Clang vector extension). */
typedef float cg_v4 __attribute__((vector_size(16)));
static inline cg_v4 load4(const float *p) {
    cg_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Trilinear interpolation geometry of a point q (already mirrored to q_x >= 0). */
typedef struct {
    size_t base;     /* index of corner (x0, y0, z0) in the extended grid */
    float w[8];      /* corner weights, order (dz, dy, dx) binary */
} tri_pt;

static inline void tri_setup(const grid_layout *g, double qx, double qy, double qz, tri_pt *t) {
    double y = qy + g->L, z = qz + g->L;
    int x0 = (int)qx, y0 = (int)y, z0 = (int)z; /* all arguments > 0: truncation = floor */
    float fx = (float)(qx - x0), fy = (float)(y - y0), fz = (float)(z - z0);
    float gx = 1.0f - fx, gy = 1.0f - fy, gz = 1.0f - fz;
    t->base = ((size_t)z0 * g->ny + y0) * g->nx + x0;
    t->w[0] = gz * gy * gx;
    t->w[1] = gz * gy * fx;
    t->w[2] = gz * fy * gx;
    t->w[3] = gz * fy * fx;
    t->w[4] = fz * gy * gx;
    t->w[5] = fz * gy * fx;
    t->w[6] = fz * fy * gx;
    t->w[7] = fz * fy * fx;
}

/* Largest kx with kx^2 + ky^2 < (D/2)^2, or -1 when the row is outside the radius. */
static inline int row_kx_max(int ky, int D) {
    double r2 = 0.25 * D * D - (double)ky * ky;
    if (r2 <= 0) return -1;
    int k = (int)sqrt(r2);
    while (k > 0 && (double)k * k >= r2) k--;
    while ((double)(k + 1) * (k + 1) < r2) k++;
    if (k > D / 2) k = D / 2;
    return k;
}

/* Grid memory: 2 MiB aligned and marked for transparent huge pages, since the stencil's y and
 * z neighbours are far apart (many TLB entries per slice on grids of tens of MB). Advisory
 * only: on the development machine it made no measurable difference (the slice is bound by
 * cache misses, which prefetching and the z-paired layout address). Freed with free(). */
static void *grid_alloc(size_t nfloat, const char *what) {
    const size_t align = (size_t)2 << 20;
    size_t bytes = nfloat * sizeof(float);
    if (bytes < align) return cg_alloc_aligned(nfloat, sizeof(float), what);
    bytes = (bytes + align - 1) / align * align;
    void *p = aligned_alloc(align, bytes);
    if (!p) {
        cg_error(CG_ERR_NOMEM, "%s: %zu MB", what, bytes >> 20);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE); /* advisory: ignored where unsupported */
#endif
    return p;
}

/* ---------------------------------------------------------------- projector ------------- */
struct cg_projector {
    grid_layout g;
    /* extended centred half grid, z-PAIRED: element (x, y, zp), x in [0, L], y in [-L, L],
     * zp in [-L, L), at ((zp + L) ny + y + L) nx + x, holds the complex values G(x, y, zp) and
     * G(x, y, zp + 1) (4 floats), so a trilinear stencil reads 2 runs of 32 bytes instead of 4
     * scattered 16-byte pairs: twice the memory of the plain layout, ~1.5x faster slices on
     * grids larger than the caches */
    float *grid;
};

int cg_projector_size(const cg_projector *p) { return p->g.D; }

/* The padded M^3 real grid, its half-complex spectrum and their plan, all or nothing. */
typedef struct {
    float *pad;
    cg_complex *H;
    cg_fft_plan *plan;
} padded_buffers;

static void padded_free(padded_buffers *b) {
    cg_fft_plan_destroy(b->plan);
    cg_fft_free(b->pad);
    cg_fft_free(b->H);
    b->plan = NULL, b->pad = NULL, b->H = NULL;
}

static cg_status padded_alloc(int M, padded_buffers *b) {
    int dims[3] = {M, M, M};
    b->plan = NULL;
    b->pad = cg_fft_alloc_real((size_t)M * M * M);
    b->H = cg_fft_alloc_complex((size_t)M * M * (M / 2 + 1));
    cg_status s = (b->pad && b->H) ? cg_fft_plan_create(&b->plan, 3, dims) : CG_ERR_NOMEM;
    if (s != CG_OK) padded_free(b);
    return s;
}

/* Steps 1-2: corrected, padded, centred volume -> H (M x M x (M/2+1)). */
static cg_status padded_fft(const grid_layout *g, const float *vol, cg_complex **H_out) {
    const int D = g->D, M = g->M;
    *H_out = NULL;
    size_t nreal = (size_t)M * M * M;
    padded_buffers pb;
    cg_status s = padded_alloc(M, &pb);
    if (s != CG_OK) return s;
    float *pad = pb.pad;
    cg_complex *H = pb.H;
    cg_fft_plan *plan = pb.plan;
    double *gf = cg_malloc((size_t)D, sizeof(double), "gridding factors");
    int *wrap = cg_malloc((size_t)D, sizeof(int), "index table");
    if (!gf || !wrap) {
        free(gf), free(wrap);
        cg_fft_plan_destroy(plan);
        cg_fft_free(pad);
        cg_fft_free(H);
        return CG_ERR_NOMEM;
    }
    for (int i = 0; i < D; i++) {
        gf[i] = 1.0 / gridding_factor(i, D, M);
        wrap[i] = ((i - D / 2) % M + M) % M;
    }
    memset(pad, 0, sizeof(float) * nreal);
    for (int z = 0; z < D; z++)
        for (int y = 0; y < D; y++) {
            const double gzy = gf[z] * gf[y];
            const float *src = vol + ((size_t)z * D + y) * D;
            float *dst = pad + ((size_t)wrap[z] * M + wrap[y]) * M;
            for (int x = 0; x < D; x++) dst[wrap[x]] = (float)(src[x] * gzy * gf[x]);
        }
    free(gf), free(wrap);
    cg_fft_forward(plan, pad, H);
    cg_fft_plan_destroy(plan);
    cg_fft_free(pad);
    *H_out = H;
    return CG_OK;
}

cg_status cg_projector_create(cg_projector **out, const float *vol, int D, int oversample) {
    *out = NULL;
    cg_status s = check_sizes("Fourier projector", D, oversample);
    if (s != CG_OK) return s;
    cg_projector *p = cg_calloc(1, sizeof *p, "projector");
    if (!p) return CG_ERR_NOMEM;
    layout_init(&p->g, D, oversample);
    /* z-paired layout: entry (x, y, zp) for zp in [-L, L) holds G(x, y, zp) and G(x, y, zp + 1),
     * 4 floats; see cg_projector_slice */
    const size_t npair = (size_t)p->g.nx * p->g.ny * (p->g.ny - 1);
    p->grid = grid_alloc(npair * 4, "projector Fourier grid");
    cg_complex *H = NULL;
    if (!p->grid) s = CG_ERR_NOMEM;
    else s = padded_fft(&p->g, vol, &H);
    if (s != CG_OK) {
        cg_projector_destroy(p);
        return s;
    }
    const grid_layout *g = &p->g;
    const float *h = (const float *)H;
    for (int zp = -g->L; zp < g->L; zp++)
        for (int y = -g->L; y <= g->L; y++) {
            float *row = p->grid + 4 * (((size_t)(zp + g->L) * g->ny + (y + g->L)) * g->nx);
            for (int dz = 0; dz < 2; dz++) {
                /* x <= M/2: a plain copy of one row of H; beyond: the Hermitian mirror */
                int conj, xdirect = g->M / 2 < g->L ? g->M / 2 : g->L;
                const float *hrow = h + 2 * half_index(0, y, zp + dz, g->M, &conj);
                for (int x = 0; x <= xdirect; x++) {
                    row[4 * x + 2 * dz] = hrow[2 * x];
                    row[4 * x + 2 * dz + 1] = hrow[2 * x + 1];
                }
                for (int x = xdirect + 1; x <= g->L; x++) {
                    size_t i = half_index(x, y, zp + dz, g->M, &conj);
                    row[4 * x + 2 * dz] = h[2 * i];
                    row[4 * x + 2 * dz + 1] = conj ? -h[2 * i + 1] : h[2 * i + 1];
                }
            }
        }
    cg_fft_free(H);
    *out = p;
    return CG_OK;
}

void cg_projector_destroy(cg_projector *p) {
    if (!p) return;
    free(p->grid);
    free(p);
}

void cg_projector_slice(const cg_projector *p, const double A[9], cg_complex *spec) {
    const grid_layout *g = &p->g;
    const int D = g->D, nh = D / 2 + 1, nx = g->nx;
    const size_t sy = 4 * (size_t)nx, sz = 4 * (size_t)nx * g->ny; /* floats */
    const double os = g->oversample;
    /* q = os * A^T (kx, ky, 0): component i = os (A[i] kx + A[3 + i] ky) */
    const double ax = os * A[0], ay = os * A[1], az = os * A[2];
    const float *G = p->grid;
    /* The grid is far larger than the caches and the path through it is a straight line per
     * row: prefetch the stencil's cache lines PF points ahead, continuing into the next row. */
    enum { PF = 12 };
    for (int iy = 0; iy < D; iy++) {
        const int ky = cg_fft_freq(iy, D);
        float *out = (float *)(spec + (size_t)iy * nh);
        const int kmax = row_kx_max(ky, D);
        const double bx = os * A[3] * ky, by = os * A[4] * ky, bz = os * A[5] * ky;
        const int ky_next = iy + 1 < D ? cg_fft_freq(iy + 1, D) : ky;
        const int kmax_next = iy + 1 < D ? row_kx_max(ky_next, D) : -1;
        for (int kx = 0; kx <= kmax; kx++) {
            int kp = kx + PF, kyp = ky;
            if (kp > kmax) kp -= kmax + 1, kyp = ky_next;
            if (kyp == ky || kp <= kmax_next) {
                double px = os * (A[3] * kyp + A[0] * kp), py = os * (A[4] * kyp + A[1] * kp), pz = os * (A[5] * kyp + A[2] * kp);
                if (px < 0) px = -px, py = -py, pz = -pz;
                const float *c = G + (size_t)(int)(pz + g->L) * sz + (size_t)(int)(py + g->L) * sy + 4 * (size_t)(int)px;
                __builtin_prefetch(c);
                __builtin_prefetch(c + 7);
                __builtin_prefetch(c + sy);
                __builtin_prefetch(c + sy + 7);
            }
            double qx = bx + ax * kx, qy = by + ay * kx, qz = bz + az * kx;
            float sgn = 1.0f;
            if (qx < 0) {
                qx = -qx;
                qy = -qy;
                qz = -qz;
                sgn = -1.0f;
            }
            /* z-paired grid: the 2 x 2 (x, z) corners of row y0 are 8 contiguous floats,
             * (x0, z0) (x0, z0+1) (x0+1, z0) (x0+1, z0+1), each complex; likewise row y0 + 1 */
            const double y = qy + g->L, z = qz + g->L;
            const int x0 = (int)qx, y0 = (int)y, z0 = (int)z; /* arguments > 0: floor */
            const float fx = (float)(qx - x0), fy = (float)(y - y0), fz = (float)(z - z0);
            const float gx = 1.0f - fx, gy = 1.0f - fy, gz = 1.0f - fz;
            const float *c = G + (size_t)z0 * sz + (size_t)y0 * sy + 4 * (size_t)x0;
            const cg_v4 wz = {gz, gz, fz, fz};
            const cg_v4 w0 = wz * (gx * gy), w1 = wz * (fx * gy), w2 = wz * (gx * fy), w3 = wz * (fx * fy);
            cg_v4 acc = load4(c) * w0 + load4(c + 4) * w1 + load4(c + sy) * w2 + load4(c + sy + 4) * w3;
            const float re = acc[0] + acc[2], im = acc[1] + acc[3];
            out[2 * kx] = re;
            out[2 * kx + 1] = sgn * im;
        }
        for (int kx = kmax + 1; kx < nh; kx++) out[2 * kx] = out[2 * kx + 1] = 0.0f;
    }
}

void cg_projector_project(const cg_projector *p, const double A[9], cg_image_fft *w, cg_complex *spec_scratch,
                          float *img) {
    cg_projector_slice(p, A, spec_scratch);
    cg_spectrum_to_image(w, spec_scratch, img);
}

/* ---------------------------------------------------------------- back-projector -------- */
struct cg_backprojector {
    grid_layout g;
    float *data;   /* extended centred half grid, interleaved complex, g.count values */
    float *weight; /* same layout, real; NULL unless created with weights */
};

static cg_status bp_create(cg_backprojector **out, int D, int oversample, int with_weight) {
    *out = NULL;
    cg_status s = check_sizes("back-projector", D, oversample);
    if (s != CG_OK) return s;
    cg_backprojector *b = cg_calloc(1, sizeof *b, "back-projector");
    if (!b) return CG_ERR_NOMEM;
    layout_init(&b->g, D, oversample);
    b->data = grid_alloc(b->g.count * 2, "back-projector Fourier grid");
    if (b->data && with_weight) b->weight = grid_alloc(b->g.count, "back-projector weights");
    if (!b->data || (with_weight && !b->weight)) {
        cg_backprojector_destroy(b);
        return CG_ERR_NOMEM;
    }
    cg_backprojector_reset(b);
    *out = b;
    return CG_OK;
}

cg_status cg_backprojector_create(cg_backprojector **out, int D, int oversample) {
    return bp_create(out, D, oversample, 0);
}

cg_status cg_backprojector_create_weighted(cg_backprojector **out, int D, int oversample) {
    return bp_create(out, D, oversample, 1);
}

void cg_backprojector_destroy(cg_backprojector *b) {
    if (!b) return;
    free(b->data);
    free(b->weight);
    free(b);
}

void cg_backprojector_reset(cg_backprojector *b) {
    memset(b->data, 0, sizeof(float) * 2 * b->g.count);
    if (b->weight) memset(b->weight, 0, sizeof(float) * b->g.count);
}

/* The splat kernel: the transpose of cg_projector_slice's interpolation. For every image
 * point inside the radius, data += w_j * conj?(scale(kx) * spec) at the 8 corners and, when
 * `weight_grid` is given, weight_grid += w_j * (spec_weight ? spec_weight[k] : 1).
 * scale(kx) = adjoint ? m_kx / D^2 : 1. */
static void splat(const grid_layout *g, float *data, float *weight_grid, const double A[9], const cg_complex *spec,
                  const float *spec_weight, int adjoint) {
    const int D = g->D, nh = D / 2 + 1, nx = g->nx;
    const size_t sy = (size_t)nx, sz = (size_t)nx * g->ny;
    const double os = g->oversample;
    const double ax = os * A[0], ay = os * A[1], az = os * A[2];
    const float inv_n = 1.0f / ((float)D * (float)D);
    const size_t o[8] = {0, 1, sy, sy + 1, sz, sz + 1, sz + sy, sz + sy + 1};
    for (int iy = 0; iy < D; iy++) {
        const int ky = cg_fft_freq(iy, D);
        const int kmax = row_kx_max(ky, D);
        const double bx = os * A[3] * ky, by = os * A[4] * ky, bz = os * A[5] * ky;
        const float *in = (const float *)(spec + (size_t)iy * nh);
        const float *win = spec_weight ? spec_weight + (size_t)iy * nh : NULL;
        for (int kx = 0; kx <= kmax; kx++) {
            double qx = bx + ax * kx, qy = by + ay * kx, qz = bz + az * kx;
            float sgn = 1.0f;
            if (qx < 0) {
                qx = -qx;
                qy = -qy;
                qz = -qz;
                sgn = -1.0f;
            }
            float sc = 1.0f;
            if (adjoint) sc = (kx == 0 || 2 * kx == D) ? inv_n : 2.0f * inv_n;
            const float re = sc * in[2 * kx], im = sgn * sc * in[2 * kx + 1];
            tri_pt t;
            tri_setup(g, qx, qy, qz, &t);
            float *c = data + 2 * t.base;
            for (int j = 0; j < 8; j++) {
                c[2 * o[j]] += t.w[j] * re;
                c[2 * o[j] + 1] += t.w[j] * im;
            }
            if (weight_grid) {
                const float wv = win ? win[kx] : 1.0f;
                float *wg = weight_grid + t.base;
                for (int j = 0; j < 8; j++) wg[o[j]] += t.w[j] * wv;
            }
        }
    }
}

void cg_backprojector_insert(cg_backprojector *b, const double A[9], const cg_complex *spec) {
    splat(&b->g, b->data, NULL, A, spec, NULL, 1);
}

void cg_backprojector_insert_weighted(cg_backprojector *b, const double A[9], const cg_complex *spec,
                                      const float *spec_weight) {
    splat(&b->g, b->data, b->weight, A, spec, spec_weight, 0);
}

void cg_backprojector_add(cg_backprojector *dst, const cg_backprojector *src) {
    const size_t n = 2 * dst->g.count;
    for (size_t i = 0; i < n; i++) dst->data[i] += src->data[i];
    if (dst->weight && src->weight)
        for (size_t i = 0; i < dst->g.count; i++) dst->weight[i] += src->weight[i];
}

int cg_backprojector_padded_size(const cg_backprojector *b) { return b->g.M; }

/* Transpose of step 3: fold the extended grid into H (M x M x (M/2+1)); `=`, not `+=`. */
static void fold_grid(const grid_layout *g, const float *data, const float *weight, cg_complex *H_out, float *W_out) {
    const int M = g->M;
    const size_t nH = (size_t)M * M * (M / 2 + 1);
    float *h = (float *)H_out;
    if (h) memset(h, 0, sizeof(float) * 2 * nH);
    if (W_out) memset(W_out, 0, sizeof(float) * nH);
    for (int z = -g->L; z <= g->L; z++)
        for (int y = -g->L; y <= g->L; y++) {
            size_t row = ((size_t)(z + g->L) * g->ny + (y + g->L)) * g->nx;
            for (int x = 0; x <= g->L; x++) {
                int conj;
                size_t i = half_index(x, y, z, M, &conj);
                if (h) {
                    h[2 * i] += data[2 * (row + x)];
                    h[2 * i + 1] += conj ? -data[2 * (row + x) + 1] : data[2 * (row + x) + 1];
                }
                if (W_out && weight) W_out[i] += weight[row + x];
            }
        }
}

cg_status cg_backprojector_get_grid(const cg_backprojector *b, cg_complex *data_half, float *weight_half) {
    if (weight_half && !b->weight)
        return cg_error(CG_ERR_ARG, "back-projector: weights requested from one created without them "
                                    "(use cg_backprojector_create_weighted)");
    fold_grid(&b->g, b->data, b->weight, data_half, weight_half);
    return CG_OK;
}

/* Make the self-conjugate plane x = xp Hermitian: H(y,z) <- (H(y,z) + conj H(-y,-z)) / 2,
 * then scale it by `s`; other planes are scaled by `s_other` by the caller. */
static void symmetrise_plane(cg_complex *H, int M, int xp, float s) {
    const int nh = M / 2 + 1;
    float *h = (float *)H;
    for (int z = 0; z < M; z++)
        for (int y = 0; y < M; y++) {
            int z2 = (M - z) % M, y2 = (M - y) % M;
            size_t i = ((size_t)z * M + y) * nh + xp, j = ((size_t)z2 * M + y2) * nh + xp;
            if (j < i) continue;
            float re = 0.5f * (h[2 * i] + h[2 * j]), im = 0.5f * (h[2 * i + 1] - h[2 * j + 1]);
            h[2 * i] = s * re;
            h[2 * i + 1] = s * im;
            h[2 * j] = s * re;
            h[2 * j + 1] = -s * im;
        }
}

cg_status cg_backprojector_finish(cg_backprojector *b, float *vol) {
    const grid_layout *g = &b->g;
    const int D = g->D, M = g->M, nh = M / 2 + 1;
    const size_t nH = (size_t)M * M * nh, nreal = (size_t)M * M * M;
    padded_buffers pb;
    cg_status s = padded_alloc(M, &pb);
    if (s != CG_OK) return s;
    cg_complex *H = pb.H;
    float *pad = pb.pad;
    cg_fft_plan *plan = pb.plan;
    fold_grid(g, b->data, NULL, H, NULL);
    /* V(x) = sum_half Re(H e^{+}) = M^3 c2r(sym(H) / m): c2r divides by M^3, so scale H by
     * M^3 / m with m = 1 on self-conjugate planes, 2 elsewhere */
    const float m3 = (float)nreal;
    float *h = (float *)H;
    for (size_t i = 0; i < nH; i++) {
        int x = (int)(i % nh);
        if (x != 0 && !(2 * x == M)) {
            h[2 * i] *= 0.5f * m3;
            h[2 * i + 1] *= 0.5f * m3;
        }
    }
    symmetrise_plane(H, M, 0, m3);
    if (M % 2 == 0) symmetrise_plane(H, M, M / 2, m3);
    cg_fft_inverse(plan, H, pad);
    double gf[2048]; /* D <= 2048 (check_sizes) */
    int wrap[2048];
    for (int i = 0; i < D; i++) {
        gf[i] = 1.0 / gridding_factor(i, D, M);
        wrap[i] = ((i - D / 2) % M + M) % M;
    }
    for (int z = 0; z < D; z++)
        for (int y = 0; y < D; y++) {
            const double gzy = gf[z] * gf[y];
            const float *src = pad + ((size_t)wrap[z] * M + wrap[y]) * M;
            float *dst = vol + ((size_t)z * D + y) * D;
            for (int x = 0; x < D; x++) dst[x] = (float)(src[wrap[x]] * gzy * gf[x]);
        }
    cg_fft_plan_destroy(plan);
    cg_fft_free(H);
    cg_fft_free(pad);
    return CG_OK;
}
