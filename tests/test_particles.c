/* Particle sets from RELION STAR files: units at the file boundary (degrees -> radians, pixel
 * origins -> Angstrom, rlnDetectorPixelSize * 1e4 / rlnMagnification), optics-group constants
 * and per-particle overrides, box and pixel size taken from a stack header when the STAR lacks
 * them, stack path resolution order (STAR directory, then working directory), images read
 * byte-for-byte from the stack, clear errors (missing column, short row, non-numeric value,
 * missing stack, image beyond the stack) naming file and line, and the RELION 3.1 writer:
 * values and unknown columns survive, and RELION 3.1.3 (relion_star_printtable,
 * relion_reconstruct) reads the result. Expected values are the numbers printed in the files. */
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryogen/geom.h"
#include "cryogen/particles.h"
#include "testutil.h"

static const char *tmp;
static char cwd0[1024];

static char *tpath(const char *name) {
    static char bufs[8][1200];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 1200, "%s/%s", tmp, name);
    return b;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static int g_warnings;
static void count_warnings(cg_log_level level, const char *msg, void *user) {
    if (level == CG_LOG_WARN) g_warnings++;
}

#define DEG(x) ((x) * CG_PI / 180.0)

static void test_shifted(void) {
    const char *path = cg_test_data("relion/rln_proj_64_shifted.star");
    if (!path) return;
    cg_particles *p = NULL;
    CHECK_OK(cg_particles_read(path, &p));
    if (!p) return;
    CHECK(p->n == 4 && p->image_size == 64 && p->pixel_size_A == 1.0 && p->has_poses && p->has_shifts && !p->has_ctf);
    CHECK_CLOSE(p->euler_rad[0], DEG(235.820138), 1e-12, 0);
    CHECK_CLOSE(p->euler_rad[11], DEG(154.043384), 1e-12, 0);
    CHECK(p->shift_A[0] == 6.0 && p->shift_A[1] == 10.0 && p->shift_A[6] == -13.0 && p->shift_A[7] == -3.0);
    CHECK(p->nstacks == 1 && p->stack_found[0] && p->image_index[3] == 3);
    CHECK_OK(cg_particles_open_stacks(p));
    /* image 3 equals the stack's raw float32 data at 1024 + 2 * 64 * 64 * 4 */
    float img[64 * 64], raw[64 * 64];
    FILE *f = fopen(p->stack_paths[0], "rb");
    CHECK(f && fseek(f, 1024 + 2 * 64 * 64 * 4, SEEK_SET) == 0 && fread(raw, 4, 64 * 64, f) == 64 * 64);
    if (f) fclose(f);
    CHECK_OK(cg_particles_read_image(p, 2, img));
    CHECK(memcmp(img, raw, sizeof img) == 0);
    CHECK_FAILS(cg_particles_read_image(p, 4, img), CG_ERR_RANGE, "particle 5");
    cg_particles_free(p);
}

/* Pixel origins with a pixel size other than 1, per-particle override of an optics value. */
static void test_units_and_overrides(void) {
    float imgs[3 * 8 * 8] = {0};
    CHECK_OK(cg_mrc_write(tpath("u.mrcs"), imgs, 8, 8, 3, 2.5f, 1, NULL));
    write_text(tpath("u.star"),
               "data_optics\nloop_\n_rlnOpticsGroup\n_rlnVoltage\n_rlnSphericalAberration\n_rlnAmplitudeContrast\n"
               "_rlnImagePixelSize\n_rlnImageSize\n1 300 2.7 0.1 2.5 8\n2 200 2.0 0.07 2.5 8\n\n"
               "data_particles\nloop_\n_rlnImageName\n_rlnOpticsGroup\n_rlnOriginX\n_rlnOriginY\n_rlnDefocusU\n"
               "_rlnDefocusV\n_rlnDefocusAngle\n_rlnPhaseShift\n_rlnAmplitudeContrast\n_rlnRandomSubset\n"
               "1@u.mrcs 1 2 -4 10000 9000 30 90 0.1 1\n2@u.mrcs 2 0.5 0 12000 11000 -45 0 0.2 2\n"
               "3@u.mrcs 2 0 0 12000 11000 0 0 0.07 0\n");
    cg_particles *p = NULL;
    CHECK_OK(cg_particles_read(tpath("u.star"), &p));
    if (!p) return;
    CHECK(p->shift_A[0] == 5.0 && p->shift_A[1] == -10.0 && p->shift_A[2] == 1.25); /* pixels x 2.5 A */
    CHECK(p->ctf[0].voltage_kV == 300 && p->ctf[1].voltage_kV == 200 && p->ctf[1].cs_mm == 2.0);
    CHECK(p->ctf[0].amp_contrast == 0.1 && p->ctf[1].amp_contrast == 0.2 && p->ctf[2].amp_contrast == 0.07);
    CHECK_CLOSE(p->ctf[0].defocus_angle_rad, CG_PI / 6, 1e-12, 0);
    CHECK_CLOSE(p->ctf[1].defocus_angle_rad, -CG_PI / 4, 1e-12, 0);
    CHECK_CLOSE(p->ctf[0].phase_shift_rad, CG_PI / 2, 1e-12, 0);
    CHECK(p->ctf[0].defocus_u_A == 10000 && p->ctf[0].defocus_v_A == 9000 && p->ctf[0].scale == 1.0);
    CHECK(p->random_subset[0] == 1 && p->random_subset[1] == 2 && p->random_subset[2] == 0);
    CHECK(p->optics_group[1] == 2 && !p->has_poses && p->has_shifts && p->has_ctf);
    cg_particles_free(p);
}

