/* MRC reading and writing without outside tools: hand-built headers in both byte orders and
 * every readable mode (values from first principles), writer round trips and statistics, the
 * streaming writer's atomic commit/abort, mmap stacks from several threads, every kind of bad
 * header, and the axis orders of two real EMDB/CCP4 maps in ../shared/data, whose voxel values
 * below were looked up with mrcfile 1.4.3 + numpy (tests/mrc_reference.py `maps`, i.e.
 * data[s][r][c] transposed by mapc/mapr/maps to v[z][y][x]). The exhaustive comparison with
 * mrcfile is tests/test_mrc_reference.c. */
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "cryogen/mrc.h"
#include "testutil.h"

/* ---- a raw header writer written independently of src/io (byte by byte) ---- */
typedef struct {
    int32_t nc, nr, ns, mode, mapc, mapr, maps, nsymbt, mx, my, mz;
    float cella[3];
    int big;
    unsigned char stamp[4];
    int no_tag;
} raw_hdr;

static void put32(unsigned char *p, uint32_t v, int big) {
    for (int i = 0; i < 4; i++) p[big ? 3 - i : i] = (unsigned char)(v >> (8 * i));
}
static void put16(unsigned char *p, uint16_t v, int big) {
    p[big ? 1 : 0] = (unsigned char)v;
    p[big ? 0 : 1] = (unsigned char)(v >> 8);
}
static void putf(unsigned char *p, float f, int big) {
    uint32_t u;
    memcpy(&u, &f, 4);
    put32(p, u, big);
}

static raw_hdr default_hdr(int nc, int nr, int ns, int mode, int big) {
    raw_hdr r = {nc, nr, ns, mode, 1, 2, 3, 0, nc, nr, ns, {nc * 2.0f, nr * 2.0f, ns * 2.0f}, big, {0}, 0};
    if (big) r.stamp[0] = r.stamp[1] = 0x11;
    else r.stamp[0] = r.stamp[1] = 0x44;
    return r;
}

/* Write header + extended header (zeros) + `nbytes` of data to path. */
static void write_raw(const char *path, const raw_hdr *r, const void *data, size_t nbytes) {
    unsigned char b[1024] = {0};
    int32_t ints[10] = {r->nc, r->nr, r->ns, r->mode, 0, 0, 0, r->mx, r->my, r->mz};
    for (int i = 0; i < 10; i++) put32(b + 4 * i, (uint32_t)ints[i], r->big);
    for (int i = 0; i < 3; i++) putf(b + 40 + 4 * i, r->cella[i], r->big);
    put32(b + 64, (uint32_t)r->mapc, r->big), put32(b + 68, (uint32_t)r->mapr, r->big);
    put32(b + 72, (uint32_t)r->maps, r->big), put32(b + 92, (uint32_t)r->nsymbt, r->big);
    if (!r->no_tag) memcpy(b + 208, "MAP ", 4);
    memcpy(b + 212, r->stamp, 4);
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, 1024, f);
    for (int i = 0; i < r->nsymbt && i < 100000; i++) fputc(0, f);
    if (nbytes) fwrite(data, 1, nbytes, f);
    fclose(f);
}

static const char *tmp;
static char *tpath(const char *name) {
    static char bufs[8][1200];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 1200, "%s/%s", tmp, name);
    return b;
}

/* value number i of a test pattern, exactly representable in every mode */
static float pattern(int mode, int i) {
    switch (mode) {
    case CG_MRC_INT8: return (float)(i % 256 - 128);
    case CG_MRC_INT16: return (float)(i * 97 % 65536 - 32768);
    case CG_MRC_UINT16: return (float)(i * 331 % 65536);
    case CG_MRC_FLOAT16: return (float)((i % 64) - 32) * 0.125f; /* k/8, |k| <= 32: exact in binary16 */
    default: return sinf(0.37f * (float)i) * 1000.0f;
    }
}

