/* Fourier shell correlation, resolution thresholds, FSC area and the FSC matrix.
 *
 * Conventions in include/cryogen/metrics.h: shells of width one Fourier voxel (nearest-integer
 * radius in cycles/box) from 0 to N/2; sums over the half-complex grid weighted 2 except the
 * kx = 0 and kx = N/2 planes, which equals the sum over the full DFT. The FSC is invariant to
 * where the origin sits (a common phase cancels in A B*), so no centring is needed here.
 *
 * Determinism: shell sums are accumulated per z-plane in double and the planes are added in
 * index order, whatever the number of threads.
 *
 * References: van Heel & Schatz, J. Struct. Biol. 151 (2005) 250 (FSC); Rosenthal & Henderson,
 * J. Mol. Biol. 333 (2003) 721 (0.143); Jeon et al., CryoBench (2024) (FSC area, cycles/pixel);
 * Gupta et al., Multi-CryoGAN (2020) (FSC cross-conformation matrix).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/fft.h"
#include "cryogen/metrics.h"
#include "metrics/metrics_internal.h"

int cg__shell_index(int N, int z, int y, int x, int *weight) {
    double fz = cg_fft_freq(z, N), fy = cg_fft_freq(y, N), fx = x;
    int s = (int)floor(sqrt(fz * fz + fy * fy + fx * fx) + 0.5);
    *weight = (x == 0 || (N % 2 == 0 && x == N / 2)) ? 1 : 2;
    return s <= N / 2 ? s : -1;
}

cg_status cg__spectrum(const float *v, int N, const float *mask, cg_complex **out) {
    *out = NULL;
    size_t n = (size_t)N * N * N, nc = (size_t)N * N * (N / 2 + 1);
    int dims[3] = {N, N, N};
    cg_fft_plan *plan = NULL;
    cg_status st = cg_fft_plan_create(&plan, 3, dims);
    if (st) return st;
    float *tmp = cg_fft_alloc_real(n);
    cg_complex *spec = cg_fft_alloc_complex(nc);
    if (!tmp || !spec) {
        cg_fft_free(tmp);
        cg_fft_free(spec);
        cg_fft_plan_destroy(plan);
        return CG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) tmp[i] = mask ? v[i] * mask[i] : v[i];
    cg_fft_forward(plan, tmp, spec);
    cg_fft_free(tmp);
    cg_fft_plan_destroy(plan);
    *out = spec;
    return CG_OK;
}

/* num[s] = sum w Re(A B*), pa[s] = sum w |A|^2, pb[s] = sum w |B|^2, nvox[s] = sum w. */
cg_status cg__shell_sums(const cg_complex *A, const cg_complex *B, int N, double *num, double *pa, double *pb,
                         int64_t *nvox) {
    int ns = N / 2 + 1, nxh = N / 2 + 1;
    double *part = cg_calloc((size_t)N * ns * 4, sizeof(double), "FSC shell sums");
    if (!part) return CG_ERR_NOMEM;
#pragma omp parallel for schedule(static)
    for (int z = 0; z < N; z++) {
        double *p = part + (size_t)z * ns * 4;
        for (int y = 0; y < N; y++) {
            const cg_complex *a = A + ((size_t)z * N + y) * nxh;
            const cg_complex *b = B + ((size_t)z * N + y) * nxh;
            for (int x = 0; x < nxh; x++) {
                int w, s = cg__shell_index(N, z, y, x, &w);
                if (s < 0) continue;
                double ar = crealf(a[x]), ai = cimagf(a[x]), br = crealf(b[x]), bi = cimagf(b[x]);
                p[4 * s + 0] += w * (ar * br + ai * bi);
                p[4 * s + 1] += w * (ar * ar + ai * ai);
                p[4 * s + 2] += w * (br * br + bi * bi);
                p[4 * s + 3] += w;
            }
        }
    }
    for (int s = 0; s < ns; s++) {
        double t[4] = {0, 0, 0, 0};
        for (int z = 0; z < N; z++)
            for (int k = 0; k < 4; k++) t[k] += part[((size_t)z * ns + s) * 4 + k];
        num[s] = t[0];
        pa[s] = t[1];
        pb[s] = t[2];
        if (nvox) nvox[s] = (int64_t)t[3];
    }
    free(part);
    return CG_OK;
}

