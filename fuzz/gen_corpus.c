/* Seed corpus for the fuzzers, written by the project's own writers: MRC files in every mode
 * (stacks and volumes, one with axis order 2,1,3 and a big-endian one patched by hand), STAR
 * files (RELION 3.0 and 3.1 style, key-value, quoted values) and small .npy/.cs files.
 * usage: fuzz_gen_corpus OUTDIR   (writes OUTDIR/{mrc,star,cs}/...) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/mrc.h"
#include "cryogen/particles.h"
#include "cryogen/star.h"

static char g_dir[1024];

static const char *path(const char *sub, const char *name) {
    static char buf[2][2200];
    static int k;
    char *b = buf[k++ & 1];
    snprintf(b, sizeof buf[0], "%s/%s/%s", g_dir, sub, name);
    return b;
}

static void write_bytes(const char *p, const void *data, size_t n) {
    FILE *f = fopen(p, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

static int mrc_seeds(void) {
    float v[6 * 5 * 4];
    for (int i = 0; i < 120; i++) v[i] = (float)(i % 50) - 20.0f;
    const int modes[5] = {0, 1, 2, 6, 12};
    char name[64];
    for (int m = 0; m < 5; m++) {
        for (int i = 0; i < 120 && modes[m] == 6; i++) v[i] = (float)(i % 50);
        snprintf(name, sizeof name, "mode%d.mrcs", modes[m]);
        if (cg_mrc_write_mode(path("mrc", name), v, 6, 5, 4, 1.5f, 1, "seed", modes[m]) != CG_OK) return 1;
        snprintf(name, sizeof name, "mode%d_vol.mrc", modes[m]);
        if (cg_mrc_write_mode(path("mrc", name), v, 5, 4, 6, 2.0f, 0, NULL, modes[m]) != CG_OK) return 1;
    }
    /* a copy with axis order 2,1,3 and a byte-swapped header (stamp 11 11) */
    FILE *f = fopen(path("mrc", "mode2_vol.mrc"), "rb");
    unsigned char buf[1024 + 480];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    if (n != sizeof buf) return 1;
    buf[64] = 2, buf[68] = 1;
    write_bytes(path("mrc", "axes213.mrc"), buf, n);
    for (size_t w = 0; w < n / 4; w++) { /* swap every 4-byte word (header ints and float data) */
        unsigned char *p = buf + 4 * w, t = p[0];
        p[0] = p[3], p[3] = t, t = p[1], p[1] = p[2], p[2] = t;
    }
    memcpy(buf + 208, "MAP ", 4);
    buf[212] = buf[213] = 0x11, buf[214] = buf[215] = 0;
    write_bytes(path("mrc", "bigendian.mrc"), buf, n);
    return 0;
}

static int star_seeds(void) {
    static const char *texts[] = {
        "# version 30001\n\ndata_optics\n\nloop_\n_rlnOpticsGroup #1\n_rlnVoltage #2\n_rlnImagePixelSize #3\n"
        "_rlnImageSize #4\n1 300 1.5 64\n\n# version 30001\n\ndata_particles\n\nloop_\n_rlnImageName #1\n"
        "_rlnAngleRot #2\n_rlnOriginXAngst #3\n_rlnOpticsGroup #4\n000001@s.mrcs 10.5 -2.0 1\n000002@s.mrcs 1e3 0 1\n",
        "data_\nloop_\n_rlnImageName\n_rlnDefocusU\n_rlnMagnification\n_rlnDetectorPixelSize\n1@a.mrc 15000.5 38168 5\n",
        "data_general\n_rlnFinalResolution 3.2\n_rlnName 'two words'\n_rlnEmpty \"\"\n",
        "data_a\nloop_\n_x #1 [comment]\n_y #2\n'it''s' \"q q\"\r\n\ndata_b\n\nloop_\n",
    };
    char name[32];
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        snprintf(name, sizeof name, "seed%zu.star", i);
        write_bytes(path("star", name), texts[i], strlen(texts[i]));
    }
    cg_particles *p;
    if (cg_particles_alloc(&p, 3, 16, 1.2) != CG_OK) return 1;
    p->has_poses = p->has_shifts = p->has_ctf = 1;
    p->random_subset[0] = 1, p->ctf[1].voltage_kV = 200;
    cg_status s = cg_particles_write_star(p, path("star", "written.star"), "stack.mrcs", "seed");
    cg_particles_free(p);
    return s != CG_OK;
}

static void npy(const char *name, const char *dict, const void *rec, size_t rec_bytes, int nrec) {
    unsigned char buf[4096];
    size_t hl = strlen(dict);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)hl, buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + 10, dict, hl);
    for (int r = 0; r < nrec; r++) memcpy(buf + 10 + hl + r * rec_bytes, rec, rec_bytes);
    write_bytes(path("cs", name), buf, 10 + hl + (size_t)nrec * rec_bytes);
}

static void cs_seeds(void) {
    unsigned char rec[128] = {0};
    memcpy(rec, ">J1/imported/stack.mrc", 22);
    float f[3] = {0.5f, -1.0f, 2.0f};
    memcpy(rec + 24, f, sizeof f);
    npy("particles.cs",
        "{'descr': [('blob/path', '|S24'), ('alignments3D/pose', '<f4', (3,)), ('blob/idx', '<u4'), ('ctf/df1_A', '>f8'),"
        " ('x', '<i2'), ('pad', '|V2'), ('b', '|b1'), ('h', '<f2', (2, 1)), ('u', '<u8')], 'fortran_order': False, "
        "'shape': (3,), }\n",
        rec, 24 + 12 + 4 + 8 + 2 + 2 + 1 + 4 + 8, 3);
    npy("plain.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }\n", rec, 8, 4);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    snprintf(g_dir, sizeof g_dir, "%s", argv[1]);
    const char *subs[3] = {"mrc", "star", "cs"};
    for (int i = 0; i < 3; i++) {
        char d[1200];
        snprintf(d, sizeof d, "%s/%s", g_dir, subs[i]);
        if (cg_mkdir_p(d) != CG_OK) {
            fprintf(stderr, "%s\n", cg_last_error());
            return 1;
        }
    }
    if (mrc_seeds() || star_seeds()) {
        fprintf(stderr, "gen_corpus: %s\n", cg_last_error());
        return 1;
    }
    cs_seeds();
    return 0;
}
