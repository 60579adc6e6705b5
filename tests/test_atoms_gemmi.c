/* Interoperability: the potential map cryogen makes from an atomic model agrees with the map
 * Debian's gemmi makes from the same model with the same electron scattering factors
 * (DensityCalculatorE, point-sampled). Criterion of the issue: correlation >= 0.95 after
 * matching resolution; we compare both raw and after a Gaussian low-pass to 2 pixels, which
 * removes the difference between gemmi's point sampling and our voxel averaging. */
#include <math.h>

#include "cryogen/atoms.h"
#include "cryogen/fft.h"
#include "cryogen/metrics.h"
#include "testutil.h"

static double correlation(const float *a, const float *b, size_t n) {
    return cg_real_space_correlation(a, b, n, NULL);
}

/* multiply the spectrum by exp(-k^2 / (2 s^2)), s in cycles/voxel */
static void lowpass(float *v, int D, double s) {
    int dims[3] = {D, D, D};
    cg_fft_plan *p;
    if (cg_fft_plan_create(&p, 3, dims)) return;
    cg_complex *F = cg_fft_alloc_complex(cg_fft_complex_count(p));
    cg_fft_forward(p, v, F);
    int H = D / 2 + 1;
    for (int z = 0; z < D; z++)
        for (int y = 0; y < D; y++)
            for (int x = 0; x < H; x++) {
                double kz = cg_fft_freq(z, D) / (double)D, ky = cg_fft_freq(y, D) / (double)D, kx = x / (double)D;
                F[((size_t)z * D + y) * H + x] *= (float)exp(-(kx * kx + ky * ky + kz * kz) / (2 * s * s));
            }
    cg_fft_inverse(p, F, v);
    cg_fft_free(F);
    cg_fft_plan_destroy(p);
}

int main(void) {
    if (system("/usr/bin/python3 -c 'import gemmi, numpy' 2>/dev/null") != 0)
        SKIP("python3-gemmi or python3-numpy not installed (make test-deps installs them)");
    const char *model = cg_test_data_or_skip("pdb/8zpm.cif");
    const char *src = getenv("CG_SOURCE_DIR");
    if (!src) src = ".";
    cg_atoms *a;
    CHECK_OK(cg_atoms_read(model, CG_ATOMS_FIRST_MODEL, &a));
    if (!a) return cg_test_finish();
    const int D = 80;
    const double h = 1.5;
    double c[3];
    cg_atoms_centroid(a->atoms, a->n, c);
    const char *tmp = cg_test_tmpdir("atoms_gemmi");
    char out[1200], cmd[4096];
    snprintf(out, sizeof out, "%s/gemmi.f32", tmp);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/scripts/gemmi_density.py' '%s' %d %.6f %.6f %.6f %.6f '%s'", src,
             model, D, h, c[0], c[1], c[2], out);
    CHECK_MSG(system(cmd) == 0, "%s failed", cmd);
    size_t n = (size_t)D * D * D;
    float *g = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
    FILE *f = fopen(out, "rb");
    CHECK(f && fread(g, sizeof(float), n, f) == n);
    if (f) fclose(f);
    cg_gauss_opts o = cg_gauss_opts_default();
    CHECK_OK(cg_atoms_to_volume(a->atoms, a->n, &o, D, h, c, v));
    double tg = 0, tv = 0;
    for (size_t i = 0; i < n; i++) {
        tg += g[i];
        tv += v[i];
    }
    double raw = correlation(g, v, n);
    lowpass(g, D, 0.25);
    lowpass(v, D, 0.25);
    double filt = correlation(g, v, n);
    printf("8zpm.cif, D=%d, %.2f A/px: total potential cryogen %.1f gemmi %.1f; correlation raw %.4f, "
           "low-passed %.4f\n", D, h, tv * h * h * h, tg * h * h * h, raw, filt);
    CHECK_MSG(filt >= 0.95, "low-passed correlation %.4f < 0.95", filt);
    CHECK_CLOSE(tv, tg, 0, 0.01); /* same scattering factors: same integral within 1% */
    free(g);
    free(v);
    cg_atoms_free(a);
    return cg_test_finish();
}