double cg__fsc_value(double num, double pa, double pb) {
    double d = sqrt(pa * pb);
    return d > 0 ? num / d : 0.0;
}

double cg_fsc_threshold_shell(const double *fsc, int nshells, double threshold, int *crossed) {
    for (int s = 1; s < nshells; s++) {
        if (fsc[s] < threshold) {
            if (crossed) *crossed = 1;
            double f0 = fsc[s - 1], f1 = fsc[s];
            double t = (f0 - threshold) / (f0 - f1); /* f0 >= threshold > f1, so 0 <= t < 1 */
            return (s - 1) + (t < 0 ? 0 : t > 1 ? 1 : t);
        }
    }
    if (crossed) *crossed = 0;
    return nshells - 1;
}

double cg_fsc_shell_resolution_A(double shell, int N, double pixel_size_A) {
    return shell > 0 ? N * pixel_size_A / shell : INFINITY;
}

double cg_fsc_area(const double *fsc, int nshells, int N) {
    double a = 0;
    for (int s = 1; s < nshells; s++) a += 0.5 * (fsc[s - 1] + fsc[s]) / N;
    return a;
}

void cg_fsc_summarise(cg_fsc_result *r) {
    double s05 = cg_fsc_threshold_shell(r->fsc, r->nshells, 0.5, &r->crossed_05);
    double s0143 = cg_fsc_threshold_shell(r->fsc, r->nshells, 0.143, &r->crossed_0143);
    r->res_fsc05_A = cg_fsc_shell_resolution_A(s05, r->box, r->pixel_size_A);
    r->res_fsc0143_A = cg_fsc_shell_resolution_A(s0143, r->box, r->pixel_size_A);
    r->area = cg_fsc_area(r->fsc, r->nshells, r->box);
}

void cg_fsc_result_free(cg_fsc_result *r) {
    if (!r) return;
    free(r->fsc);
    free(r->power_a);
    free(r->power_b);
    free(r->nvox);
    r->fsc = r->power_a = r->power_b = NULL;
    r->nvox = NULL;
}

cg_status cg_fsc_compute(const float *a, const float *b, int N, double pixel_size_A, const float *mask,
                         cg_fsc_result *out) {
    memset(out, 0, sizeof *out);
    if (N < 2) return cg_error(CG_ERR_ARG, "FSC of a %d^3 volume (at least 2^3 needed)", N);
    if (!(pixel_size_A > 0)) return cg_error(CG_ERR_ARG, "FSC: pixel size %g A must be positive", pixel_size_A);
    int ns = N / 2 + 1;
    out->box = N;
    out->pixel_size_A = pixel_size_A;
    out->nshells = ns;
    out->fsc = cg_calloc(ns, sizeof(double), "FSC curve");
    out->power_a = cg_calloc(ns, sizeof(double), "FSC curve");
    out->power_b = cg_calloc(ns, sizeof(double), "FSC curve");
    out->nvox = cg_calloc(ns, sizeof(int64_t), "FSC curve");
    double *num = cg_calloc(ns, sizeof(double), "FSC curve");
    cg_complex *A = NULL, *B = NULL;
    cg_status st = (!out->fsc || !out->power_a || !out->power_b || !out->nvox || !num) ? CG_ERR_NOMEM : CG_OK;
    if (!st) st = cg__spectrum(a, N, mask, &A);
    if (!st) st = cg__spectrum(b, N, mask, &B);
    if (!st) st = cg__shell_sums(A, B, N, num, out->power_a, out->power_b, out->nvox);
    if (!st) {
        for (int s = 0; s < ns; s++) out->fsc[s] = cg__fsc_value(num[s], out->power_a[s], out->power_b[s]);
        out->fsc[0] = 1.0; /* convention (as RELION): one real DC coefficient carries no correlation */
        cg_fsc_summarise(out);
    }
    cg_fft_free(A);
    cg_fft_free(B);
    free(num);
    if (st) cg_fsc_result_free(out);
    return st;
}

