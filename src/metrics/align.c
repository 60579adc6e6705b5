/* Rigid registration of one volume onto another over rotations, translations and handedness.
 *
 * Method. Both volumes are Fourier-resized to a working box M and centred at index 0. The
 * moving volume is gridding-corrected (divided by the sinc^2 of the trilinear kernel), padded
 * 2x and transformed once; a rotation Q is then applied in Fourier space, G(k) = F_mov(Q^T k),
 * by trilinear interpolation of the padded spectrum over a low-pass band |k| <= rmax, and the
 * translation comes from the peak of the cross-correlation map IFFT(F_ref conj(G)) (parabolic
 * sub-voxel fit). The score is that peak normalised by both band-limited norms (a Pearson
 * correlation of the low-passed, mean-free maps, at most 1).
 *   1. Global: a super-Fibonacci grid of n_rotations orientations (Alexa, CVPR 2022), both
 *      hands (Q = R or Q = R F, F = diag(-1, 1, 1)), on a coarse box with a strong low-pass.
 *   2. Local: the best n_candidates distinct orientations per hand are refined by a pattern
 *      search over small rotations Exp(w) Q (step halved from 8 degrees to 0.05 degree) on a
 *      finer box with a wider band; the better hand wins.
 *   3. Final: the winner is polished on the full box (capped at 128) when it is larger.
 *
 * Conventions: metrics.h (aligned = cg_volume_transform(mov, Q, t)); a rotation of the volume
 * V'(r) = V(Q^T r) multiplies nothing and turns the spectrum: F'(k) = F(Q^T k) (Q orthogonal).
 * Determinism: scores are stored by grid index and candidates chosen by (score, index); the
 * refinement of each candidate is serial; so results do not depend on the thread count.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/fft.h"
#include "cryogen/geom.h"
#include "cryogen/image.h"
#include "cryogen/metrics.h"

void cg_align_params_default(cg_align_params *p) {
    p->n_rotations = 8000;
    p->coarse_box = 24;
    p->coarse_shells = 7;
    p->refine_box = 64;
    p->n_candidates = 3;
    p->try_mirror = 1;
}

void cg_rotation_grid(int n, double *q) {
    const double phi = sqrt(2.0), psi = 1.533751168755204288118041;
    for (int i = 0; i < n; i++) {
        double s = i + 0.5, t = s / n, r = sqrt(t), R = sqrt(1.0 - t);
        double a = 2 * CG_PI * s / phi, b = 2 * CG_PI * s / psi;
        double v[4] = {r * sin(a), r * cos(a), R * sin(b), R * cos(b)};
        double sign = v[0] < 0 ? -1.0 : 1.0;
        for (int k = 0; k < 4; k++) q[4 * i + k] = sign * v[k];
    }
}

/* ---------------------------------------------------------------- one working level ----- */
typedef struct {
    int M, P, mh, ph;     /* working box, padded box, half widths */
    cg_complex *Fmov;     /* P x P x (P/2+1), moving volume padded, centred at 0 */
    cg_complex *Fref;     /* M x M x (M/2+1), reference centred at 0 */
    int nband;
    int32_t *band_idx;    /* half-complex index in the M grid */
    float *band_k;        /* [nband][3] signed frequency (x, y, z) times 2 (padded units) */
    float *band_w;        /* low-pass weight in [0, 1] */
    uint8_t *band_h;      /* Hermitian multiplicity (1 or 2) */
    double ref_norm2;     /* sum h w^2 |F_ref|^2 */
    int exact_peak;       /* 1: sub-voxel peak height by exact evaluation (refinement levels) */
    cg_fft_plan *plan;    /* M^3 */
} level;

typedef struct {
    cg_complex *H, *H2; /* product spectrum and the copy the inverse FFT destroys */
    float *cc;
} workspace;

static void level_free(level *L) {
    cg_fft_free(L->Fmov);
    cg_fft_free(L->Fref);
    free(L->band_idx);
    free(L->band_k);
    free(L->band_w);
    free(L->band_h);
    cg_fft_plan_destroy(L->plan);
    memset(L, 0, sizeof *L);
}

