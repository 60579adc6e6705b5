/* Inputs found by the fuzzers (fuzz/) or by review, kept in tests/data/fuzz/ and replayed here
 * through the in-memory readers picked by the file name (mrc*, star*, cs*). Each must give
 * either a result that keeps the readers' invariants or an error naming the input; specific
 * expectations for each known bug follow. Run under -DCRYOGEN_SANITIZE=ON to catch memory errors.
 *   star_crash_underscore_label.star (fuzz_star, first local run): a label "__x" is stored as "_x",
 *     and cg_star_find_col stripped one more underscore, so the label could not be found.
 *   star_underscore_label_min.star: the same, minimal; "_a" and "__a" are different labels.
 *   cs_zero_byte_records.npy (review): 10^18 records of zero bytes were accepted, and any caller
 *     allocating per record would then ask for exabytes.
 *   atoms_formfeed_hang.cif (fuzz_atoms, first run): a form feed between mmCIF tokens made the
 *     lexer return empty tokens forever (a hang, not a crash).
 *   atoms_cif_empty_quote_at_end.cif (fuzz_atoms, CI slice on a fresh corpus): an empty quoted
 *     value at the very end of the input gave a zero-length token pointing one byte past the
 *     buffer, and the row loop read its first byte (heap overflow under ASan). */
#include <dirent.h>

#include "cryogen/atoms.h"
#include "cryogen/cs.h"
#include "cryogen/mrc.h"
#include "cryogen/star.h"
#include "testutil.h"

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = malloc(1 << 20);
    *n = b ? fread(b, 1, 1 << 20, f) : 0;
    fclose(f);
    return b;
}

static void replay(const char *dir, const char *name) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n;
    unsigned char *b = slurp(path, &n);
    CHECK(b != NULL);
    if (!b) return;
    cg_status s = CG_OK;
    cg_clear_error();
    if (!strncmp(name, "mrc", 3)) {
        cg_mrc_header h;
        float *v = NULL;
        s = cg_mrc_read_memory(b, n, name, &h, &v);
        free(v);
    } else if (!strncmp(name, "star", 4)) {
        cg_star *st = NULL;
        s = cg_star_parse((const char *)b, n, name, &st);
        for (int i = 0; st && i < cg_star_nblocks(st); i++) {
            const cg_star_block *bl = cg_star_block_at(st, i);
            for (int c = 0; c < cg_star_ncols(bl); c++)
                CHECK_MSG(cg_star_find_col(bl, cg_star_label(bl, c)) == c, "%s: label %s not found at %d", name,
                          cg_star_label(bl, c), c);
        }
        cg_star_free(st);
    } else if (!strncmp(name, "atoms", 5)) {
        cg_atoms *a = NULL;
        s = cg_atoms_parse((const char *)b, n, name, CG_ATOMS_ALL_MODELS, &a);
        if (a && !strcmp(name, "atoms_formfeed_hang.cif")) /* \f separates tokens like a space */
            CHECK(a->n == 1 && a->atoms[0].xyz_A[2] == 3.0);
        cg_atoms_free(a);
    } else if (!strncmp(name, "cs", 2)) {
        cg_cs *cs = NULL;
        s = cg_cs_parse_memory(b, n, name, &cs);
        cg_cs_free(cs);
    }
    CHECK_MSG(s == CG_OK || strstr(cg_last_error(), name), "%s: error without the input's name: %s", name, cg_last_error());
    printf("%s: %s%s%s\n", name, cg_status_str(s), s ? ": " : "", s ? cg_last_error() : "");
    free(b);
}

static void specific(const char *dir) {
    char path[2048];
    size_t n;
    snprintf(path, sizeof path, "%s/star_underscore_label_min.star", dir);
    unsigned char *b = slurp(path, &n);
    cg_star *s = NULL;
    if (b) CHECK_OK(cg_star_parse((const char *)b, n, "min.star", &s));
    free(b);
    if (s) {
        const cg_star_block *bl = cg_star_block_at(s, 0);
        CHECK(cg_star_ncols(bl) == 2 && !strcmp(cg_star_label(bl, 1), "_a"));
        CHECK(cg_star_find_col(bl, "_a") == 1 && cg_star_find_col(bl, "a") == 0 && cg_star_find_col(bl, "__a") == 1);
        char out[1200];
        snprintf(out, sizeof out, "%s/rt.star", cg_test_tmpdir("fuzz_regressions"));
        cg_star *t = NULL;
        CHECK_OK(cg_star_write(out, s, NULL));
        CHECK_OK(cg_star_read(out, &t));
        CHECK(t && cg_star_ncols(cg_star_block_at(t, 0)) == 2 && !strcmp(cg_star_label(cg_star_block_at(t, 0), 1), "_a"));
        cg_star_free(t);
    }
    cg_star_free(s);
    snprintf(path, sizeof path, "%s/cs_zero_byte_records.npy", dir);
    b = slurp(path, &n);
    cg_cs *cs = NULL;
    if (b) CHECK_FAILS(cg_cs_parse_memory(b, n, "zero.npy", &cs), CG_ERR_FORMAT, "records of zero bytes");
    free(b);
    const char dup[] = "data_x\nloop_\n_a\n__a\n_a\n";
    CHECK_FAILS(cg_star_parse(dup, sizeof dup - 1, "dup.star", &s), CG_ERR_FORMAT, "label a appears twice");
}

int main(void) {
    const char *src = getenv("CG_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/data/fuzz", src ? src : "..");
    DIR *d = opendir(dir);
    if (!d) SKIP("no %s (set CG_SOURCE_DIR)", dir);
    int count = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') replay(dir, e->d_name), count++;
    closedir(d);
    CHECK(count >= 3);
    specific(dir);
    return cg_test_finish();
}