static void test_shared_files(void) {
    cg_particles *p = NULL;
    const char *path = cg_test_data("relion/sample_particles_relion31.star");
    if (path) { /* two optics groups (300 / 200 kV); no rlnImageSize: the box comes from sample.mrcs */
        CHECK_OK(cg_particles_read(path, &p));
        if (p) {
            CHECK(p->n == 17 && p->image_size == 200 && p->pixel_size_A == 1.4 && p->nstacks == 1);
            CHECK(p->ctf[0].voltage_kV == 300 && p->ctf[8].voltage_kV == 200 && p->optics_group[8] == 2);
            CHECK(p->ctf[0].defocus_u_A == 21186.804688 && p->ctf[0].defocus_v_A == 21363.109375);
            CHECK_CLOSE(p->euler_rad[3 * 1 + 2], DEG(-114.981686), 1e-12, 0);
            CHECK(p->shift_A[2] == -0.0504 && p->random_subset[0] == 2);
            CHECK_OK(cg_particles_open_stacks(p));
        }
        cg_particles_free(p);
    }
    path = cg_test_data("cryodrgn/empiar_10076_7.star");
    if (path) { /* RELION 3.0: constants per particle, pixel size from detector pixel and magnification */
        CHECK_OK(cg_particles_read(path, &p));
        if (p) {
            CHECK(p->n == 7 && p->image_size == 320 && !p->has_poses && p->has_ctf);
            CHECK_CLOSE(p->pixel_size_A, 5.0 * 1e4 / 38168, 1e-12, 0);
            CHECK(p->ctf[6].defocus_u_A == 15177.4 && p->ctf[6].amp_contrast == 0.07 && p->ctf[6].cs_mm == 2.7);
            CHECK_CLOSE(p->ctf[0].defocus_angle_rad, DEG(5.28), 1e-12, 0);
            CHECK_OK(cg_particles_open_stacks(p));
        }
        cg_particles_free(p);
    }
    path = cg_test_data("cryodrgn/toy_projections.star");
    if (path) { /* no pixel size anywhere in the STAR: taken from the stack header, with a warning */
        g_warnings = 0;
        cg_log_set_callback(count_warnings, NULL);
        CHECK_OK(cg_particles_read(path, &p));
        cg_log_set_callback(NULL, NULL);
        CHECK(g_warnings == 2); /* the pixel size, and the stack's missing MAP tag */
        if (p) {
            CHECK(p->n == 1000 && p->image_size == 30 && p->pixel_size_A == 1.0 && p->ctf[0].cs_mm == 0.001);
            CHECK_CLOSE(p->ctf[999].phase_shift_rad, CG_PI / 2, 1e-12, 0);
        }
        cg_particles_free(p);
    }
    path = cg_test_data("relion/relion5.star");
    if (path) {
        CHECK_OK(cg_particles_read(path, &p));
        if (p) CHECK(p->n == 17 && p->image_size == 448 && p->pixel_size_A == 0.89 && p->nstacks == 2);
        cg_particles_free(p);
    }
}

