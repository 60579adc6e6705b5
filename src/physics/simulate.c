/* Particle-image simulation; see include/cryogen/simulate.h for the image model, the SNR
 * definition and the random streams. Per image: slice (cg_projector_slice), phase ramp for the
 * shift, CTF half grid, inverse FFT, noise. Each thread owns one workspace; the projector is
 * shared read-only.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef CG_HAVE_OPENMP
#include <omp.h>
#endif

#include "cryogen/geom.h"
#include "cryogen/image.h"
#include "cryogen/project.h"
#include "cryogen/simulate.h"

cg_sim_config cg_sim_config_default(void) {
    cg_sim_config c;
    memset(&c, 0, sizeof c);
    c.oversample = 2;
    c.snr = 1.0;
    c.apply_ctf = 1;
    c.ctf = cg_ctf_params_default();
    c.defocus_min_A = 10000;
    c.defocus_max_A = 25000;
    return c;
}

cg_status cg_sim_config_check(const cg_sim_config *c) {
    if (c->D < 8 || c->D > 2048) return cg_error(CG_ERR_ARG, "box size %d px: must be in [8, 2048]", c->D);
    if (!(c->pixel_size_A > 0 && isfinite(c->pixel_size_A)))
        return cg_error(CG_ERR_ARG, "pixel size %g A must be positive (set --pixel-size-A)", c->pixel_size_A);
    if (!(c->snr > 0)) return cg_error(CG_ERR_ARG, "SNR %g must be positive (use 'inf' for no noise)", c->snr);
    if (!(c->shift_sd_A >= 0 && isfinite(c->shift_sd_A)))
        return cg_error(CG_ERR_ARG, "shift standard deviation %g A must be >= 0", c->shift_sd_A);
    if (c->apply_ctf) {
        if (!(c->defocus_min_A <= c->defocus_max_A) || !isfinite(c->defocus_min_A) || !isfinite(c->defocus_max_A))
            return cg_error(CG_ERR_ARG, "defocus range %g:%g A is not MIN:MAX", c->defocus_min_A, c->defocus_max_A);
        if (!(c->astig_A >= 0 && isfinite(c->astig_A)))
            return cg_error(CG_ERR_ARG, "astigmatism %g A must be >= 0", c->astig_A);
        cg_ctf t;
        cg_status s = cg_ctf_init(&t, &c->ctf);
        if (s != CG_OK) return cg_error(CG_ERR_ARG, "%s", cg_last_error());
    }
    return CG_OK;
}

void cg_sim_draw_particle(const cg_sim_config *c, int64_t i, cg_sim_particle *out) {
    cg_rng r;
    cg_rng_init(&r, c->seed, CG_RNG_STREAM_POSE, (uint64_t)i);
    cg_random_euler(&r, &out->euler_rad[0], &out->euler_rad[1], &out->euler_rad[2]);
    cg_rng_init(&r, c->seed, CG_RNG_STREAM_SHIFT, (uint64_t)i);
    /* translation t ~ N(0, sd^2); RELION's origin re-centres the particle: origin = -t */
    double tx = c->shift_sd_A * cg_rng_normal(&r), ty = c->shift_sd_A * cg_rng_normal(&r);
    out->origin_A[0] = tx == 0 ? 0 : -tx;
    out->origin_A[1] = ty == 0 ? 0 : -ty;
    cg_rng_init(&r, c->seed, CG_RNG_STREAM_CTF, (uint64_t)i);
    out->ctf = c->ctf;
    double d = c->defocus_min_A + (c->defocus_max_A - c->defocus_min_A) * cg_rng_uniform(&r);
    out->ctf.defocus_u_A = d + 0.5 * c->astig_A;
    out->ctf.defocus_v_A = d - 0.5 * c->astig_A;
    out->ctf.defocus_angle_rad = CG_PI * cg_rng_uniform(&r);
}

typedef struct {
    cg_image_fft *fft;
    cg_complex *spec;
    float *ctf;
    cg_atom *atoms; /* model simulators: the particle's atoms */
    float *img;     /* model simulators: the analytic projection */
} sim_ws;

struct cg_simulator {
    cg_sim_config cfg;
    cg_projector *proj;            /* volume source, or */
    const cg_conf_model *model;    /* model source */
    cg_gauss_opts gauss;
    double centre_A[3];
    int nws;
    sim_ws *ws;
};

