/* `cryogen simulate`, `demo` and `downsample` end to end through the built tool ($CG_BIN):
 * - same seed with 1 and 2 threads: byte-identical stacks (headers and labels included) and
 *   STAR files;
 * - SNR measured on the outputs (signal variance inside r <= D/2 of clean.mrcs over the
 *   variance of particles - clean) close to the request;
 * - --poses: re-simulating from the written STAR reproduces clean.mrcs (angles, shifts and
 *   defocus survive the STAR round trip);
 * - bad input: non-zero exit, previous outputs untouched; an interrupted run leaves no output;
 * - downsample of the STAR: pixel size scaled, mean preserved, close to 2 x 2 binning;
 *   downsample of a map: a map of D2^3 voxels equal to cg_volume_resample (not a stack of
 *   cropped sections), mean preserved.
 */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryogen/image.h"
#include "cryogen/mrc.h"
#include "cryogen/particles.h"
#include "testutil.h"

static const char *g_bin;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static unsigned char *slurp(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n ? *n : 1);
    if (fread(b, 1, *n, f) != (size_t)*n) *n = -1;
    fclose(f);
    return b;
}

static int same_file(const char *a, const char *b) {
    long na, nb;
    unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
    int ok = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x), free(y);
    return ok;
}

static void test_snr(const char *dir, double want) {
    char p1[4096], p2[4096];
    snprintf(p1, sizeof p1, "%s/clean.mrcs", dir);
    snprintf(p2, sizeof p2, "%s/particles.mrcs", dir);
    cg_mrc_header h1, h2;
    float *c = NULL, *n = NULL;
    CHECK_OK(cg_mrc_read(p1, &h1, &c));
    CHECK_OK(cg_mrc_read(p2, &h2, &n));
    if (!c || !n) return;
    const int D = h1.nx;
    double sv = 0, nv = 0;
    for (int i = 0; i < h1.nz; i++) {
        const float *ci = c + (size_t)i * D * D, *ni = n + (size_t)i * D * D;
        double s = 0, s2 = 0;
        int cnt = 0;
        for (int y = 0; y < D; y++)
            for (int x = 0; x < D; x++) {
                double d = ni[y * D + x] - ci[y * D + x];
                nv += d * d;
                if ((x - D / 2) * (x - D / 2) + (y - D / 2) * (y - D / 2) <= D * D / 4) s += ci[y * D + x], s2 += (double)ci[y * D + x] * ci[y * D + x], cnt++;
            }
        sv += s2 / cnt - (s / cnt) * (s / cnt);
    }
    double snr = (sv / h1.nz) / (nv / ((double)h1.nz * D * D));
    printf("SNR requested %.3g, measured %.4g\n", want, snr);
    /* noise level from a 256-particle pilot: a few % spread (see test_simulate.c) */
    CHECK_CLOSE(snr, want, 0, 0.1);
    free(c), free(n);
}