/* A stack named in the file but absent: reading works, opening names the STAR line. */
static void test_missing_stacks(void) {
    cg_particles *p = NULL;
    const char *path = cg_test_data("relion/trpv1_small_stack.star");
    if (path) {
        CHECK_OK(cg_particles_read(path, &p));
        if (p) {
            CHECK(p->n == 10 && p->image_size == 48 && p->pixel_size_A == 4.88 && p->optics_group[0] == 7);
            CHECK(p->shift_A[0] == -8.149219 && p->random_subset[0] == 2 && !p->stack_found[0]);
            CHECK_FAILS(cg_particles_open_stacks(p), CG_ERR_IO,
                        "trpv1_small_stack.star:32: particle 1 refers to stack ./batch_0_restacked.mrc, which exists neither");
        }
        cg_particles_free(p);
    }
    path = cg_test_data("relion/relion31.star");
    if (path) {
        CHECK_OK(cg_particles_read(path, &p));
        if (p) {
            CHECK(p->n == 5 && p->image_size == 256 && p->pixel_size_A == 2.806);
            CHECK_CLOSE(p->ctf[0].defocus_angle_rad, DEG(-160.39), 1e-12, 0);
            CHECK(p->nstacks == 1 && !strcmp(p->stack_names[0], "relion31.mrcs"));
            CHECK_OK(cg_particles_open_stacks(p)); /* relion31.mrcs: no MAP tag, zero stamp */
        }
        cg_particles_free(p);
    }
}

/* STAR directory first, then the working directory. */
static void test_resolution_order(void) {
    float imgs[4 * 4 * 4] = {0};
    CHECK_OK(cg_mkdir_p(tpath("stars")));
    CHECK_OK(cg_mrc_write(tpath("s.mrcs"), imgs, 4, 4, 4, 1.0f, 1, NULL));
    write_text(tpath("stars/p.star"), "data_\nloop_\n_rlnImageName\n_rlnImagePixelSize\n_rlnImageSize\n4@s.mrcs 1 4\n");
    CHECK(chdir(tmp) == 0);
    cg_particles *p = NULL;
    CHECK_OK(cg_particles_read("stars/p.star", &p)); /* only in the working directory */
    if (p) {
        CHECK(!strcmp(p->stack_paths[0], "s.mrcs") && p->stack_found[0]);
        CHECK_OK(cg_particles_open_stacks(p));
    }
    cg_particles_free(p);
    CHECK_OK(cg_mrc_write(tpath("stars/s.mrcs"), imgs, 4, 4, 2, 1.0f, 1, NULL));
    CHECK_OK(cg_particles_read("stars/p.star", &p)); /* now next to the STAR: that one wins */
    if (p) {
        CHECK(!strcmp(p->stack_paths[0], "stars/s.mrcs"));
        CHECK_FAILS(cg_particles_open_stacks(p), CG_ERR_RANGE,
                    "stars/p.star:6: particle 1 refers to image 4 of stars/s.mrcs, which holds 2");
    }
    cg_particles_free(p);
    CHECK(chdir(cwd0) == 0);
}

typedef struct {
    const char *star, *needle;
    cg_status status;
} bad_case;