/* binary16 encoding of k/8 for |k| <= 32, built from first principles (sign, exponent, 10-bit mantissa) */
static uint16_t half_of(float x) {
    if (x == 0) return 0;
    uint16_t sign = x < 0 ? 0x8000 : 0;
    float a = fabsf(x);
    int e = 0;
    while (a >= 2) a /= 2, e++;
    while (a < 1) a *= 2, e--;
    return (uint16_t)(sign | (uint16_t)((e + 15) << 10) | (uint16_t)lrintf((a - 1) * 1024));
}

static void test_modes_raw(void) {
    const int nc = 5, nr = 4, ns = 3, n = nc * nr * ns;
    const int modes[5] = {CG_MRC_INT8, CG_MRC_INT16, CG_MRC_FLOAT32, CG_MRC_UINT16, CG_MRC_FLOAT16};
    for (int big = 0; big <= 1; big++) {
        for (int m = 0; m < 5; m++) {
            int mode = modes[m], bytes = mode == 0 ? 1 : mode == 2 ? 4 : 2;
            unsigned char data[60 * 4];
            for (int i = 0; i < n; i++) {
                float v = pattern(mode, i);
                if (mode == CG_MRC_INT8) data[i] = (unsigned char)(int8_t)v;
                else if (mode == CG_MRC_FLOAT32) putf(data + 4 * i, v, big);
                else if (mode == CG_MRC_FLOAT16) put16(data + 2 * i, half_of(v), big);
                else put16(data + 2 * i, (uint16_t)(int32_t)v, big);
            }
            raw_hdr r = default_hdr(nc, nr, ns, mode, big);
            char name[64];
            snprintf(name, sizeof name, "raw_mode%d_%s.mrc", mode, big ? "be" : "le");
            write_raw(tpath(name), &r, data, (size_t)n * bytes);
            cg_mrc_header h;
            float *v = NULL;
            CHECK_OK(cg_mrc_read(tpath(name), &h, &v));
            if (!v) continue;
            CHECK(h.nx == nc && h.ny == nr && h.nz == ns && h.mode == mode);
            CHECK(h.swapped == big); /* this test machine is little-endian (x86-64) */
            CHECK_CLOSE(h.pixel_size_A[0], 2.0, 1e-6, 0);
            int bad = 0;
            for (int i = 0; i < n; i++) bad += v[i] != pattern(mode, i);
            CHECK_MSG(bad == 0, "%s: %d values differ", name, bad);
            free(v);
        }
    }
}

/* A machine stamp that lies, and one that is zero: the order comes from the plausible header. */
static void test_byte_order_detection(void) {
    float data[8];
    unsigned char bytes[32];
    for (int i = 0; i < 8; i++) data[i] = (float)i + 0.5f, putf(bytes + 4 * i, data[i], 1);
    raw_hdr r = default_hdr(2, 2, 2, 2, 1);
    r.stamp[0] = r.stamp[1] = 0x44; /* claims little, is big */
    write_raw(tpath("lying_stamp.mrc"), &r, bytes, sizeof bytes);
    cg_mrc_header h;
    float *v = NULL;
    CHECK_OK(cg_mrc_read(tpath("lying_stamp.mrc"), &h, &v));
    CHECK(v && h.swapped && v[7] == 7.5f);
    free(v);
    r.stamp[0] = r.stamp[1] = 0; /* no stamp at all */
    write_raw(tpath("zero_stamp.mrc"), &r, bytes, sizeof bytes);
    v = NULL;
    CHECK_OK(cg_mrc_read(tpath("zero_stamp.mrc"), &h, &v));
    CHECK(v && h.swapped && v[3] == 3.5f);
    free(v);
}