static double sinc(double x) { return fabs(x) < 1e-9 ? 1.0 : sin(x) / x; }

/* Padded, gridding-corrected spectrum of the centred M^3 volume v. */
static cg_status padded_spectrum(const float *v, int M, cg_complex **out) {
    int P = 2 * M, dims[3] = {P, P, P};
    cg_fft_plan *plan = NULL;
    cg_status st = cg_fft_plan_create(&plan, 3, dims);
    if (st) return st;
    float *pad = cg_fft_alloc_real((size_t)P * P * P);
    *out = cg_fft_alloc_complex((size_t)P * P * (P / 2 + 1));
    if (!pad || !*out) {
        cg_fft_free(pad);
        cg_fft_plan_destroy(plan);
        return CG_ERR_NOMEM;
    }
    memset(pad, 0, sizeof(float) * (size_t)P * P * P);
    int c = M / 2;
    for (int z = 0; z < M; z++)
        for (int y = 0; y < M; y++)
            for (int x = 0; x < M; x++) {
                int dx = x - c, dy = y - c, dz = z - c;
                double g = sinc(CG_PI * dx / P) * sinc(CG_PI * dy / P) * sinc(CG_PI * dz / P);
                size_t d = ((size_t)((dz + P) % P) * P + (size_t)((dy + P) % P)) * P + (size_t)((dx + P) % P);
                pad[d] = (float)(v[((size_t)z * M + y) * M + x] / (g * g));
            }
    cg_fft_forward(plan, pad, *out);
    cg_fft_free(pad);
    cg_fft_plan_destroy(plan);
    return CG_OK;
}

static cg_status level_band(level *L, double rmax, double edge) {
    int M = L->M, mh = L->mh;
    size_t cap = (size_t)M * M * mh;
    L->band_idx = cg_malloc(cap, sizeof(int32_t), "alignment band");
    L->band_k = cg_malloc(cap * 3, sizeof(float), "alignment band");
    L->band_w = cg_malloc(cap, sizeof(float), "alignment band");
    L->band_h = cg_malloc(cap, sizeof(uint8_t), "alignment band");
    if (!L->band_idx || !L->band_k || !L->band_w || !L->band_h) return CG_ERR_NOMEM;
    int n = 0;
    L->ref_norm2 = 0;
    for (int z = 0; z < M; z++)
        for (int y = 0; y < M; y++)
            for (int x = 0; x < mh; x++) {
                int fz = cg_fft_freq(z, M), fy = cg_fft_freq(y, M);
                double r = sqrt((double)x * x + fy * fy + fz * fz);
                if (r == 0 || r > rmax) continue;
                double w = r <= rmax - edge ? 1.0 : 0.5 * (1 + cos(CG_PI * (r - (rmax - edge)) / edge));
                size_t i = ((size_t)z * M + y) * mh + x;
                L->band_idx[n] = (int32_t)i;
                L->band_k[3 * n + 0] = 2.0f * x;
                L->band_k[3 * n + 1] = 2.0f * fy;
                L->band_k[3 * n + 2] = 2.0f * fz;
                L->band_w[n] = (float)w;
                L->band_h[n] = (x == 0 || (M % 2 == 0 && x == M / 2)) ? 1 : 2;
                double a = cabsf(L->Fref[i]);
                L->ref_norm2 += L->band_h[n] * w * w * a * a;
                n++;
            }
    L->nband = n;
    return n > 0 ? CG_OK : cg_error(CG_ERR_ARG, "alignment: empty frequency band (rmax %g)", rmax);
}