static void test_bad_star(void) {
    float imgs[2 * 4 * 4] = {0};
    CHECK_OK(cg_mrc_write(tpath("b.mrcs"), imgs, 4, 4, 2, 1.0f, 1, NULL));
    const char *head = "data_\nloop_\n_rlnImageName\n_rlnDefocusU\n_rlnImagePixelSize\n";
    const bad_case cases[] = {
        {"data_\nloop_\n_rlnDefocusU\n_rlnImagePixelSize\n1 1\n", "bad.star: no particle table", CG_ERR_FORMAT},
        {"data_particles\nloop_\n_rlnDefocusU\n1\n", "bad.star:1: data_particles has no rlnImageName column",
         CG_ERR_FORMAT},
        {"%s1@b.mrcs 100 1\n2@b.mrcs 100\n", "bad.star:7: data_ row 2 has 2 values but the loop declares 3", CG_ERR_FORMAT},
        {"%s1@b.mrcs 100 1\n2@b.mrcs abc 1\n", "bad.star:7: data_ row 2, rlnDefocusU: 'abc' is not a number",
         CG_ERR_FORMAT},
        {"%s1@b.mrcs 100 1\nx@b.mrcs 100 1\n", "bad.star:7: particle 2: rlnImageName 'x@b.mrcs' is not of the form",
         CG_ERR_FORMAT},
        {"%s1@b.mrcs 100 1\n2@b.mrcs 100 1.5\n", "bad.star:7: particle 2: pixel size 1.5 A differs from 1 A",
         CG_ERR_UNSUPPORTED},
        {"data_optics\nloop_\n_rlnOpticsGroup\n_rlnImagePixelSize\n1 1\ndata_particles\nloop_\n_rlnImageName\n"
         "_rlnOpticsGroup\n1@b.mrcs 3\n",
         "bad.star:10: particle 1: rlnOpticsGroup 3 is not in data_optics", CG_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, cases[i].star, head);
        write_text(tpath("bad.star"), text);
        cg_particles *p = (cg_particles *)1;
        CHECK_FAILS(cg_particles_read(tpath("bad.star"), &p), cases[i].status, cases[i].needle);
        CHECK(p == NULL);
    }
    cg_particles *p = NULL;
    CHECK_FAILS(cg_particles_read(tpath("absent.star"), &p), CG_ERR_IO, "absent.star");
    /* a missing stack with no box size in the STAR fails at read time, naming the stack */
    write_text(tpath("nostack.star"), "data_\nloop_\n_rlnImageName\n1@gone.mrcs\n");
    CHECK_FAILS(cg_particles_read(tpath("nostack.star"), &p), CG_ERR_FORMAT, "cannot find");
}

static int sh(const char *cmd) {
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* RELION 3.1.3 reads what we write: printtable gives our values; relion_reconstruct runs. */
static void check_with_relion(const char *star, const cg_particles *p) {
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "relion_star_printtable '%s' data_particles rlnAngleTilt rlnOriginXAngst > '%s' 2>&1", star,
             tpath("relion_print.txt"));
    if (sh(cmd) == 127) {
        printf("note: RELION not installed; skipping the RELION checks\n");
        return;
    }
    FILE *f = fopen(tpath("relion_print.txt"), "r");
    double tilt, ox;
    int64_t i = 0, bad = 0;
    while (f && fscanf(f, "%lf %lf", &tilt, &ox) == 2 && i < p->n) {
        bad += fabs(tilt - CG_RAD2DEG(p->euler_rad[3 * i + 1])) > 1e-5 || fabs(ox - p->shift_A[2 * i]) > 1e-5;
        i++;
    }
    if (f) fclose(f);
    CHECK_MSG(i == p->n && bad == 0, "relion_star_printtable read %lld rows, %lld differ", (long long)i, (long long)bad);
    snprintf(cmd, sizeof cmd, "relion_reconstruct --i '%s' --o '%s' > '%s' 2>&1", star, tpath("relion_vol.mrc"),
             tpath("relion_log.txt"));
    int rc = sh(cmd);
    cg_mrc_header h;
    CHECK_MSG(rc == 0, "relion_reconstruct failed on %s (see %s)", star, tpath("relion_log.txt"));
    if (rc == 0) {
        CHECK_OK(cg_mrc_read_header(tpath("relion_vol.mrc"), &h));
        CHECK(h.nx == p->image_size && h.nz == p->image_size);
    }
}