/* Axis order 2,1,3 in a stack: images come back transposed so x is fastest. 3,1,2 as a volume. */
static void test_axis_order_raw(void) {
    /* stored: 3 columns (along Y), 2 rows (along X), 2 sections; value = 100 s + 10 r + c */
    float stored[12];
    unsigned char bytes[48];
    for (int s = 0, i = 0; s < 2; s++)
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 3; c++, i++) stored[i] = 100.0f * s + 10.0f * r + c, putf(bytes + 4 * i, stored[i], 0);
    raw_hdr r = default_hdr(3, 2, 2, 2, 0);
    r.mapc = 2, r.mapr = 1, r.maps = 3;
    write_raw(tpath("axes213.mrcs"), &r, bytes, sizeof bytes);
    cg_mrc_header h;
    float *v = NULL;
    CHECK_OK(cg_mrc_read(tpath("axes213.mrcs"), &h, &v));
    CHECK(h.nx == 2 && h.ny == 3 && h.nz == 2);
    /* v[z][y][x] = value at x = r, y = c, z = s */
    if (v) CHECK(v[1 * 6 + 2 * 2 + 1] == 100 + 10 * 1 + 2);
    free(v);
    cg_mrc_stack *st = NULL;
    CHECK_OK(cg_mrc_stack_open(&st, tpath("axes213.mrcs")));
    if (st) {
        float img[6];
        CHECK_OK(cg_mrc_stack_read(st, 1, img));
        int bad = 0;
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 2; x++) bad += img[y * 2 + x] != 100.0f + 10.0f * x + y;
        CHECK(bad == 0);
        CHECK_FAILS(cg_mrc_stack_read(st, 2, img), CG_ERR_RANGE, "holds 2");
    }
    cg_mrc_stack_close(st);
    r.mapc = 3, r.mapr = 1, r.maps = 2; /* columns along Z, rows along X, sections along Y */
    write_raw(tpath("axes312.mrc"), &r, bytes, sizeof bytes);
    v = NULL;
    CHECK_OK(cg_mrc_read(tpath("axes312.mrc"), &h, &v));
    CHECK(h.nx == 2 && h.ny == 2 && h.nz == 3);
    if (v) CHECK(v[2 * 4 + 1 * 2 + 0] == 100 * 1 + 10 * 0 + 2); /* z = c = 2, y = s = 1, x = r = 0 */
    free(v);
    CHECK_FAILS(cg_mrc_stack_open(&st, tpath("axes312.mrc")), CG_ERR_UNSUPPORTED, "axis 2");
}

static void test_write_read(void) {
    enum { NX = 9, NY = 7, NZ = 5 };
    float d[NX * NY * NZ];
    double sum = 0, sum2 = 0, mn = 1e30, mx = -1e30;
    for (int i = 0; i < NX * NY * NZ; i++) {
        d[i] = sinf(0.1f * i) * 3 + 1e4f; /* large offset: a naive sum of squares would lose the rms */
        sum += d[i], mn = fmin(mn, d[i]), mx = fmax(mx, d[i]);
    }
    double mean = sum / (NX * NY * NZ);
    for (int i = 0; i < NX * NY * NZ; i++) sum2 += (d[i] - mean) * (d[i] - mean);
    double rms = sqrt(sum2 / (NX * NY * NZ));
    for (int is_stack = 0; is_stack <= 1; is_stack++) {
        const char *p = tpath(is_stack ? "w.mrcs" : "w.mrc");
        CHECK_OK(cg_mrc_write(p, d, NX, NY, NZ, 1.5f, is_stack, "test label"));
        cg_mrc_header h;
        float *v = NULL;
        CHECK_OK(cg_mrc_read(p, &h, &v));
        if (!v) continue;
        CHECK(h.nx == NX && h.ny == NY && h.nz == NZ && h.mode == 2 && !h.swapped && h.has_map_tag);
        CHECK(memcmp(v, d, sizeof d) == 0);
        CHECK(h.mz == (is_stack ? 1 : NZ));
        CHECK_CLOSE(h.cella_A[2], is_stack ? 0.0 : NZ * 1.5, 1e-5, 0);
        CHECK_CLOSE(h.pixel_size_A[0], 1.5, 1e-6, 0);
        CHECK_CLOSE(h.dmin, mn, 0, 1e-7);
        CHECK_CLOSE(h.dmax, mx, 0, 1e-7);
        CHECK_CLOSE(h.dmean, mean, 0, 1e-7);
        CHECK_CLOSE(h.rms, rms, 0, 1e-5);
        CHECK(h.nlabl == 2 && strstr(h.labels[0], "cryogen") && strcmp(h.labels[1], "test label") == 0);
        free(v);
    }
}