static cg_status level_create(level *L, const float *ref, const float *mov, int N, int M, double rmax) {
    memset(L, 0, sizeof *L);
    L->M = M;
    L->P = 2 * M;
    L->mh = M / 2 + 1;
    L->ph = M + 1;
    size_t nm = (size_t)M * M * M;
    int dims[3] = {M, M, M};
    float *a = cg_fft_alloc_real(nm), *b = cg_fft_alloc_real(nm);
    L->Fref = cg_fft_alloc_complex((size_t)M * M * L->mh);
    cg_status st = (!a || !b || !L->Fref) ? CG_ERR_NOMEM : cg_fft_plan_create(&L->plan, 3, dims);
    if (!st) st = cg_volume_resample(ref, N, a, M);
    if (!st) {
        cg_circshift_3d(b, a, M, M, M, -(M / 2), -(M / 2), -(M / 2));
        cg_fft_forward(L->plan, b, L->Fref);
        st = cg_volume_resample(mov, N, a, M);
    }
    if (!st) st = padded_spectrum(a, M, &L->Fmov);
    if (!st) st = level_band(L, rmax, rmax > 6 ? 2.0 : 1.0);
    cg_fft_free(a);
    cg_fft_free(b);
    if (st) level_free(L);
    return st;
}

/* Trilinear sample of the padded half-complex spectrum at (px, py, pz), Hermitian-extended. */
static inline cg_complex sample_padded(const level *L, double px, double py, double pz) {
    int conj = 0;
    if (px < 0) {
        px = -px, py = -py, pz = -pz;
        conj = 1;
    }
    int P = L->P, ph = L->ph;
    int x0 = (int)floor(px), y0 = (int)floor(py), z0 = (int)floor(pz);
    float fx = (float)(px - x0), fy = (float)(py - y0), fz = (float)(pz - z0);
    int y0w = (y0 % P + P) % P, y1w = (y0w + 1) % P, z0w = (z0 % P + P) % P, z1w = (z0w + 1) % P;
    const cg_complex *F = L->Fmov;
#define AT(zz, yy, xx) F[((size_t)(zz) * P + (yy)) * ph + (xx)]
    cg_complex c00 = AT(z0w, y0w, x0) * (1 - fx) + AT(z0w, y0w, x0 + 1) * fx;
    cg_complex c10 = AT(z0w, y1w, x0) * (1 - fx) + AT(z0w, y1w, x0 + 1) * fx;
    cg_complex c01 = AT(z1w, y0w, x0) * (1 - fx) + AT(z1w, y0w, x0 + 1) * fx;
    cg_complex c11 = AT(z1w, y1w, x0) * (1 - fx) + AT(z1w, y1w, x0 + 1) * fx;
#undef AT
    cg_complex v = (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz;
    return conj ? conjf(v) : v;
}

/* Parabolic vertex offset in [-0.5, 0.5] from three samples around a maximum. */
static double parabolic(double ym, double y0, double yp) {
    double d = ym - 2 * y0 + yp;
    if (!(d < 0)) return 0;
    double t = 0.5 * (ym - yp) / d;
    return t < -0.5 ? -0.5 : t > 0.5 ? 0.5 : t;
}

/* c(t) = (1/M^3) sum over the full spectrum of H(k) exp(+2 pi i k.t / M), evaluated exactly
 * at a non-integer t from the band (H is zero elsewhere): the sub-voxel peak height. */
static double cc_at(const level *L, const cg_complex *H, const double t[3]) {
    int M = L->M, h = M / 2;
    /* exp(2 pi i f t_a / M) per axis for integer f in [-M/2, M/2]: separable phase tables */
    cg_complex e[3][M + 1];
    for (int a = 0; a < 3; a++)
        for (int f = -h; f <= h; f++) {
            double ph = 2 * CG_PI * f * t[a] / M;
            e[a][f + h] = (float)cos(ph) + I * (float)sin(ph);
        }
    double acc = 0;
    for (int n = 0; n < L->nband; n++) {
        int kx = (int)(0.5f * L->band_k[3 * n]), ky = (int)lrintf(0.5f * L->band_k[3 * n + 1]);
        int kz = (int)lrintf(0.5f * L->band_k[3 * n + 2]);
        cg_complex v = H[L->band_idx[n]] * e[0][kx + h] * e[1][ky + h] * e[2][kz + h];
        acc += L->band_h[n] * (double)crealf(v);
    }
    return acc / ((double)M * M * M);
}

/* Integer peak of the correlation map, then one parabolic step per axis on the map and one on
 * exact evaluations at +-0.25 voxel; returns the peak height. Scoring the integer-grid peak
 * instead would bias the rotation toward orientations whose peak falls on the grid. */
static double find_peak(const level *L, workspace *ws, double t[3]) {
    int M = L->M;
    size_t best = 0, nm = (size_t)M * M * M;
    for (size_t i = 1; i < nm; i++)
        if (ws->cc[i] > ws->cc[best]) best = i;
    int b[3] = {(int)(best % M), (int)((best / M) % M), (int)(best / ((size_t)M * M))};
    double c0 = ws->cc[best];
    for (int a = 0; a < 3; a++) {
        int lo[3] = {b[0], b[1], b[2]}, hi[3] = {b[0], b[1], b[2]};
        lo[a] = (b[a] + M - 1) % M;
        hi[a] = (b[a] + 1) % M;
        double ym = ws->cc[((size_t)lo[2] * M + lo[1]) * M + lo[0]], yp = ws->cc[((size_t)hi[2] * M + hi[1]) * M + hi[0]];
        t[a] = cg_fft_freq(b[a], M) + parabolic(ym, c0, yp);
    }
    if (!L->exact_peak) return c0;
    double c = cc_at(L, ws->H, t);
    for (int a = 0; a < 3; a++) {
        const double h = 0.25;
        double tm[3] = {t[0], t[1], t[2]}, tp[3] = {t[0], t[1], t[2]};
        tm[a] -= h;
        tp[a] += h;
        double off = parabolic(cc_at(L, ws->H, tm), c, cc_at(L, ws->H, tp)) * 2 * h;
        double tn[3] = {t[0], t[1], t[2]};
        tn[a] += off;
        double cn = cc_at(L, ws->H, tn);
        if (cn > c) c = cn, t[a] = tn[a];
    }
    return c;
}

/* Normalised correlation of ref with mov turned by Q, best over translations (t, level px). */
static double level_score(const level *L, const double Q[9], workspace *ws, double t[3]) {
    int M = L->M;
    memset(ws->H, 0, sizeof(cg_complex) * (size_t)M * M * L->mh);
    double g2 = 0;
    for (int n = 0; n < L->nband; n++) {
        double kx = L->band_k[3 * n], ky = L->band_k[3 * n + 1], kz = L->band_k[3 * n + 2];
        double px = Q[0] * kx + Q[3] * ky + Q[6] * kz; /* Q^T k */
        double py = Q[1] * kx + Q[4] * ky + Q[7] * kz;
        double pz = Q[2] * kx + Q[5] * ky + Q[8] * kz;
        cg_complex g = sample_padded(L, px, py, pz);
        float w = L->band_w[n];
        g2 += L->band_h[n] * (double)w * w * (crealf(g) * crealf(g) + cimagf(g) * cimagf(g));
        ws->H[L->band_idx[n]] = w * w * L->Fref[L->band_idx[n]] * conjf(g);
    }
    /* c2r destroys its input: keep H for the exact sub-voxel evaluation */
    memcpy(ws->H2, ws->H, sizeof(cg_complex) * (size_t)M * M * L->mh);
    cg_fft_inverse(L->plan, ws->H2, ws->cc);
    double c = find_peak(L, ws, t);
    /* norms by Parseval with the same 1/M^3 as c(t) */
    double denom = sqrt(L->ref_norm2 * g2) / ((double)M * M * M);
    return denom > 0 ? c / denom : 0;
}

static cg_status ws_alloc(workspace *ws, int M) {
    ws->H = cg_fft_alloc_complex((size_t)M * M * (M / 2 + 1));
    ws->H2 = cg_fft_alloc_complex((size_t)M * M * (M / 2 + 1));
    ws->cc = cg_fft_alloc_real((size_t)M * M * M);
    return (ws->H && ws->H2 && ws->cc) ? CG_OK : CG_ERR_NOMEM;
}
static void ws_free(workspace *ws) {
    cg_fft_free(ws->H);
    cg_fft_free(ws->H2);
    cg_fft_free(ws->cc);
}

/* ---------------------------------------------------------------- search --------------- */
typedef struct {
    double R[9];
    int mirrored;
    double score;
    double t[3]; /* level pixels */
    int level_M;
} candidate;

/* Q = R F with F = diag(-1, 1, 1) when mirrored: negate the first column. */
static void compose(const double R[9], int mirrored, double Q[9]) {
    memcpy(Q, R, 9 * sizeof(double));
    if (mirrored)
        for (int i = 0; i < 3; i++) Q[3 * i] = -Q[3 * i];
}

typedef struct {
    double score;
    int index;
} scored;

static int by_score_desc(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->index - y->index;
}

/* Score every grid rotation for each hand; keep the best k per hand, 20 degrees apart. */
static cg_status global_search(const level *L, const cg_align_params *p, candidate *out, int *nout) {
    int n = p->n_rotations, nh = p->try_mirror ? 2 : 1, k = p->n_candidates;
    double *q = cg_malloc((size_t)n * 4, sizeof(double), "rotation grid");
    scored *sc = cg_malloc((size_t)n * nh, sizeof(scored), "rotation scores");
    if (!q || !sc) {
        free(q);
        free(sc);
        return CG_ERR_NOMEM;
    }
    cg_rotation_grid(n, q);
    int fail = 0;
#pragma omp parallel
    {
        workspace ws;
        int ok = ws_alloc(&ws, L->M) == CG_OK;
        if (!ok) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 64)
        for (int i = 0; i < n * nh; i++) {
            double R[9], Q[9], t[3];
            cg_quat_to_matrix(q + 4 * (i % n), R);
            compose(R, i / n, Q);
            sc[i].index = i;
            sc[i].score = ok ? level_score(L, Q, &ws, t) : -1;
        }
        ws_free(&ws);
    }
    *nout = 0;
    for (int h = 0; h < nh && !fail; h++) {
        scored *s = sc + (size_t)h * n;
        qsort(s, n, sizeof *s, by_score_desc);
        int got = 0;
        for (int i = 0; i < n && got < k; i++) {
            double R[9];
            cg_quat_to_matrix(q + 4 * (s[i].index % n), R);
            int far = 1;
            for (int j = *nout - got; j < *nout; j++)
                if (cg_rotation_angle_between(R, out[j].R) < CG_DEG2RAD(20.0)) far = 0;
            if (!far) continue;
            candidate *c = &out[(*nout)++];
            memcpy(c->R, R, sizeof c->R);
            c->mirrored = h;
            c->score = s[i].score;
            got++;
        }
    }
    free(q);
    free(sc);
    return fail ? cg_error(CG_ERR_NOMEM, "alignment: no memory for the global search workspaces") : CG_OK;
}

