/* Noise at a target SNR and Fourier cropping / padding; see include/cryogen/image.h for the
 * SNR definition and the (mean-preserving) resampling scale.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/fft.h"
#include "cryogen/image.h"

double cg_image_signal_variance(const float *img, int D) {
    const double c = D / 2, r2 = 0.25 * (double)D * D;
    double s = 0, s2 = 0;
    int64_t n = 0;
    for (int y = 0; y < D; y++) {
        double dy = y - c;
        for (int x = 0; x < D; x++) {
            double dx = x - c;
            if (dx * dx + dy * dy > r2) continue;
            double v = img[(size_t)y * D + x];
            s += v;
            s2 += v * v;
            n++;
        }
    }
    if (n == 0) return 0;
    double m = s / n;
    double var = s2 / n - m * m;
    return var > 0 ? var : 0;
}

double cg_noise_sigma_for_snr(double signal_variance, double snr) {
    if (isinf(snr) && snr > 0) return 0;
    return sqrt(signal_variance / snr);
}

/* Gaussian noise by the ziggurat method (Marsaglia and Tsang, "The ziggurat method for
 * generating random variables", J. Stat. Softw. 5(8), 2000; 128 layers), with the layer index
 * taken from bits independent of the magnitude (Doornik, "An improved ziggurat method to
 * generate normal random samples", 2005). About 99% of samples cost one 32-bit word, a table
 * look-up and a compare; Box-Muller (log, sqrt, sin, cos per pair) was half the cost of a
 * simulated 128 px image. Uniforms come from the Philox stream (seed, NOISE, index), so the
 * noise of a particle depends only on those three numbers. */
static uint32_t g_zig_k[128];
static float g_zig_w[128], g_zig_f[128];
static pthread_once_t g_zig_once = PTHREAD_ONCE_INIT;

static void zig_init(void) {
    const double m1 = 2147483648.0, vn = 9.91256303526217e-3;
    double dn = 3.442619855899, tn = dn;
    double q = vn / exp(-0.5 * dn * dn);
    g_zig_k[0] = (uint32_t)((dn / q) * m1);
    g_zig_k[1] = 0;
    g_zig_w[0] = (float)(q / m1);
    g_zig_w[127] = (float)(dn / m1);
    g_zig_f[0] = 1.0f;
    g_zig_f[127] = (float)exp(-0.5 * dn * dn);
    for (int i = 126; i >= 1; i--) {
        dn = sqrt(-2.0 * log(vn / dn + exp(-0.5 * dn * dn)));
        g_zig_k[i + 1] = (uint32_t)((dn / tn) * m1);
        tn = dn;
        g_zig_f[i] = (float)exp(-0.5 * dn * dn);
        g_zig_w[i] = (float)(dn / m1);
    }
}

static inline double uniform_open(cg_rng *r) { return ((double)cg_rng_u32(r) + 0.5) * (1.0 / 4294967296.0); }

/* the rare slow path: the wedges and the tail beyond r = 3.4426 */
static float zig_slow(cg_rng *r, int32_t hz, int iz) {
    const double rr = 3.442619855899;
    for (;;) {
        double x = hz * (double)g_zig_w[iz];
        if (iz == 0) {
            double y;
            do {
                x = -log(uniform_open(r)) / rr;
                y = -log(uniform_open(r));
            } while (y + y < x * x);
            return (float)(hz > 0 ? rr + x : -rr - x);
        }
        if (g_zig_f[iz] + uniform_open(r) * (g_zig_f[iz - 1] - g_zig_f[iz]) < exp(-0.5 * x * x)) return (float)x;
        hz = (int32_t)cg_rng_u32(r);
        iz = (int)(cg_rng_u32(r) & 127);
        uint32_t ah = hz < 0 ? (uint32_t)(-(int64_t)hz) : (uint32_t)hz;
        if (ah < g_zig_k[iz]) return hz * g_zig_w[iz];
    }
}

void cg_image_add_noise(float *img, size_t n, double sigma, uint64_t seed, uint64_t index) {
    if (sigma == 0) return;
    pthread_once(&g_zig_once, zig_init);
    cg_rng r;
    cg_rng_init(&r, seed, CG_RNG_STREAM_NOISE, index);
    const float s = (float)sigma;
    uint32_t layer_bits = 0;
    for (size_t i = 0; i < n; i++) {
        if ((i & 3) == 0) layer_bits = cg_rng_u32(&r); /* 4 layer indices of 7 bits per word */
        int iz = (int)((layer_bits >> (8 * (i & 3))) & 127);
        int32_t hz = (int32_t)cg_rng_u32(&r);
        uint32_t ah = hz < 0 ? (uint32_t)(-(int64_t)hz) : (uint32_t)hz;
        float z = ah < g_zig_k[iz] ? hz * g_zig_w[iz] : zig_slow(&r, hz, iz);
        img[i] += s * z;
    }
}

/* ---------------------------------------------------------------- resampling ------------ */
struct cg_resampler {
    int ndim, D_in, D_out;
    cg_fft_plan *fin, *fout;
    float *rin, *rout;        /* centred real buffers */
    cg_complex *cin, *cout;   /* half-complex spectra */
};

static size_t ipow(int D, int n) { return n == 3 ? (size_t)D * D * D : (size_t)D * D; }
static size_t hcount(int D, int n) { return (n == 3 ? (size_t)D * D : (size_t)D) * (D / 2 + 1); }

