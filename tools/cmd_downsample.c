/* `cryogen downsample`: Fourier-crop (or pad) a particle stack, or a 3D map, to a new box size. The
 * pixel size becomes pixel_size * D / D2; values are mean-preserving (include/cryogen/image.h). For a
 * STAR input the particles' images are read through it and an updated STAR (new box, pixel size and
 * image names; angles, shifts in A and CTF unchanged) is written next to the output stack. An MRC
 * file is a map (resampled in 3D) when its header says so (space group 1-230, as RELION and
 * ChimeraX write maps) or when it is a cube named .mrc; --as overrides the guess. */
#include <stdlib.h>
#include <string.h>
#ifdef CG_HAVE_OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "cli_simulate.h"
#include "cryogen/image.h"
#include "cryogen/mrc.h"
#include "cryogen/particles.h"

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

typedef struct {
    cg_mrc_stack *stack;   /* stack input */
    cg_particles *parts;   /* STAR input */
} source;

static cg_status read_image(const source *src, int64_t i, float *out) {
    return src->parts ? cg_particles_read_image(src->parts, i, out) : cg_mrc_stack_read(src->stack, i, out);
}

/* Resample images [0, n) of src into the writer, in ordered batches, one resampler per thread. */
static cg_status resample_all(const source *src, int64_t n, int D, int D2, cg_mrc_writer *w) {
    const int nt = cg_get_threads() > 0 ? cg_get_threads() : 1;
    const int64_t batch = 256;
    cg_resampler **rs = cg_calloc((size_t)nt, sizeof *rs, "resamplers");
    float *in = cg_malloc((size_t)nt * D * D, sizeof(float), "input images");
    float *out = cg_malloc((size_t)batch * D2 * D2, sizeof(float), "output images");
    cg_status s = (rs && in && out) ? CG_OK : CG_ERR_NOMEM;
    for (int t = 0; s == CG_OK && t < nt; t++) s = cg_resampler_create(&rs[t], 2, D, D2);
    cg_progress pr;
    cg_progress_begin(&pr, "downsample", "images", n);
    for (int64_t i0 = 0; s == CG_OK && i0 < n; i0 += batch) {
        int64_t m = n - i0 < batch ? n - i0 : batch;
        int failed = 0;
#ifdef CG_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 8) num_threads(nt) reduction(| : failed)
#endif
        for (int64_t j = 0; j < m; j++) {
#ifdef CG_HAVE_OPENMP
            int t = omp_get_thread_num();
#else
            int t = 0;
#endif
            float *buf = in + (size_t)t * D * D;
            if (read_image(src, i0 + j, buf) != CG_OK) {
                failed = 1;
                continue;
            }
            cg_resample(rs[t], buf, out + (size_t)j * D2 * D2);
        }
        if (failed) s = cg_error(CG_ERR_IO, "reading images %lld to %lld failed", (long long)i0 + 1, (long long)(i0 + m));
        if (s == CG_OK) s = cg_mrc_writer_append(w, out, m);
        if (s == CG_OK && cg_interrupted()) s = cg_error(CG_ERR_INTERRUPTED, "interrupted; no output written");
        cg_progress_update(&pr, i0 + m);
    }
    if (s == CG_OK) cg_progress_end(&pr);
    for (int t = 0; rs && t < nt; t++) cg_resampler_destroy(rs[t]);
    free(rs), free(in), free(out);
    return s;
}

static char *star_path_for(const char *stack_path) {
    size_t n = strlen(stack_path);
    const char *dot = strrchr(stack_path, '.'), *slash = strrchr(stack_path, '/');
    if (!dot || (slash && dot < slash)) dot = stack_path + n;
    size_t base = (size_t)(dot - stack_path);
    char *p = cg_malloc(base + 6, 1, "path");
    if (!p) return NULL;
    memcpy(p, stack_path, base);
    strcpy(p + base, ".star");
    return p;
}

/* Create the folder OUT will be written in. */
static cg_status make_parent_dir(const char *out) {
    char *dir = cg_path_dirname(out);
    cg_status s = dir ? cg_mkdir_p(dir) : CG_ERR_NOMEM;
    free(dir);
    return s;
}

/* Is this MRC file a 3D map rather than a stack of images? */
static int looks_like_map(const char *path, const cg_mrc_header *h) {
    if (h->nx != h->ny || h->ny != h->nz || h->nz < 2) return 0;
    if (h->ispg >= 1 && h->ispg <= 230) return 1;
    return ends_with(path, ".mrc") && h->mz == h->nz;
}