/* Pattern search over R <- Exp(w) R, steps halved from step0 to step_min (degrees). */
static void refine(const level *L, candidate *c, double step0_deg, double step_min_deg, workspace *ws) {
    double Q[9], t[3];
    compose(c->R, c->mirrored, Q);
    double best = level_score(L, Q, ws, t);
    int evals = 1;
    for (double step = step0_deg; step >= step_min_deg && evals < 600;) {
        double best_R[9], best_s = best;
        int moved = 0;
        for (int m = 0; m < 6; m++) {
            double v[3] = {0, 0, 0}, E[9], R[9];
            v[m / 2] = CG_DEG2RAD(m % 2 ? -step : step);
            cg_axis_angle_to_matrix(v, E);
            cg_mat3_mul(E, c->R, R);
            compose(R, c->mirrored, Q);
            double s = level_score(L, Q, ws, t);
            evals++;
            if (s > best_s + 1e-12) {
                best_s = s;
                memcpy(best_R, R, sizeof best_R);
                moved = 1;
            }
        }
        if (moved) {
            memcpy(c->R, best_R, sizeof best_R);
            best = best_s;
        } else {
            step *= 0.5;
        }
    }
    compose(c->R, c->mirrored, Q);
    c->score = level_score(L, Q, ws, c->t);
    c->level_M = L->M;
}