int main(void) {
    g_bin = getenv("CG_BIN");
    if (!g_bin || access(g_bin, X_OK) != 0) SKIP("CG_BIN (the built cryogen tool) is not set");
    const char *t = cg_test_tmpdir("simulate_cli");
    char d[1024];
    snprintf(d, sizeof d, "%s", t);
    CHECK(sh("%s demo --out %s/demo --n 20 --box 32 -q > /dev/null", g_bin, d) == 0);
    const char *common = "--n 300 --snr 0.3 --seed 7 --shift-A 4 --astig-A 500 --defocus-A 8000:20000 -q";
    CHECK(sh("%s simulate --volume %s/demo/volume.mrc --out %s/a %s -j 1 > /dev/null", g_bin, d, d, common) == 0);
    CHECK(sh("%s simulate --volume %s/demo/volume.mrc --out %s/b %s -j 2 > /dev/null", g_bin, d, d, common) == 0);
    char a[2048], b[2048];
    const char *files[] = {"particles.mrcs", "clean.mrcs"};
    for (int i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s/a/%s", d, files[i]);
        snprintf(b, sizeof b, "%s/b/%s", d, files[i]);
        CHECK_MSG(same_file(a, b), "%s differs between 1 and 2 threads", files[i]);
    }
    snprintf(a, sizeof a, "%s/a/particles.star", d);
    snprintf(b, sizeof b, "%s/b/particles.star", d);
    CHECK(same_file(a, b));
    snprintf(a, sizeof a, "%s/a", d);
    test_snr(a, 0.3);

    /* --poses round trip: noise-free images from the STAR equal clean.mrcs (values in the STAR
     * have 6 decimals: angles to 1e-6 deg, so agreement to ~1e-5 relative) */
    CHECK(sh("%s simulate --volume %s/demo/volume.mrc --poses %s/a/particles.star --snr inf --out %s/c -q > /dev/null", g_bin, d, d, d) == 0);
    cg_mrc_header h;
    float *c1 = NULL, *c2 = NULL;
    snprintf(a, sizeof a, "%s/a/clean.mrcs", d);
    snprintf(b, sizeof b, "%s/c/particles.mrcs", d);
    CHECK_OK(cg_mrc_read(a, &h, &c1));
    CHECK_OK(cg_mrc_read(b, &h, &c2));
    if (c1 && c2) {
        double e = 0, m = 0;
        for (size_t k = 0; k < (size_t)h.nx * h.ny * h.nz; k++) e = fmax(e, fabs(c1[k] - c2[k])), m = fmax(m, fabs(c1[k]));
        printf("--poses round trip: max difference %.2g of max %.3g\n", e, m);
        CHECK(e < 1e-3 * m);
    }
    free(c1), free(c2);

    /* bad input: clear message, exit 2, nothing overwritten */
    long n0, n1;
    unsigned char *before = slurp(a, &n0);
    CHECK(sh("%s simulate --volume %s/demo/volume.mrc --out %s/a --n 10 --defocus-A 5000:1000 2> /dev/null", g_bin, d, d) == 2);
    CHECK(sh("%s simulate --volume %s/demo/volume.mrc --out %s/a --n 10 --snr -1 2> /dev/null", g_bin, d, d) == 2);
    CHECK(sh("%s simulate --volume %s/nonexistent.mrc --out %s/a --n 10 2> /dev/null", g_bin, d, d) != 0);
    unsigned char *after = slurp(a, &n1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0);
    free(before), free(after);

    /* interrupt: SIGINT during a long run leaves no output and no temporary file */
    pid_t pid = fork();
    if (pid == 0) {
        char vol[1100], out[1100];
        snprintf(vol, sizeof vol, "%s/demo/volume.mrc", d);
        snprintf(out, sizeof out, "%s/int", d);
        execl(g_bin, g_bin, "simulate", "--volume", vol, "--out", out, "--n", "2000000", "-q", (char *)NULL);
        _exit(127);
    }
    usleep(600000);
    kill(pid, SIGINT);
    int st;
    waitpid(pid, &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 130, "interrupted simulate exit status %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    CHECK(sh("test -z \"$(ls -A %s/int 2>/dev/null)\"", d) == 0);

    /* downsample the STAR 32 -> 16 px */
    CHECK(sh("%s downsample %s/a/particles.star --box 16 --out %s/ds/small.mrcs -q > /dev/null", g_bin, d, d) == 0);
    cg_particles *p = NULL;
    snprintf(a, sizeof a, "%s/ds/small.star", d);
    CHECK_OK(cg_particles_read(a, &p));
    if (p) {
        CHECK(p->n == 300 && p->image_size == 16);
        CHECK_CLOSE(p->pixel_size_A, 2 * 3.0 * 64 / 32, 1e-4, 0);
        CHECK_OK(cg_particles_open_stacks(p));
        float small[16 * 16], *big = NULL;
        cg_mrc_header hb;
        snprintf(b, sizeof b, "%s/a/particles.mrcs", d);
        CHECK_OK(cg_mrc_read(b, &hb, &big));
        double worst = 1;
        for (int i = 0; big && i < 300; i += 37) {
            CHECK_OK(cg_particles_read_image(p, i, small));
            const float *g = big + (size_t)i * 32 * 32;
            double ms = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
            float bin[256];
            for (int y = 0; y < 16; y++)
                for (int x = 0; x < 16; x++)
                    bin[y * 16 + x] = 0.25f * (g[(2 * y) * 32 + 2 * x] + g[(2 * y) * 32 + 2 * x + 1] + g[(2 * y + 1) * 32 + 2 * x] + g[(2 * y + 1) * 32 + 2 * x + 1]);
            for (int k = 0; k < 256; k++) ms += small[k], mb += bin[k];
            CHECK_CLOSE(ms / 256, mb / 256, 1e-3, 1e-4); /* mean preserved (DC kept exactly) */
            ms /= 256, mb /= 256;
            for (int k = 0; k < 256; k++) sab += (small[k] - ms) * (bin[k] - mb), saa += (small[k] - ms) * (small[k] - ms), sbb += (bin[k] - mb) * (bin[k] - mb);
            worst = fmin(worst, sab / sqrt(saa * sbb));
        }
        /* binning differs from a Fourier crop by its sinc low-pass and a half-pixel offset, and
         * the images are noisy (SNR 0.3): a loose bound */
        printf("downsample vs 2x2 binning: min corr %.3f\n", worst);
        CHECK(worst > 0.6);
        free(big);
        cg_particles_free(p);
    }

    /* downsample of a 3D map 32 -> 16 voxels (the demo box is 32) */
    CHECK(sh("%s downsample %s/demo/volume.mrc --box 16 --out %s/ds/volume16.mrc -q > /dev/null", g_bin, d, d) == 0);
    float *vbig = NULL, *vsmall = NULL;
    cg_mrc_header hbig, hsmall;
    snprintf(a, sizeof a, "%s/demo/volume.mrc", d);
    snprintf(b, sizeof b, "%s/ds/volume16.mrc", d);
    CHECK_OK(cg_mrc_read(a, &hbig, &vbig));
    CHECK_OK(cg_mrc_read(b, &hsmall, &vsmall));
    if (vbig && vsmall) {
        CHECK(hbig.nx == 32 && hbig.nz == 32);
        CHECK_MSG(hsmall.nx == 16 && hsmall.ny == 16 && hsmall.nz == 16 && hsmall.ispg == 1, "map out %d x %d x %d, ispg %d", hsmall.nx, hsmall.ny, hsmall.nz, hsmall.ispg);
        CHECK_CLOSE(hsmall.pixel_size_A[0], 2 * hbig.pixel_size_A[0], 1e-5, 0);
        float *ref = malloc(sizeof(float) * 16 * 16 * 16);
        CHECK_OK(cg_volume_resample(vbig, 32, ref, 16));
        double e = 0, m = 0, sbig = 0, ssmall = 0;
        for (int k = 0; k < 16 * 16 * 16 && hsmall.nz == 16; k++) e = fmax(e, fabs(ref[k] - vsmall[k])), m = fmax(m, fabs(ref[k])), ssmall += vsmall[k];
        for (int k = 0; k < 32 * 32 * 32; k++) sbig += vbig[k];
        printf("map downsample: max difference to cg_volume_resample %.2g of %.3g; mean %.5g -> %.5g\n", e, m, sbig / (32 * 32 * 32), ssmall / (16 * 16 * 16));
        CHECK(e <= 1e-6 * m);
        CHECK_CLOSE(ssmall / (16 * 16 * 16), sbig / (32 * 32 * 32), 1e-4, 1e-6);
        free(ref);
    }
    free(vbig), free(vsmall);
    return cg_test_finish();
}