void cg_simulator_destroy(cg_simulator *s) {
    if (!s) return;
    cg_projector_destroy(s->proj);
    for (int i = 0; s->ws && i < s->nws; i++) {
        cg_image_fft_destroy(s->ws[i].fft);
        cg_fft_free(s->ws[i].spec);
        cg_fft_free(s->ws[i].ctf);
        free(s->ws[i].atoms);
        free(s->ws[i].img);
    }
    free(s->ws);
    free(s);
}

/* Simulator with workspaces; the image source is set by the callers below. */
static cg_status simulator_new(cg_simulator **out, const cg_sim_config *c) {
    *out = NULL;
    cg_status st = cg_sim_config_check(c);
    if (st != CG_OK) return st;
    cg_simulator *s = cg_calloc(1, sizeof *s, "simulator");
    if (!s) return CG_ERR_NOMEM;
    s->cfg = *c;
    s->nws = cg_get_threads();
    if (s->nws < 1) s->nws = 1;
    s->ws = cg_calloc((size_t)s->nws, sizeof *s->ws, "simulator workspaces");
    st = s->ws ? CG_OK : CG_ERR_NOMEM;
    const size_t nh = (size_t)c->D * (c->D / 2 + 1);
    for (int i = 0; st == CG_OK && i < s->nws; i++) {
        st = cg_image_fft_create(&s->ws[i].fft, c->D);
        if (st != CG_OK) break;
        s->ws[i].spec = cg_fft_alloc_complex(nh);
        s->ws[i].ctf = cg_fft_alloc_real(nh);
        if (!s->ws[i].spec || !s->ws[i].ctf) st = CG_ERR_NOMEM;
    }
    if (st != CG_OK) {
        cg_simulator_destroy(s);
        return st;
    }
    *out = s;
    return CG_OK;
}

cg_status cg_simulator_create(cg_simulator **out, const float *vol, const cg_sim_config *c) {
    cg_status st = simulator_new(out, c);
    if (st == CG_OK) st = cg_projector_create(&(*out)->proj, vol, c->D, c->oversample);
    if (st != CG_OK) {
        cg_simulator_destroy(*out);
        *out = NULL;
    }
    return st;
}

cg_status cg_simulator_create_model(cg_simulator **out, const cg_conf_model *m, const cg_gauss_opts *g,
                                    const cg_sim_config *c) {
    cg_status st = simulator_new(out, c);
    if (st != CG_OK) return st;
    cg_simulator *s = *out;
    s->model = m;
    s->gauss = *g;
    cg_conf_centre(m, s->centre_A);
    for (int i = 0; st == CG_OK && i < s->nws; i++) {
        s->ws[i].atoms = cg_malloc((size_t)cg_conf_max_atoms(m), sizeof(cg_atom), "particle atoms");
        s->ws[i].img = cg_malloc((size_t)c->D * c->D, sizeof(float), "projection");
        if (!s->ws[i].atoms || !s->ws[i].img) st = CG_ERR_NOMEM;
    }
    if (st != CG_OK) {
        cg_simulator_destroy(s);
        *out = NULL;
    }
    return st;
}

void cg_sim_draw_conformation(const cg_conf_model *m, uint64_t seed, int64_t i, double conf[2]) {
    cg_rng r;
    cg_rng_init(&r, seed, CG_RNG_STREAM_MODEL, (uint64_t)i);
    conf[0] = conf[1] = 0;
    cg_conf_sample(m, &r, conf);
}

