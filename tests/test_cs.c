/* cryoSPARC .cs (NumPy structured arrays): the fields and every numeric value of
 * cryodrgn/empiar_10076_7.cs as numpy reads them (tests/cs_reference.py dump), its particles
 * (no poses; CTF equal to the same particles' RELION 3.0 STAR), the pose mapping on a synthetic
 * file written by numpy from known RELION angles (cryoDRGN's rule A = expmap(pose)^T), and
 * malformed files built in memory: wrong magic, truncated records, a header past the end,
 * Python-object fields, nested and 2-D arrays, and broken header literals. */
#include <math.h>
#include <sys/wait.h>

#include "cryogen/cs.h"
#include "cryogen/geom.h"
#include "cryogen/particles.h"
#include "testutil.h"

static const char *tmp;
static char g_script[1024];

static int run_py(const char *cmd, const char *arg, const char *out) {
    char buf[3000];
    snprintf(buf, sizeof buf, "/usr/bin/python3 '%s' %s '%s' > '%s' 2>&1", g_script, cmd, arg, out ? out : "/dev/null");
    int rc = system(buf);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void test_empiar(void) {
    const char *path = cg_test_data("cryodrgn/empiar_10076_7.cs");
    if (!path) {
        printf("note: ../shared/data absent; skipping empiar_10076_7.cs\n");
        return;
    }
    cg_cs *cs = NULL;
    CHECK_OK(cg_cs_read(path, &cs));
    if (!cs) return;
    CHECK(cg_cs_nrows(cs) == 7 && cg_cs_nfields(cs) == 24 && cg_cs_version(cs) == 1);
    /* numpy 1.24.2 reads ctf/df1_A as these float32 values */
    const float df1[7] = {15301.1f, 15303.0f, 15150.7f, 15181.9f, 15366.8f, 15305.0f, 15177.4f};
    double *v = NULL;
    int64_t count = 0;
    CHECK_OK(cg_cs_get_double(cs, "ctf/df1_A", &v, &count));
    for (int i = 0; v && i < 7; i++) CHECK(v[i] == (double)df1[i]);
    free(v);
    char s[128];
    CHECK_OK(cg_cs_get_string(cs, "blob/path", 6, s, sizeof s));
    CHECK(!strcmp(s, "empiar_10076_7.mrc"));
    CHECK_FAILS(cg_cs_get_double(cs, "blob/path", &v, NULL), CG_ERR_FORMAT, "'|S63', not a number");
    CHECK_FAILS(cg_cs_get_double(cs, "alignments3D/pose", &v, NULL), CG_ERR_FORMAT, "no field 'alignments3D/pose'");
    /* every field and value against numpy */
    char out[1200];
    snprintf(out, sizeof out, "%s/dump.txt", tmp);
    if (run_py("dump", path, out) != 0) {
        printf("note: /usr/bin/python3 with numpy unavailable; skipping the full comparison\n");
    } else {
        FILE *f = fopen(out, "r");
        char kind[4], name[128], dtype[32];
        long long a, b;
        double x;
        int nf = 0, nv = 0, bad = 0;
        while (f && fscanf(f, "%3s %127s", kind, name) == 2) {
            int fi = cg_cs_find_field(cs, name);
            const cg_cs_field *fd = cg_cs_field_at(cs, fi);
            if (kind[0] == 'F' && fscanf(f, "%31s %lld %lld", dtype, &a, &b) == 3) {
                nf++;
                bad += !fd || strcmp(fd->dtype, dtype) || fd->count != a || fd->offset != b;
            } else if (kind[0] == 'V' && fscanf(f, "%lld %lld %lf", &a, &b, &x) == 3) {
                nv++;
                double *col = NULL;
                int64_t cnt = 0;
                if (cg_cs_get_double(cs, name, &col, &cnt) != CG_OK || col[a * cnt + b] != x) bad++;
                free(col);
            }
        }
        if (f) fclose(f);
        CHECK_MSG(nf == 24 && nv > 100 && bad == 0, "%d fields, %d values from numpy, %d differ", nf, nv, bad);
    }
    cg_cs_free(cs);
    /* as particles: no poses (said gracefully), CTF as in the RELION 3.0 STAR of the same particles */
    cg_particles *p = NULL, *q = NULL;
    CHECK_OK(cg_particles_read(path, &p));
    const char *star = cg_test_data("cryodrgn/empiar_10076_7.star");
    if (star) CHECK_OK(cg_particles_read(star, &q));
    if (p && q) {
        CHECK(p->n == 7 && !p->has_poses && !p->has_shifts && p->has_ctf && p->image_size == 320);
        CHECK_CLOSE(p->pixel_size_A, q->pixel_size_A, 1e-6, 0);
        for (int i = 0; i < 7; i++) {
            CHECK_CLOSE(p->ctf[i].defocus_u_A, q->ctf[i].defocus_u_A, 0, 1e-7);
            CHECK_CLOSE(p->ctf[i].defocus_v_A, q->ctf[i].defocus_v_A, 0, 1e-7);
            CHECK_CLOSE(p->ctf[i].defocus_angle_rad, q->ctf[i].defocus_angle_rad, 1e-7, 0);
            CHECK_CLOSE(p->ctf[i].amp_contrast, q->ctf[i].amp_contrast, 1e-7, 0);
            CHECK(p->ctf[i].voltage_kV == 300 && p->image_index[i] == i);
        }
        CHECK_OK(cg_particles_open_stacks(p));
    }
    cg_particles_free(p);
    cg_particles_free(q);
}

static void test_poses(void) {
    char cs_path[1200], ref[1300], stack[1200];
    snprintf(cs_path, sizeof cs_path, "%s/poses.cs", tmp);
    snprintf(ref, sizeof ref, "%s.ref", cs_path);
    int rc = run_py("poses", cs_path, NULL);
    if (rc != 0) {
        printf("note: /usr/bin/python3 with numpy unavailable (%d); skipping the pose mapping check\n", rc);
        return;
    }
    snprintf(stack, sizeof stack, "%s/sub", tmp);
    CHECK_OK(cg_mkdir_p(stack));
    snprintf(stack, sizeof stack, "%s/sub/stack.mrcs", tmp);
    static float imgs[20 * 256];
    for (int i = 0; i < 20 * 256; i++) imgs[i] = (float)(i / 256);
    CHECK_OK(cg_mrc_write(stack, imgs, 16, 16, 20, 1.5f, 1, NULL));
    cg_particles *p = NULL;
    CHECK_OK(cg_particles_read(cs_path, &p));
    FILE *f = fopen(ref, "r");
    if (!p || !f) {
        if (f) fclose(f);
        cg_particles_free(p);
        CHECK(0);
        return;
    }
    CHECK(p->n == 20 && p->has_poses && p->has_shifts && p->image_size == 16 && fabs(p->pixel_size_A - 1.5) < 1e-6);
    double worst = 0, worst_shift = 0;
    int generic = 0; /* rotations far from their transpose, so that a missing transpose would fail */
    for (int i = 0; i < 20; i++) {
        double e[3], Aref[9], sh[2], A[9];
        for (int k = 0; k < 3; k++) CHECK(fscanf(f, "%lf", &e[k]) == 1);
        for (int k = 0; k < 9; k++) CHECK(fscanf(f, "%lf", &Aref[k]) == 1);
        for (int k = 0; k < 2; k++) CHECK(fscanf(f, "%lf", &sh[k]) == 1);
        cg_euler_to_matrix(p->euler_rad[3 * i], p->euler_rad[3 * i + 1], p->euler_rad[3 * i + 2], A);
        worst = fmax(worst, cg_rotation_angle_between(A, Aref));
        double At[9];
        cg_mat3_transpose(Aref, At);
        generic += cg_rotation_angle_between(Aref, At) > 0.1;
        worst_shift = fmax(worst_shift, fabs(p->shift_A[2 * i] - 1.5 * sh[0]) + fabs(p->shift_A[2 * i + 1] - 1.5 * sh[1]));
        CHECK(p->random_subset[i] == 1 + i % 2 && p->image_index[i] == 19 - i && p->ctf[i].defocus_u_A == 12000 + i);
    }
    fclose(f);
    CHECK_MSG(worst < 1e-5, "pose mapping off by %g rad", worst);
    CHECK_MSG(worst_shift < 1e-5, "shift mapping off by %g A", worst_shift);
    CHECK_MSG(generic >= 15, "only %d of 20 reference rotations tell A from A^T", generic);
    CHECK_OK(cg_particles_open_stacks(p)); /* '>' stripped, resolved next to the .cs file */
    float img[256];
    CHECK_OK(cg_particles_read_image(p, 0, img));
    CHECK(img[0] == 19.0f);
    cg_particles_free(p);
}

/* A small valid npy image: 3 records of (<f4 'a', <u2 'b' (2,)). */
static size_t make_npy(unsigned char *buf, const char *dict, int version, int nrec) {
    size_t hl = strlen(dict), pre = version == 1 ? 10 : 12;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)version, buf[7] = 0;
    if (version == 1) buf[8] = (unsigned char)hl, buf[9] = (unsigned char)(hl >> 8);
    else buf[8] = (unsigned char)hl, buf[9] = (unsigned char)(hl >> 8), buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, hl);
    unsigned char *d = buf + pre + hl;
    for (int r = 0; r < nrec; r++) {
        float a = 1.5f * r;
        memcpy(d + 8 * r, &a, 4);
        d[8 * r + 4] = (unsigned char)r, d[8 * r + 5] = 0, d[8 * r + 6] = 7, d[8 * r + 7] = 1;
    }
    return pre + hl + 8 * (size_t)nrec;
}