/* Cross term of one pair over precomputed shell indices (serial: pairs run in parallel). */
static void pair_cross(const cg_complex *A, const cg_complex *B, const int16_t *shell, const uint8_t *weight,
                       size_t nc, int ns, double *num) {
    for (int s = 0; s < ns; s++) num[s] = 0;
    for (size_t i = 0; i < nc; i++) {
        int s = shell[i];
        if (s < 0) continue;
        num[s] += weight[i] * ((double)crealf(A[i]) * crealf(B[i]) + (double)cimagf(A[i]) * cimagf(B[i]));
    }
}

static cg_status matrix_tables(int N, int16_t **shell, uint8_t **weight) {
    size_t nc = (size_t)N * N * (N / 2 + 1);
    *shell = cg_malloc(nc, sizeof(int16_t), "FSC shell table");
    *weight = cg_malloc(nc, sizeof(uint8_t), "FSC shell table");
    if (!*shell || !*weight) return CG_ERR_NOMEM;
    for (int z = 0; z < N; z++)
        for (int y = 0; y < N; y++)
            for (int x = 0; x <= N / 2; x++) {
                size_t i = ((size_t)z * N + y) * (N / 2 + 1) + x;
                int w, s = cg__shell_index(N, z, y, x, &w);
                (*shell)[i] = (int16_t)s;
                (*weight)[i] = (uint8_t)w;
            }
    return CG_OK;
}

cg_status cg_fsc_matrix(const float *const *vols, int nvol, int N, const float *mask, double *area) {
    if (nvol < 1) return cg_error(CG_ERR_ARG, "FSC matrix of %d volumes", nvol);
    if (N < 2 || N > 32000) return cg_error(CG_ERR_ARG, "FSC matrix: box %d out of range", N);
    int ns = N / 2 + 1;
    size_t nc = (size_t)N * N * (N / 2 + 1);
    cg_complex **spec = cg_calloc(nvol, sizeof *spec, "FSC matrix spectra");
    double *power = cg_calloc((size_t)nvol * ns, sizeof(double), "FSC matrix powers");
    int16_t *shell = NULL;
    uint8_t *weight = NULL;
    cg_status st = (!spec || !power) ? CG_ERR_NOMEM : matrix_tables(N, &shell, &weight);
    for (int i = 0; i < nvol && !st; i++) {
        st = cg__spectrum(vols[i], N, mask, &spec[i]);
        if (!st) pair_cross(spec[i], spec[i], shell, weight, nc, ns, power + (size_t)i * ns);
    }
    if (!st) {
        int npairs = nvol * (nvol + 1) / 2;
#pragma omp parallel for schedule(dynamic, 1)
        for (int p = 0; p < npairs; p++) {
            int i = 0, rem = p; /* p -> (i, j), j >= i */
            while (rem >= nvol - i) rem -= nvol - i++;
            int j = i + rem;
            double num[ns > 0 ? ns : 1], fsc[ns > 0 ? ns : 1];
            pair_cross(spec[i], spec[j], shell, weight, nc, ns, num);
            for (int s = 0; s < ns; s++)
                fsc[s] = cg__fsc_value(num[s], power[(size_t)i * ns + s], power[(size_t)j * ns + s]);
            fsc[0] = 1.0;
            area[(size_t)i * nvol + j] = area[(size_t)j * nvol + i] = cg_fsc_area(fsc, ns, N);
        }
    }
    for (int i = 0; spec && i < nvol; i++) cg_fft_free(spec[i]);
    free(spec);
    free(power);
    free(shell);
    free(weight);
    return st;
}
