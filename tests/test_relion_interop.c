/* Interoperability with RELION 3.1 (skipped when relion_reconstruct is not installed):
 * `cryogen simulate` (N = 2000, D = 64, SNR 10, CTF with astigmatism, shifts) of the built-in
 * phantom (blobs sharpened), reconstructed by `relion_reconstruct --i particles.star --o rec.mrc --ctf`, must give
 * FSC >= 0.5 against the input volume up to at least 2/3 of Nyquist. This checks, at once and
 * against third-party code, the STAR writer (3.1 optics + Angstrom origins), the Euler, shift
 * and CTF conventions and the projection itself. The FSC is computed here (a small helper: the
 * metrics module is separate), over Fourier shells of width 1 voxel.
 */
#include <math.h>
#include <unistd.h>

#include "cryogen/fft.h"
#include "cryogen/mrc.h"
#include "cryogen/phantom.h"
#include "testutil.h"

/* fsc[s] for shells s = round(|k|) in [0, D/2) */
static void fsc(const float *a, const float *b, int D, double *out) {
    int dims[3] = {D, D, D};
    cg_fft_plan *p;
    cg_fft_plan_create(&p, 3, dims);
    size_t nh = (size_t)D * D * (D / 2 + 1);
    cg_complex *A = cg_fft_alloc_complex(nh), *B = cg_fft_alloc_complex(nh);
    cg_fft_forward(p, a, A);
    cg_fft_forward(p, b, B);
    double num[1024] = {0}, da[1024] = {0}, db[1024] = {0};
    for (int z = 0; z < D; z++)
        for (int y = 0; y < D; y++)
            for (int x = 0; x <= D / 2; x++) {
                int fz = cg_fft_freq(z, D), fy = cg_fft_freq(y, D);
                int s = (int)lround(sqrt((double)x * x + fy * fy + fz * fz));
                if (s >= D / 2) continue;
                size_t i = ((size_t)z * D + y) * (D / 2 + 1) + x;
                double w = (x == 0 || 2 * x == D) ? 1 : 2; /* Hermitian half counts twice */
                num[s] += w * (crealf(A[i]) * crealf(B[i]) + cimagf(A[i]) * cimagf(B[i]));
                da[s] += w * (crealf(A[i]) * crealf(A[i]) + cimagf(A[i]) * cimagf(A[i]));
                db[s] += w * (crealf(B[i]) * crealf(B[i]) + cimagf(B[i]) * cimagf(B[i]));
            }
    for (int s = 0; s < D / 2; s++) out[s] = num[s] / sqrt(da[s] * db[s] + 1e-300);
    cg_fft_free(A), cg_fft_free(B);
    cg_fft_plan_destroy(p);
}

int main(void) {
    if (system("relion_reconstruct --version > /dev/null 2>&1") != 0)
        SKIP("relion_reconstruct is not installed (Debian package relion 3.1)");
    const char *bin = getenv("CG_BIN");
    if (!bin || access(bin, X_OK) != 0) SKIP("CG_BIN (the built cryogen tool) is not set");
    const char *dir = cg_test_tmpdir("relion_interop");
    if (chdir(dir) != 0) SKIP("cannot enter %s", dir);
    /* the built-in molecule with its blobs sharpened to sigma ~ 0.9 px, so that the volume has
     * signal up to Nyquist (the demo's 1.6-2 px blobs carry almost no power beyond 0.3
     * cycles/px, where the FSC would measure the phantom, not the conventions) */
    const int D = 64;
    cg_blob blobs[CG_PHANTOM_MAX_BLOBS];
    int nb = cg_phantom_blobs(D, blobs);
    for (int i = 0; i < nb; i++) blobs[i].sigma *= 0.5;
    float *vol = malloc(sizeof(float) * D * D * D);
    cg_phantom_render(blobs, nb, D, vol);
    CHECK_OK(cg_mkdir_p("truth"));
    CHECK_OK(cg_mrc_write("truth/volume.mrc", vol, D, D, D, 3.0f, 0, "test_relion_interop"));
    free(vol);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s simulate --volume truth/volume.mrc --n 2000 --snr 10 --seed 11 --shift-A 6 --astig-A 400 "
             "--defocus-A 8000:25000 --out sim -q > /dev/null",
             bin);
    CHECK(system(cmd) == 0);
    /* RELION resolves image names against the working directory: run it inside sim/ */
    CHECK(system("cd sim && relion_reconstruct --i particles.star --o rec.mrc --ctf > relion_reconstruct.log 2>&1") == 0);
    cg_mrc_header ht, hr;
    float *truth = NULL, *rec = NULL;
    CHECK_OK(cg_mrc_read("truth/volume.mrc", &ht, &truth));
    CHECK_OK(cg_mrc_read("sim/rec.mrc", &hr, &rec));
    if (!truth || !rec) return cg_test_finish();
    CHECK(ht.nx == D && hr.nx == D && hr.ny == D && hr.nz == D);
    CHECK_CLOSE(hr.pixel_size_A[0], ht.pixel_size_A[0], 1e-3, 0);
    double f[1024];
    fsc(truth, rec, D, f);
    int last = 0; /* highest shell such that every shell up to it has FSC >= 0.5 */
    while (last + 1 < D / 2 && f[last + 1] >= 0.5) last++;
    printf("FSC(cryogen truth, relion_reconstruct):");
    for (int s = 1; s < D / 2; s += 3) printf(" [%d] %.3f", s, f[s]);
    printf("\nFSC >= 0.5 up to shell %d of %d (%.0f%% of Nyquist; required >= 67%%)\n", last, D / 2, 100.0 * last / (D / 2));
    CHECK(3 * last >= 2 * (D / 2));
    free(truth), free(rec);
    return cg_test_finish();
}