static void test_memory_and_errors(void) {
    static unsigned char buf[4096];
    const char *good = "{'descr': [('a', '<f4'), ('b', '<u2', (2,))], 'fortran_order': False, 'shape': (3,), }   \n";
    cg_cs *cs = NULL;
    for (int version = 1; version <= 3; version += 2) {
        size_t n = make_npy(buf, good, version, 3);
        CHECK_OK(cg_cs_parse_memory(buf, n, "good.npy", &cs));
        if (cs) {
            double *v = NULL;
            int64_t cnt = 0;
            CHECK(cg_cs_nrows(cs) == 3 && cg_cs_record_bytes(cs) == 8);
            CHECK_OK(cg_cs_get_double(cs, "b", &v, &cnt));
            CHECK(v && cnt == 2 && v[4] == 2 && v[5] == 263);
            free(v);
            CHECK_OK(cg_cs_get_double(cs, "a", &v, &cnt));
            CHECK(v && v[2] == 3.0);
            free(v);
        }
        cg_cs_free(cs);
        cs = NULL;
    }
    size_t n = make_npy(buf, good, 1, 3);
    CHECK_FAILS(cg_cs_parse_memory(buf, n - 1, "t.cs", &cs), CG_ERR_FORMAT,
                "t.cs: the header declares 3 records of 8 bytes (24 bytes) but the file holds 23 bytes");
    buf[1] = 'X';
    CHECK_FAILS(cg_cs_parse_memory(buf, n, "m.cs", &cs), CG_ERR_FORMAT, "m.cs: not a NumPy");
    make_npy(buf, good, 1, 3);
    buf[8] = 0xff, buf[9] = 0x7f;
    CHECK_FAILS(cg_cs_parse_memory(buf, n, "h.cs", &cs), CG_ERR_FORMAT, "runs past the end");
    make_npy(buf, good, 7, 0);
    CHECK_FAILS(cg_cs_parse_memory(buf, 200, "v.cs", &cs), CG_ERR_UNSUPPORTED, "version 7");
    const struct {
        const char *dict, *needle;
        cg_status status;
    } bad[] = {
        {"{'descr': [('p', '|O')], 'fortran_order': False, 'shape': (3,), }", "Python objects", CG_ERR_UNSUPPORTED},
        {"{'descr': [('p', [('x', '<f4')])], 'shape': (3,), }", "nested structure", CG_ERR_UNSUPPORTED},
        {"{'descr': '<f4', 'shape': (3, 2), }", "2-dimensional", CG_ERR_UNSUPPORTED},
        {"{'shape': (3,), }", "lacks 'descr'", CG_ERR_FORMAT},
        {"{'descr': [('a', '<f4'), ", "expected a field tuple", CG_ERR_FORMAT},
        {"{'descr': [('a, '<f4')], 'shape': (3,)}", "npy header", CG_ERR_FORMAT},
        {"{'descr': [('a', '<c8')], 'shape': (3,)}", "dtype '<c8'", CG_ERR_UNSUPPORTED},
        {"{'descr': [('a', '<f3')], 'shape': (3,)}", "dtype '<f3'", CG_ERR_UNSUPPORTED},
        {"{'descr': [('a', '<f4', (99999999,))], 'shape': (3,)}", "field shape too large", CG_ERR_FORMAT},
        {"{'descr': [('a', '<f8', (16000000,))], 'shape': (99999999999,)}", "overflow", CG_ERR_FORMAT},
        {"{'x': [[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]], 'descr': '<f4', 'shape': (1,)}", "nesting too deep",
         CG_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = make_npy(buf, bad[i].dict, 1, 0);
        cs = (cg_cs *)1;
        CHECK_FAILS(cg_cs_parse_memory(buf, n, "bad.cs", &cs), bad[i].status, bad[i].needle);
        CHECK(cs == NULL);
    }
    CHECK_FAILS(cg_cs_read("/nonexistent.cs", &cs), CG_ERR_IO, "/nonexistent.cs");
}

int main(void) {
    tmp = cg_test_tmpdir("cs");
    const char *src = getenv("CG_SOURCE_DIR");
    snprintf(g_script, sizeof g_script, "%s/tests/cs_reference.py", src ? src : "..");
    test_memory_and_errors();
    test_empiar();
    test_poses();
    return cg_test_finish();
}