static void test_write(void) {
    cg_particles *p = NULL, *q = NULL;
    const char *path = cg_test_data("relion/sample_particles_relion31.star");
    if (path) { /* read-modify-write keeps unknown columns and every value */
        CHECK_OK(cg_particles_read(path, &p));
        if (p) {
            p->euler_rad[0] = 0.5;
            CHECK_OK(cg_particles_write_star(p, tpath("rw.star"), NULL, "test"));
            CHECK_OK(cg_particles_read(tpath("rw.star"), &q));
        }
        if (p && q) {
            CHECK(q->n == p->n && q->image_size == p->image_size && q->pixel_size_A == p->pixel_size_A);
            double worst = 0;
            for (int64_t i = 0; i < 3 * p->n; i++) worst = fmax(worst, fabs(q->euler_rad[i] - p->euler_rad[i]));
            for (int64_t i = 0; i < 2 * p->n; i++) worst = fmax(worst, fabs(q->shift_A[i] - p->shift_A[i]));
            for (int64_t i = 0; i < p->n; i++)
                worst = fmax(worst, fabs(q->ctf[i].defocus_u_A - p->ctf[i].defocus_u_A) +
                                        fabs(q->ctf[i].voltage_kV - p->ctf[i].voltage_kV));
            CHECK(worst < 1e-6);
            CHECK(fabs(q->euler_rad[0] - 0.5) < 1e-7 && q->ctf[8].voltage_kV == 200 && q->random_subset[0] == 2);
            const cg_star_block *a = cg_star_find_block(p->star, "particles"), *b = cg_star_find_block(q->star, "particles");
            int kept = 0;
            for (const char *const *l = (const char *const[]){"rlnCoordinateX", "rlnMicrographName", "rlnAutopickFigureOfMerit",
                                                               "rlnLogLikeliContribution", "rlnNrOfSignificantSamples", NULL};
                 *l; l++) {
                int ca = cg_star_find_col(a, *l), cb = cg_star_find_col(b, *l);
                int same = ca >= 0 && cb >= 0;
                for (int64_t i = 0; same && i < p->n; i++) same = !strcmp(cg_star_get(a, i, ca), cg_star_get(b, i, cb));
                kept += same;
            }
            CHECK(kept == 5);
            CHECK_OK(cg_particles_open_stacks(q));
        }
        cg_particles_free(p);
        cg_particles_free(q);
        p = q = NULL;
    }
    path = cg_test_data("relion/rln_proj_64_centered.star");
    if (path) {
        CHECK_OK(cg_particles_read(path, &p));
        if (p) {
            CHECK_OK(cg_particles_write_star(p, tpath("rln.star"), NULL, NULL));
            check_with_relion(tpath("rln.star"), p);
        }
        cg_particles_free(p);
        p = NULL;
    }
    /* a new set written with a stack name: particle i is image i + 1 */
    CHECK_OK(cg_particles_alloc(&p, 3, 8, 2.0));
    if (!p) return;
    float imgs[3 * 64];
    for (int i = 0; i < 3 * 64; i++) imgs[i] = (float)i;
    CHECK_OK(cg_mrc_write(tpath("sim.mrcs"), imgs, 8, 8, 3, 2.0f, 1, NULL));
    p->has_poses = p->has_shifts = p->has_ctf = 1;
    p->euler_rad[3] = 1.0, p->shift_A[5] = -3.25, p->ctf[2].defocus_u_A = 15000, p->ctf[2].voltage_kV = 200;
    CHECK_OK(cg_particles_write_star(p, tpath("sim.star"), "sim.mrcs", NULL));
    CHECK_OK(cg_particles_read(tpath("sim.star"), &q));
    if (q) {
        CHECK(q->n == 3 && q->image_index[2] == 2 && fabs(q->euler_rad[3] - 1.0) < 1e-7 && q->shift_A[5] == -3.25);
        CHECK(q->ctf[2].defocus_u_A == 15000 && q->ctf[2].voltage_kV == 200 && q->ctf[0].voltage_kV == 300);
        CHECK(q->optics_group[2] == 2 && q->optics_group[0] == 1);
        float img[64];
        CHECK_OK(cg_particles_open_stacks(q));
        CHECK_OK(cg_particles_read_image(q, 2, img));
        CHECK(img[0] == 128.0f);
    }
    CHECK_FAILS(cg_particles_write_star(p, tpath("unnamed.star"), NULL, NULL), CG_ERR_ARG, "no stack name");
    CHECK(!cg_file_exists(tpath("unnamed.star")));
    cg_particles_free(p);
    cg_particles_free(q);
}

int main(void) {
    if (!getcwd(cwd0, sizeof cwd0)) return 1;
    tmp = cg_test_tmpdir("particles");
    if (tmp[0] != '/') { /* chdir below needs an absolute path */
        static char abs_tmp[2100];
        snprintf(abs_tmp, sizeof abs_tmp, "%s/%s", cwd0, tmp);
        tmp = abs_tmp;
    }
    test_units_and_overrides();
    test_resolution_order();
    test_bad_star();
    test_write();
    if (!cg_test_data("relion/rln_proj_64_shifted.star")) {
        printf("note: ../shared/data absent; real-file checks skipped\n");
        return cg_test_finish();
    }
    test_shifted();
    test_shared_files();
    test_missing_stacks();
    return cg_test_finish();
}