/* clean image of one particle into img (D*D) */
static cg_status clean_image(const cg_simulator *s, sim_ws *w, const cg_sim_particle *p, int64_t index, float *img) {
    const cg_sim_config *c = &s->cfg;
    double A[9];
    cg_euler_to_matrix(p->euler_rad[0], p->euler_rad[1], p->euler_rad[2], A);
    if (s->model) {
        int64_t n;
        cg_status st = cg_conf_atoms(s->model, p->conf, w->atoms, &n);
        if (st == CG_OK) st = cg_atoms_project(w->atoms, n, &s->gauss, c->D, c->pixel_size_A, s->centre_A, A, w->img);
        if (st != CG_OK) return cg_error_prefix(st, "particle %lld", (long long)index + 1);
        cg_image_to_spectrum(w->fft, w->img, w->spec);
    } else {
        cg_projector_slice(s->proj, A, w->spec);
    }
    /* image = centred projection translated by -origin */
    cg_spectrum_shift(w->spec, c->D, -p->origin_A[0] / c->pixel_size_A, -p->origin_A[1] / c->pixel_size_A);
    if (c->apply_ctf) {
        cg_ctf ctf;
        if (cg_ctf_init(&ctf, &p->ctf) != CG_OK)
            return cg_error_prefix(CG_ERR_ARG, "particle %lld", (long long)index + 1);
        cg_ctf_fill_half_masked(&ctf, c->D, c->pixel_size_A, 0.5 * c->D, w->ctf); /* the slice is 0 beyond */
        cg_spectrum_mul_real(w->spec, c->D, w->ctf);
    }
    cg_spectrum_to_image(w->fft, w->spec, img);
    return CG_OK;
}

static int thread_id(void) {
#ifdef CG_HAVE_OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

cg_status cg_simulator_run(cg_simulator *s, const cg_sim_particle *parts, int64_t count, int64_t first_index,
                           double sigma, float *clean, float *noisy) {
    const int D = s->cfg.D;
    const size_t n2 = (size_t)D * D;
    int failed = 0;
    int64_t bad = -1;
    char msg[512] = "";
#ifdef CG_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 4) num_threads(s->nws)
#endif
    for (int64_t j = 0; j < count; j++) {
        sim_ws *w = &s->ws[thread_id()];
        float *out = noisy ? noisy + (size_t)j * n2 : clean + (size_t)j * n2;
        if (clean_image(s, w, &parts[j], first_index + j, out) != CG_OK) {
#ifdef CG_HAVE_OPENMP
#pragma omp critical(cg_sim_error)
#endif
            if (!failed || first_index + j < bad) {
                failed = 1;
                bad = first_index + j;
                snprintf(msg, sizeof msg, "%s", cg_last_error());
            }
            continue;
        }
        if (clean && noisy) memcpy(clean + (size_t)j * n2, out, n2 * sizeof(float));
        if (noisy) cg_image_add_noise(out, n2, sigma, s->cfg.seed, (uint64_t)(first_index + j));
    }
    if (failed) return cg_error(CG_ERR_ARG, "%s", msg);
    return CG_OK;
}

cg_status cg_simulator_noise_sigma(cg_simulator *s, const cg_sim_particle *parts, int64_t n, double *sigma) {
    *sigma = 0;
    if (isinf(s->cfg.snr)) return CG_OK;
    if (n <= 0) return cg_error(CG_ERR_ARG, "noise level: no particles");
    const int D = s->cfg.D;
    const int64_t m = n < 256 ? n : 256;
    float *img = cg_malloc((size_t)m * D * D, sizeof(float), "pilot images");
    cg_sim_particle *pp = cg_malloc((size_t)m, sizeof *pp, "pilot particles");
    if (!img || !pp) {
        free(img);
        free(pp);
        return CG_ERR_NOMEM;
    }
    double var = 0;
    cg_status st = CG_OK;
    /* particles spread evenly over the set; their CTFs are validated here so that an error
     * names the particle's own index, then they run as one batch */
    for (int64_t j = 0; j < m && st == CG_OK; j++) {
        int64_t i = j * n / m;
        pp[j] = parts[i];
        cg_ctf t;
        if (s->cfg.apply_ctf && cg_ctf_init(&t, &pp[j].ctf) != CG_OK)
            st = cg_error_prefix(CG_ERR_ARG, "particle %lld", (long long)i + 1);
    }
    if (st == CG_OK) st = cg_simulator_run(s, pp, m, 0, 0, img, NULL);
    for (int64_t j = 0; j < m && st == CG_OK; j++) var += cg_image_signal_variance(img + (size_t)j * D * D, D);
    free(img);
    free(pp);
    if (st != CG_OK) return st;
    var /= (double)m;
    if (!(var > 0)) return cg_error(CG_ERR_ARG, "noise level: the clean images have zero variance (empty volume?)");
    *sigma = cg_noise_sigma_for_snr(var, s->cfg.snr);
    return CG_OK;
}