static void test_write_modes(void) {
    const int modes[4] = {CG_MRC_INT8, CG_MRC_INT16, CG_MRC_UINT16, CG_MRC_FLOAT16};
    float d[40];
    for (int m = 0; m < 4; m++) {
        for (int i = 0; i < 40; i++) d[i] = pattern(modes[m], i * 7);
        char name[32];
        snprintf(name, sizeof name, "wmode%d.mrc", modes[m]);
        CHECK_OK(cg_mrc_write_mode(tpath(name), d, 4, 5, 2, 1.0f, 0, NULL, modes[m]));
        cg_mrc_header h;
        float *v = NULL;
        CHECK_OK(cg_mrc_read(tpath(name), &h, &v));
        CHECK(h.mode == modes[m] && v && memcmp(v, d, sizeof d) == 0);
        free(v);
        /* a value the mode cannot hold fails and leaves no file */
        d[13] = modes[m] == CG_MRC_FLOAT16 ? 1e6f : 1e5f;
        snprintf(name, sizeof name, "wbad%d.mrc", modes[m]);
        CHECK_FAILS(cg_mrc_write_mode(tpath(name), d, 4, 5, 2, 1.0f, 0, NULL, modes[m]), CG_ERR_RANGE,
                    "image 1, pixel (1, 3)");
        CHECK(!cg_file_exists(tpath(name)));
    }
    d[0] = NAN;
    CHECK_FAILS(cg_mrc_write_mode(tpath("nan.mrc"), d, 4, 5, 2, 1.0f, 0, NULL, 1), CG_ERR_RANGE, "nan");
    CHECK_FAILS(cg_mrc_write_mode(tpath("m3.mrc"), d, 4, 5, 2, 1.0f, 0, NULL, 3), CG_ERR_ARG, "mode 3");
}

static int count_files(const char *prefix_in_tmp) {
    char cmd[1500];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '^%s' > '%s/count.txt'", tmp, prefix_in_tmp, tmp);
    if (system(cmd) == -1) return -1;
    FILE *f = fopen(tpath("count.txt"), "r");
    int n = -1;
    if (f && fscanf(f, "%d", &n) != 1) n = -1;
    if (f) fclose(f);
    return n;
}

static void test_streaming_writer(void) {
    enum { N = 16 };
    float img[N * N * 3];
    for (int i = 0; i < N * N * 3; i++) img[i] = (float)(i % 17) - 8.0f;
    cg_mrc_writer *w = NULL;
    CHECK_OK(cg_mrc_writer_open(&w, tpath("stream.mrcs"), N, N, 2.0f, NULL));
    if (!w) return;
    CHECK_OK(cg_mrc_writer_append(w, img, 2));
    CHECK(!cg_file_exists(tpath("stream.mrcs"))); /* nothing under the final name before commit */
    CHECK_OK(cg_mrc_writer_append(w, img + 2 * N * N, 1));
    CHECK_OK(cg_mrc_writer_commit(w));
    cg_mrc_stack *s = NULL;
    CHECK_OK(cg_mrc_stack_open(&s, tpath("stream.mrcs")));
    if (s) {
        CHECK(cg_mrc_stack_count(s) == 3 && cg_mrc_stack_header(s)->mz == 1);
        int bad = 0;
#pragma omp parallel for reduction(+ : bad)
        for (int k = 0; k < 300; k++) {
            float out[N * N];
            if (cg_mrc_stack_read(s, k % 3, out) != CG_OK) bad++;
            else bad += memcmp(out, img + (k % 3) * N * N, sizeof out) != 0;
        }
        CHECK(bad == 0);
    }
    cg_mrc_stack_close(s);
    /* abort removes the temporary and leaves any earlier file untouched */
    CHECK_OK(cg_mrc_writer_open(&w, tpath("stream.mrcs"), N, N, 2.0f, NULL));
    CHECK_OK(cg_mrc_writer_append(w, img, 1));
    cg_mrc_writer_abort(w);
    CHECK(count_files("stream.mrcs.tmp") == 0);
    CHECK(cg_file_size(tpath("stream.mrcs")) == 1024 + 3 * N * N * 4);
}