/* Resample a cubic map to D2^3 and write it as a map. */
static int downsample_map(const char *in, const char *out, int D2) {
    cg_mrc_header h;
    float *vol = NULL, *vol2 = NULL;
    cg_status s = cg_mrc_read(in, &h, &vol);
    if (s == CG_OK && (h.nx != h.ny || h.ny != h.nz))
        s = cg_error(CG_ERR_ARG, "%s: map is %d x %d x %d; a cubic map is needed", in, h.nx, h.ny, h.nz);
    const int D = h.nx;
    const double apix = h.pixel_size_A[0], apix2 = apix * D / D2;
    if (s == CG_OK) {
        vol2 = cg_malloc((size_t)D2 * D2 * D2, sizeof(float), "resampled map");
        s = vol2 ? cg_volume_resample(vol, D, vol2, D2) : CG_ERR_NOMEM;
    }
    char prov[256];
    cg_tool_provenance(prov, sizeof prov, "downsample", CG_NO_SEED);
    if (s == CG_OK) s = make_parent_dir(out);
    if (s == CG_OK) s = cg_mrc_write(out, vol2, D2, D2, D2, (float)apix2, 0, prov);
    if (s == CG_OK) printf("downsampled map %d^3 -> %d^3, pixel size %.4g -> %.4g A: %s\n", D, D2, apix, apix2, out);
    free(vol), free(vol2);
    return s == CG_OK ? CG_EXIT_OK : cg_cli_fail("downsample", s);
}

static int run(int argc, char **argv) {
    const char *out = NULL, *as = NULL;
    int D2 = 0;
    const cg_opt opts[] = {
        {"box", 0, CG_OPT_INT, &D2, "D2", "new box size, px (smaller: Fourier crop; larger: Fourier pad)"},
        {"out", 'o', CG_OPT_STRING, &out, "OUT.mrcs", "output stack or map (for a STAR input, OUT.star is written too)"},
        {"as", 0, CG_OPT_STRING, &as, "stack|map", "how to read an MRC input (default: a map if the header or a .mrc cube says so)"},
        {0},
    };
    const cg_cli_spec spec = {"cryogen downsample IN.mrcs|IN.star|MAP.mrc --box D2 --out OUT.mrcs|OUT.mrc",
                              "Fourier-crop particle images to D2 x D2 pixels, or a map to D2^3 voxels; the pixel size becomes\n"
                              "pixel_size * D / D2 and values keep their scale (a constant image stays the same constant).",
                              opts, 1, 1,
                              "  cryogen downsample sim/particles.star --box 64 --out sim64/particles.mrcs\n"
                              "  cryogen downsample emd_1234.mrc --box 64 --out emd_1234_64.mrc"};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (!out) return cg_cli_usage_error("downsample", "--out is required");
    if (D2 < 2) return cg_cli_usage_error("downsample", "--box must be a box size of at least 2 px");
    const char *in = pos[0];
    if (strcmp(in, out) == 0) return cg_cli_usage_error("downsample", "--out must differ from the input");
    if (as && strcmp(as, "stack") != 0 && strcmp(as, "map") != 0)
        return cg_cli_usage_error("downsample", "--as must be 'stack' or 'map'");
    if (!ends_with(in, ".star")) {
        cg_mrc_header h;
        cg_status hs = cg_mrc_read_header(in, &h);
        if (hs != CG_OK) return cg_cli_fail("downsample", hs);
        int is_map = as ? strcmp(as, "map") == 0 : looks_like_map(in, &h);
        if (is_map) return downsample_map(in, out, D2);
    }

    source src = {0};
    int64_t n = 0;
    int D = 0;
    double apix = 0;
    cg_status s;
    if (ends_with(in, ".star")) {
        s = cg_particles_read(in, &src.parts);
        if (s == CG_OK) s = cg_particles_open_stacks(src.parts);
        if (s == CG_OK) n = src.parts->n, D = src.parts->image_size, apix = src.parts->pixel_size_A;
    } else {
        s = cg_mrc_stack_open(&src.stack, in);
        if (s == CG_OK) {
            const cg_mrc_header *h = cg_mrc_stack_header(src.stack);
            n = cg_mrc_stack_count(src.stack), D = h->nx, apix = h->pixel_size_A[0];
            if (h->nx != h->ny) s = cg_error(CG_ERR_ARG, "%s: images are %d x %d; square images needed", in, h->nx, h->ny);
        }
    }
    char *star_out = src.parts ? star_path_for(out) : NULL;
    cg_mrc_writer *w = NULL;
    double apix2 = apix * D / D2;
    char prov[256];
    cg_tool_provenance(prov, sizeof prov, "downsample", CG_NO_SEED);
    if (s == CG_OK) s = make_parent_dir(out);
    if (s == CG_OK) s = cg_mrc_writer_open(&w, out, D2, D2, (float)apix2, prov);
    if (s == CG_OK) s = resample_all(&src, n, D, D2, w);
    if (s == CG_OK) {
        s = cg_mrc_writer_commit(w);
        w = NULL;
    }
    if (s == CG_OK && src.parts) {
        const char *slash = strrchr(out, '/');
        src.parts->image_size = D2;
        src.parts->pixel_size_A = apix2;
        s = cg_particles_write_star(src.parts, star_out, slash ? slash + 1 : out, prov);
    }
    cg_mrc_writer_abort(w);
    if (s == CG_OK)
        printf("downsampled %lld images %d -> %d px, pixel size %.4g -> %.4g A: %s%s%s\n", (long long)n, D, D2, apix, apix2,
               out, star_out ? ", " : "", star_out ? star_out : "");
    free(star_out);
    cg_particles_free(src.parts);
    cg_mrc_stack_close(src.stack);
    return s == CG_OK ? CG_EXIT_OK : cg_cli_fail("downsample", s);
}

const cg_cli_command cg_cmd_downsample = {"downsample", "Fourier-crop a particle stack (MRCS or STAR) to a new box", run};