cg_status cg_resampler_create(cg_resampler **out, int ndim, int D_in, int D_out) {
    *out = NULL;
    if (ndim != 2 && ndim != 3) return cg_error(CG_ERR_ARG, "resampling: %d dimensions (2 or 3 supported)", ndim);
    if (D_in < 2 || D_out < 2 || D_in > 16384 || D_out > 16384)
        return cg_error(CG_ERR_ARG, "resampling %d px to %d px: box sizes must be in [2, 16384]", D_in, D_out);
    cg_resampler *r = cg_calloc(1, sizeof *r, "resampler");
    if (!r) return CG_ERR_NOMEM;
    r->ndim = ndim;
    r->D_in = D_in;
    r->D_out = D_out;
    int di[3] = {D_in, D_in, D_in}, dout[3] = {D_out, D_out, D_out};
    cg_status s = cg_fft_plan_create(&r->fin, ndim, di);
    if (s == CG_OK) s = cg_fft_plan_create(&r->fout, ndim, dout);
    if (s == CG_OK) {
        r->rin = cg_fft_alloc_real(ipow(D_in, ndim));
        r->rout = cg_fft_alloc_real(ipow(D_out, ndim));
        r->cin = cg_fft_alloc_complex(hcount(D_in, ndim));
        r->cout = cg_fft_alloc_complex(hcount(D_out, ndim));
        if (!r->rin || !r->rout || !r->cin || !r->cout) s = CG_ERR_NOMEM;
    }
    if (s != CG_OK) {
        cg_resampler_destroy(r);
        return s;
    }
    *out = r;
    return CG_OK;
}

void cg_resampler_destroy(cg_resampler *r) {
    if (!r) return;
    cg_fft_plan_destroy(r->fin);
    cg_fft_plan_destroy(r->fout);
    cg_fft_free(r->rin);
    cg_fft_free(r->rout);
    cg_fft_free(r->cin);
    cg_fft_free(r->cout);
    free(r);
}

/* Target indices of signed frequency f of an input axis of length Din in an output axis of
 * length Dout > Din; the even-Din Nyquist -Din/2 goes to both -Din/2 and +Din/2 at half weight. */
static int pad_targets(int f, int Din, int Dout, int t[2], float *w) {
    t[0] = cg_fft_index(f, Dout);
    if (Din % 2 == 0 && f == -Din / 2) {
        t[1] = cg_fft_index(Din / 2, Dout);
        *w *= 0.5f;
        return 2;
    }
    return 1;
}

/* spectrum of D_in -> spectrum of D_out (both half-complex, centred at index 0), times s */
static void resample_spectrum(const cg_resampler *r, float s) {
    const int n = r->ndim, Di = r->D_in, Do = r->D_out;
    const int nhi = Di / 2 + 1, nho = Do / 2 + 1, nzi = n == 3 ? Di : 1, nzo = n == 3 ? Do : 1;
    memset(r->cout, 0, sizeof(cg_complex) * hcount(Do, n));
    if (Do <= Di) {
        for (int z = 0; z < nzo; z++) {
            int zi = n == 3 ? cg_fft_index(cg_fft_freq(z, Do), Di) : 0;
            for (int y = 0; y < Do; y++) {
                int yi = cg_fft_index(cg_fft_freq(y, Do), Di);
                const cg_complex *src = r->cin + ((size_t)zi * Di + yi) * nhi;
                cg_complex *dst = r->cout + ((size_t)z * Do + y) * nho;
                for (int x = 0; x < nho; x++) dst[x] = s * src[x];
            }
        }
        return;
    }
    for (int z = 0; z < nzi; z++) {
        float wz = s;
        int tz[2] = {0, 0}, ntz = n == 3 ? pad_targets(cg_fft_freq(z, Di), Di, Do, tz, &wz) : 1;
        for (int y = 0; y < Di; y++) {
            float wy = wz;
            int ty[2], nty = pad_targets(cg_fft_freq(y, Di), Di, Do, ty, &wy);
            const cg_complex *src = r->cin + ((size_t)z * Di + y) * nhi;
            for (int a = 0; a < ntz; a++)
                for (int b = 0; b < nty; b++) {
                    cg_complex *dst = r->cout + ((size_t)tz[a] * Do + ty[b]) * nho;
                    for (int x = 0; x < nhi; x++) {
                        float wx = (Di % 2 == 0 && x == Di / 2) ? 0.5f * wy : wy;
                        dst[x] += wx * src[x];
                    }
                }
        }
    }
}

void cg_resample(cg_resampler *r, const float *in, float *out) {
    const int n = r->ndim, Di = r->D_in, Do = r->D_out;
    const int nzi = n == 3 ? Di : 1, nzo = n == 3 ? Do : 1;
    const int szi = n == 3 ? -(Di / 2) : 0, szo = n == 3 ? Do / 2 : 0;
    cg_circshift_3d(r->rin, in, nzi, Di, Di, szi, -(Di / 2), -(Di / 2));
    cg_fft_forward(r->fin, r->rin, r->cin);
    /* forward unnormalised, inverse / Do^n: a constant c gives c Di^n / Do^n, so scale by
     * (Do / Di)^n to keep values (mean-preserving) */
    double sc = (double)Do / Di;
    resample_spectrum(r, (float)(n == 3 ? sc * sc * sc : sc * sc));
    cg_fft_inverse(r->fout, r->cout, r->rout);
    cg_circshift_3d(out, r->rout, nzo, Do, Do, szo, Do / 2, Do / 2);
}

cg_status cg_volume_resample(const float *in, int D_in, float *out, int D_out) {
    cg_resampler *r;
    cg_status s = cg_resampler_create(&r, 3, D_in, D_out);
    if (s != CG_OK) return s;
    cg_resample(r, in, out);
    cg_resampler_destroy(r);
    return CG_OK;
}