static void test_bad_headers(void) {
    float data[64] = {0};
    raw_hdr r = default_hdr(64, 64, 4096, 2, 0);
    write_raw(tpath("trunc.mrc"), &r, data, sizeof data);
    cg_mrc_header h;
    float *v = NULL;
    CHECK_FAILS(cg_mrc_read(tpath("trunc.mrc"), &h, &v), CG_ERR_FORMAT,
                "header claims 64x64x4096 float32 (64 MiB) but the file holds 256 bytes after the 1024-byte header");
    CHECK(v == NULL);
    CHECK_FAILS(cg_mrc_read_header(tpath("trunc.mrc"), &h), CG_ERR_FORMAT, "trunc.mrc");
    FILE *f = fopen(tpath("short.mrc"), "wb");
    fwrite(data, 1, 100, f);
    fclose(f);
    CHECK_FAILS(cg_mrc_read(tpath("short.mrc"), &h, &v), CG_ERR_FORMAT, "smaller than the 1024-byte MRC header");
    CHECK_FAILS(cg_mrc_read_header(tpath("short.mrc"), &h), CG_ERR_FORMAT, "smaller than the 1024-byte");
    r = default_hdr(-4, 4, 1, 2, 0);
    write_raw(tpath("neg.mrc"), &r, data, sizeof data);
    CHECK_FAILS(cg_mrc_read(tpath("neg.mrc"), &h, &v), CG_ERR_FORMAT, "dimensions -4x4x1");
    r = default_hdr(1 << 30, 4, 1, 2, 0);
    write_raw(tpath("absurd.mrc"), &r, data, sizeof data);
    CHECK_FAILS(cg_mrc_read(tpath("absurd.mrc"), &h, &v), CG_ERR_FORMAT, "must be in 1..");
    r = default_hdr(1 << 24, 1 << 24, 1 << 30, 2, 0);
    write_raw(tpath("overflow.mrc"), &r, data, sizeof data);
    CHECK_FAILS(cg_mrc_read(tpath("overflow.mrc"), &h, &v), CG_ERR_FORMAT, "overflows");
    r = default_hdr(4, 4, 1, 3, 0);
    write_raw(tpath("mode3.mrc"), &r, data, sizeof data);
    CHECK_FAILS(cg_mrc_read(tpath("mode3.mrc"), &h, &v), CG_ERR_UNSUPPORTED, "mode 3 (complex int16)");
    r = default_hdr(4, 4, 1, 7, 0);
    write_raw(tpath("mode7.mrc"), &r, data, sizeof data);
    CHECK_FAILS(cg_mrc_read(tpath("mode7.mrc"), &h, &v), CG_ERR_UNSUPPORTED, "mode 7");
    r = default_hdr(4, 4, 1, 2, 0);
    r.nsymbt = 5000;
    write_raw(tpath("nsymbt.mrc"), &r, NULL, 0);
    CHECK(truncate(tpath("nsymbt.mrc"), 1024 + 100) == 0);
    CHECK_FAILS(cg_mrc_read(tpath("nsymbt.mrc"), &h, &v), CG_ERR_FORMAT, "extended header of 5000 bytes");
    r.nsymbt = -8;
    write_raw(tpath("nsymbt_neg.mrc"), &r, data, sizeof data);
    CHECK_FAILS(cg_mrc_read(tpath("nsymbt_neg.mrc"), &h, &v), CG_ERR_FORMAT, "negative extended header");
    r = default_hdr(4, 4, 1, 2, 0);
    r.mapc = 1, r.mapr = 1, r.maps = 3;
    write_raw(tpath("axes.mrc"), &r, data, sizeof data);
    CHECK_FAILS(cg_mrc_read(tpath("axes.mrc"), &h, &v), CG_ERR_FORMAT, "1,1,3 is not a permutation");
    CHECK_FAILS(cg_mrc_read(tpath("does-not-exist.mrc"), &h, &v), CG_ERR_IO, "does-not-exist.mrc");
    cg_mrc_stack *s = NULL;
    CHECK_FAILS(cg_mrc_stack_open(&s, tpath("trunc.mrc")), CG_ERR_FORMAT, "64 MiB");
    CHECK(s == NULL);
}