/* Refine each candidate in parallel (each one serially, so the thread count does not matter). */
static cg_status refine_all(const level *L, candidate *c, int nc, double step0, double step_min) {
    int fail = 0;
#pragma omp parallel
    {
        workspace ws;
        int ok = ws_alloc(&ws, L->M) == CG_OK;
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < nc; i++) {
            if (ok) refine(L, &c[i], step0, step_min, &ws);
            else {
#pragma omp atomic write
                fail = 1;
            }
        }
        ws_free(&ws);
    }
    return fail ? cg_error(CG_ERR_NOMEM, "alignment: no memory for the refinement workspaces") : CG_OK;
}

static void fill_result(const candidate *c, int N, double pixel_size_A, double other, cg_align_result *res) {
    memcpy(res->R, c->R, sizeof res->R);
    compose(c->R, c->mirrored, res->Q);
    cg_matrix_to_euler(c->R, &res->rot_rad, &res->tilt_rad, &res->psi_rad);
    for (int i = 0; i < 3; i++) {
        res->shift_px[i] = c->t[i] * (double)N / c->level_M;
        res->shift_A[i] = res->shift_px[i] * pixel_size_A;
    }
    res->mirrored = c->mirrored;
    res->score = c->score;
    res->score_other_hand = other;
}

cg_status cg_align_volumes(const float *ref, const float *mov, int N, double pixel_size_A, const cg_align_params *p_in,
                           cg_align_result *res) {
    cg_align_params p;
    if (p_in) p = *p_in;
    else cg_align_params_default(&p);
    memset(res, 0, sizeof *res);
    if (N < 8) return cg_error(CG_ERR_ARG, "alignment needs boxes of at least 8 voxels (got %d)", N);
    if (p.n_rotations < 1 || p.n_candidates < 1 || p.coarse_box < 8 || p.refine_box < 8 || !(p.coarse_shells >= 2))
        return cg_error(CG_ERR_ARG, "alignment parameters out of range (rotations %d, candidates %d, boxes %d/%d)",
                        p.n_rotations, p.n_candidates, p.coarse_box, p.refine_box);
    int Mc = N < p.coarse_box ? N : p.coarse_box, Mr = N < p.refine_box ? N : p.refine_box;
    double rc = fmin(p.coarse_shells, Mc / 2 - 1), rr = fmax(rc * Mr / Mc, 0.4 * Mr);
    candidate cand[2 * 64];
    int nc = 0, nh = p.try_mirror ? 2 : 1;
    if (p.n_candidates > 64) p.n_candidates = 64;
    level L;
    cg_status st = level_create(&L, ref, mov, N, Mc, rc);
    if (st) return cg_error_prefix(st, "alignment (coarse level)");
    double t0 = cg_time_s();
    st = global_search(&L, &p, cand, &nc);
    CG_DEBUG("alignment: global search of %d rotations x %d hands on %d^3 (band %.1f shells): %.2f s",
             p.n_rotations, nh, Mc, rc, cg_time_s() - t0);
    level_free(&L);
    if (!st) st = level_create(&L, ref, mov, N, Mr, rr);
    if (!st) {
        L.exact_peak = 1;
        t0 = cg_time_s();
        st = refine_all(&L, cand, nc, 8.0, 0.1);
        CG_DEBUG("alignment: local refinement of %d candidates on %d^3 (band %.1f shells): %.2f s", nc, Mr, rr,
                 cg_time_s() - t0);
        level_free(&L);
    }
    if (st) return st;
    candidate best[2];
    for (int h = 0; h < nh; h++) best[h].score = -INFINITY;
    for (int i = 0; i < nc; i++)
        if (cand[i].score > best[cand[i].mirrored].score) best[cand[i].mirrored] = cand[i];
    int win = (nh == 2 && best[1].score > best[0].score) ? 1 : 0;
    int Mf = N < 128 ? N : 128;
    if (Mf > Mr) {
        st = level_create(&L, ref, mov, N, Mf, 0.4 * Mf);
        if (!st) {
            L.exact_peak = 1;
            st = refine_all(&L, &best[win], 1, 1.0, 0.05);
            level_free(&L);
        }
        if (st) return st;
    }
    fill_result(&best[win], N, pixel_size_A, nh == 2 ? best[1 - win].score : NAN, res);
    return CG_OK;
}

cg_status cg_align_apply(const float *mov, int N, const cg_align_result *res, float *aligned) {
    return cg_volume_transform(mov, N, res->Q, res->shift_px, CG_INTERP_CUBIC, aligned);
}
