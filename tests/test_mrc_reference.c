/* MRC reader and writer against an independent implementation, mrcfile + numpy
 * (tests/mrc_reference.py, run with Debian's /usr/bin/python3):
 *  - every voxel of the real maps in ../shared/data (axis orders 3,1,2 and 2,1,3, extended
 *    headers, a stack without the MAP tag) equals mrcfile's data transposed to v[z][y][x];
 *  - files in modes 0, 1, 2, 6, 12 written by mrcfile in both byte orders read back as numpy reads them;
 *  - files we write pass mrcfile.validate and their header statistics equal numpy's.
 * Skips (77) when python3-mrcfile or the shared data are absent. */
#include <stdint.h>
#include <sys/wait.h>

#include "cryogen/mrc.h"
#include "testutil.h"

static const char *g_py = "/usr/bin/python3";
static char g_script[1024];

static int run_py(const char *args) {
    char cmd[6000];
    snprintf(cmd, sizeof cmd, "%s '%s' %s", g_py, g_script, args);
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static float *read_raw(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    float *v = malloc(n * sizeof(float) + 1);
    size_t got = fread(v, sizeof(float), n + 1, f);
    fclose(f);
    if (got != n) {
        free(v);
        return NULL;
    }
    return v;
}

static void compare(const char *mrc, const char *raw, const char *what) {
    cg_mrc_header h;
    float *v = NULL;
    CHECK_OK(cg_mrc_read(mrc, &h, &v));
    if (!v) return;
    size_t n = (size_t)h.nx * h.ny * h.nz;
    float *ref = read_raw(raw, n);
    CHECK_MSG(ref != NULL, "%s: reference %s missing or of another size than %zu", what, raw, n);
    if (ref) {
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) bad += memcmp(&v[i], &ref[i], 4) != 0;
        CHECK_MSG(bad == 0, "%s: %zu of %zu voxels differ from mrcfile", what, bad, n);
    }
    free(ref);
    free(v);
}

int main(void) {
    const char *src = getenv("CG_SOURCE_DIR");
    snprintf(g_script, sizeof g_script, "%s/tests/mrc_reference.py", src ? src : "..");
    const char *tmp = cg_test_tmpdir("mrc_reference");
    char args[4096];
    snprintf(args, sizeof args, "modes '%s'", tmp);
    int rc = run_py(args);
    if (rc == 3 || rc == 127 || rc < 0) SKIP("%s with numpy and mrcfile is not available", g_py);
    CHECK(rc == 0);
    const int modes[5] = {0, 1, 2, 6, 12};
    char mrc[1200], raw[1200];
    for (int m = 0; m < 5; m++)
        for (int be = 0; be <= 1; be++) {
            snprintf(mrc, sizeof mrc, "%s/mode%d_%s.mrc", tmp, modes[m], be ? "be" : "le");
            snprintf(raw, sizeof raw, "%s/mode%d_%s.raw", tmp, modes[m], be ? "be" : "le");
            compare(mrc, raw, mrc);
        }
    /* our writer, checked by mrcfile: volume, stack, and each mode */
    float d[7 * 6 * 5];
    for (int m = 0; m < 5; m++) {
        /* uint16 needs non-negative values; float16 small ones, since mrcfile.validate sums
         * squares in float16 and would overflow to inf */
        for (int i = 0; i < 210; i++) {
            d[i] = (float)((i * 37) % 101) - (modes[m] == 6 ? 0.0f : 50.0f);
            if (modes[m] == 12) d[i] /= 16.0f;
        }
        snprintf(mrc, sizeof mrc, "%s/ours_mode%d.mrc", tmp, modes[m]);
        CHECK_OK(cg_mrc_write_mode(mrc, d, 7, 6, 5, 1.5f, m % 2, "mrcfile check", modes[m]));
        snprintf(args, sizeof args, "check '%s' 7 6 5", mrc);
        CHECK_MSG(run_py(args) == 0, "mrcfile rejects %s", mrc);
    }
    const char *maps[4] = {"maps/EMD-3001.map", "maps/1jzv.ccp4", "cryodrgn/toy_projections.mrcs", "maps/EMD-3197.map"};
    const char *paths[4];
    for (int i = 0; i < 4; i++) paths[i] = cg_test_data_or_skip(maps[i]);
    snprintf(args, sizeof args, "maps '%s' '%s' '%s' '%s' '%s'", tmp, paths[0], paths[1], paths[2], paths[3]);
    CHECK(run_py(args) == 0);
    for (int i = 0; i < 4; i++) {
        const char *base = strrchr(paths[i], '/') + 1;
        snprintf(raw, sizeof raw, "%s/%s.raw", tmp, base);
        compare(paths[i], raw, paths[i]);
        snprintf(raw, sizeof raw, "%s/%s.txt", tmp, base);
        FILE *f = fopen(raw, "r");
        int nx = 0, ny = 0, nz = 0;
        double px[3] = {0};
        if (f) {
            if (fscanf(f, "%d %d %d %lf %lf %lf", &nx, &ny, &nz, &px[0], &px[1], &px[2]) != 6) nx = 0;
            fclose(f);
        }
        cg_mrc_header h;
        CHECK_OK(cg_mrc_read_header(paths[i], &h));
        CHECK_MSG(h.nx == nx && h.ny == ny && h.nz == nz, "%s: %dx%dx%d, mrcfile %dx%dx%d", base, h.nx, h.ny, h.nz, nx,
                  ny, nz);
        for (int k = 0; k < 3; k++) CHECK_CLOSE(h.pixel_size_A[k], px[k], 1e-6, 1e-6);
    }
    return cg_test_finish();
}
