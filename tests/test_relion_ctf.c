/* CTF and shift conventions pinned against RELION itself: relion_project (RELION 3.1, when
 * installed; skipped otherwise) projects our built-in phantom with a hand-written RELION 3.1
 * STAR (angles, rlnOriginXAngst/YAngst, strongly astigmatic rlnDefocusU/V/Angle, phase shift 0)
 * and --ctf. Our composition slice -> shift by -origin -> CTF (cg_ctf_fill_half) -> inverse FFT
 * must correlate >= 0.99 with every image, and each wrong variant of CONVENTIONS.md must fail:
 * CTF sign flipped (correlation ~ -1), defocus angle negated, dU and dV swapped, +origin.
 */
#include <math.h>
#include <unistd.h>

#include "cryogen/ctf.h"
#include "cryogen/geom.h"
#include "cryogen/mrc.h"
#include "cryogen/phantom.h"
#include "cryogen/project.h"
#include "cryogen/metrics.h"
#include "testutil.h"

typedef struct {
    double rot, tilt, psi, ox_A, oy_A, dU, dV, ang;
} part;

/* astigmatism 6000 A so that the angle and U/V variants change the rings visibly at 2 A/px */
static const part g_parts[] = {
    {20, 40, 60, 0, 0, 15000, 9000, 45},     {150, 100, -30, 4.0, -6.0, 12000, 6000, 75},
    {-70, 130, 200, -8.5, 3.25, 18000, 12000, 120}, {300, 20, 10, 2.0, 10.0, 10000, 16000, 160},
    {45, 90, 135, -3.0, -3.0, 14000, 8000, 10},
};
#define NP ((int)(sizeof g_parts / sizeof g_parts[0]))

typedef enum { V_OK, V_SIGN, V_ANGLE, V_SWAP, V_PLUS_ORIGIN } variant;

/* Pearson correlation (cg_real_space_correlation, tested in test_metrics) */
static double corr(const float *a, const float *b, size_t n) { return cg_real_space_correlation(a, b, n, NULL); }

static double worst_corr(const cg_projector *P, int D, double apix, const float *ref, variant v) {
    cg_image_fft *w;
    cg_image_fft_create(&w, D);
    cg_complex *spec = cg_fft_alloc_complex((size_t)D * (D / 2 + 1));
    float *ctf = malloc(sizeof(float) * D * (D / 2 + 1)), *img = malloc(sizeof(float) * D * D);
    double worst = 2;
    for (int i = 0; i < NP; i++) {
        const part *p = &g_parts[i];
        double A[9];
        cg_euler_to_matrix(CG_DEG2RAD(p->rot), CG_DEG2RAD(p->tilt), CG_DEG2RAD(p->psi), A);
        cg_projector_slice(P, A, spec);
        double sg = v == V_PLUS_ORIGIN ? 1 : -1;
        cg_spectrum_shift(spec, D, sg * p->ox_A / apix, sg * p->oy_A / apix);
        cg_ctf_params cp = cg_ctf_params_default();
        cp.defocus_u_A = v == V_SWAP ? p->dV : p->dU;
        cp.defocus_v_A = v == V_SWAP ? p->dU : p->dV;
        cp.defocus_angle_rad = CG_DEG2RAD(v == V_ANGLE ? -p->ang : p->ang);
        if (v == V_SIGN) cp.scale = -1;
        cg_ctf c;
        cg_ctf_init(&c, &cp);
        cg_ctf_fill_half(&c, D, apix, ctf);
        cg_spectrum_mul_real(spec, D, ctf);
        cg_spectrum_to_image(w, spec, img);
        double cc = corr(img, ref + (size_t)i * D * D, (size_t)D * D);
        if (cc < worst) worst = cc;
    }
    cg_image_fft_destroy(w);
    cg_fft_free(spec);
    free(ctf), free(img);
    return worst;
}

int main(void) {
    if (system("relion_project --version > /dev/null 2>&1") != 0) SKIP("relion_project is not installed (Debian package relion)");
    const int D = 64;
    const double apix = 2.0;
    const char *dir = cg_test_tmpdir("relion_ctf");
    if (chdir(dir) != 0) SKIP("cannot enter %s", dir);
    float *vol = malloc(sizeof(float) * D * D * D);
    cg_phantom_volume(D, vol);
    CHECK_OK(cg_mrc_write("vol.mrc", vol, D, D, D, (float)apix, 0, "test_relion_ctf"));
    FILE *f = fopen("in.star", "w");
    fprintf(f, "\n# version 30001\n\ndata_optics\n\nloop_\n_rlnOpticsGroup #1\n_rlnOpticsGroupName #2\n_rlnVoltage #3\n"
               "_rlnSphericalAberration #4\n_rlnAmplitudeContrast #5\n_rlnImagePixelSize #6\n_rlnImageSize #7\n"
               "_rlnImageDimensionality #8\n1 optics1 300.0 2.7 0.1 %.4f %d 2\n\n\n# version 30001\n\ndata_particles\n\n"
               "loop_\n_rlnAngleRot #1\n_rlnAngleTilt #2\n_rlnAnglePsi #3\n_rlnOriginXAngst #4\n_rlnOriginYAngst #5\n"
               "_rlnDefocusU #6\n_rlnDefocusV #7\n_rlnDefocusAngle #8\n_rlnPhaseShift #9\n_rlnOpticsGroup #10\n",
            apix, D);
    for (int i = 0; i < NP; i++) {
        const part *p = &g_parts[i];
        fprintf(f, "%.6f %.6f %.6f %.6f %.6f %.2f %.2f %.4f 0.0 1\n", p->rot, p->tilt, p->psi, p->ox_A, p->oy_A, p->dU, p->dV, p->ang);
    }
    fclose(f);
    if (system("relion_project --i vol.mrc --ang in.star --o proj --ctf --angpix 2 > relion_project.log 2>&1") != 0) {
        fprintf(stderr, "relion_project failed; see %s/relion_project.log\n", dir);
        return 1;
    }
    cg_mrc_header h;
    float *ref = NULL;
    CHECK_OK(cg_mrc_read("proj.mrcs", &h, &ref));
    if (!ref) return cg_test_finish();
    CHECK(h.nx == D && h.nz == NP);
    cg_projector *P;
    CHECK_OK(cg_projector_create(&P, vol, D, 2));
    double good = worst_corr(P, D, apix, ref, V_OK);
    double sign = worst_corr(P, D, apix, ref, V_SIGN), angle = worst_corr(P, D, apix, ref, V_ANGLE);
    double swap = worst_corr(P, D, apix, ref, V_SWAP), plus = worst_corr(P, D, apix, ref, V_PLUS_ORIGIN);
    printf("relion_project --ctf vs cryogen: min corr %.5f; variants: CTF sign flipped %.3f, defocus angle negated %.3f, "
           "dU/dV swapped %.3f, +origin %.3f\n",
           good, sign, angle, swap, plus);
    /* RELION and we share the algorithm (pad 2, trilinear, CTF on the unpadded spectrum), so the
     * correct model agrees to 1e-5; each variant must fail the >= 0.99 check clearly (the check
     * is the minimum over images: an image with defocus angle 45 deg is where negating the
     * angle hurts most) */
    CHECK(good >= 0.99);
    CHECK(sign < 0);
    CHECK(angle < 0.95);
    CHECK(swap < 0.95);
    CHECK(plus < 0.9);
    cg_projector_destroy(P);
    free(vol), free(ref);
    return cg_test_finish();
}