static int g_warnings;
static char g_last_warning[512];
static void count_warnings(cg_log_level level, const char *msg, void *user) {
    if (level == CG_LOG_WARN) g_warnings++, snprintf(g_last_warning, sizeof g_last_warning, "%s", msg);
}

static void test_shared_maps(void) {
    const char *emd = cg_test_data("maps/EMD-3001.map"), *ccp4 = cg_test_data("maps/1jzv.ccp4");
    const char *toy = cg_test_data("cryodrgn/toy_projections.mrcs");
    if (!emd || !ccp4 || !toy) {
        printf("note: ../shared/data maps absent; skipping the real-map checks\n");
        return;
    }
    cg_mrc_header h;
    float *v = NULL;
    CHECK_OK(cg_mrc_read(emd, &h, &v)); /* axis order 3,1,2, 160-byte extended header */
    CHECK(h.nx == 43 && h.ny == 25 && h.nz == 73 && h.nsymbt == 160 && h.mapc == 3 && h.mapr == 1 && h.maps == 2);
    CHECK_CLOSE(h.pixel_size_A[0], 17.93 / 40, 1e-6, 1e-6);
    CHECK_CLOSE(h.pixel_size_A[1], 4.71 / 12, 1e-6, 1e-6);
    CHECK_CLOSE(h.pixel_size_A[2], 33.03 / 72, 1e-6, 1e-6);
#define V(z, y, x) v[((size_t)(z) * h.ny + (y)) * h.nx + (x)]
    if (v) {
        CHECK(V(0, 0, 0) == 0.04283447191119194f);
        CHECK(V(1, 2, 3) == 0.06160535663366318f);
        CHECK(V(72, 24, 42) == 0.06724497675895691f);
        CHECK(V(5, 7, 11) == 0.26966577768325806f);
    }
    free(v);
    v = NULL;
    CHECK_OK(cg_mrc_read(ccp4, &h, &v)); /* axis order 2,1,3, 640-byte symmetry records */
    CHECK(h.nx == 76 && h.ny == 96 && h.nz == 70 && h.nsymbt == 640 && h.ispg == 92);
    if (v) {
        CHECK(V(0, 0, 0) == -0.08334892988204956f);
        CHECK(V(1, 2, 3) == -0.03203520551323891f);
        CHECK(V(69, 95, 75) == -0.09388785809278488f);
        CHECK(V(5, 7, 11) == -0.2614271342754364f);
    }
#undef V
    free(v);
    g_warnings = 0;
    cg_log_set_callback(count_warnings, NULL);
    cg_mrc_stack *s = NULL;
    CHECK_OK(cg_mrc_stack_open(&s, toy)); /* no MAP tag, zero machine stamp: warn, then read */
    cg_log_set_callback(NULL, NULL);
    CHECK(g_warnings == 1 && strstr(g_last_warning, "no 'MAP ' tag"));
    if (s) {
        CHECK(cg_mrc_stack_count(s) == 1000 && cg_mrc_stack_header(s)->nx == 30 && !cg_mrc_stack_header(s)->has_map_tag);
        float img[900];
        CHECK_OK(cg_mrc_stack_read(s, 999, img));
    }
    cg_mrc_stack_close(s);
}

int main(void) {
    tmp = cg_test_tmpdir("mrc");
    test_modes_raw();
    test_byte_order_detection();
    test_axis_order_raw();
    test_write_read();
    test_write_modes();
    test_streaming_writer();
    test_bad_headers();
    test_shared_maps();
    return cg_test_finish();
}
