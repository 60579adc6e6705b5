/* STAR model: every relion/ and cryodrgn/ STAR file in ../shared/data read and compared
 * (blocks, labels, every value) with an independent naive reader (tests/star_reference.py,
 * standard-library Python), written and read back unchanged, and the written files read by
 * RELION 3.1.3's relion_star_printtable with the same values; quoting; the editing API; a
 * 10^5-row table; and malformed input, each with a message naming file, line, block and row. */
#include <stdint.h>
#include <sys/wait.h>

#include "cryogen/star.h"
#include "testutil.h"

static const char *tmp;

static uint64_t fnv(uint64_t h, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s;; p++) {
        h ^= *p;
        h *= 0x100000001B3ull;
        if (!*p) break;
    }
    return h;
}

static uint64_t block_hash(const cg_star_block *b) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (int c = 0; c < cg_star_ncols(b); c++) h = fnv(h, cg_star_label(b, c));
    for (int64_t r = 0; r < cg_star_nrows(b); r++)
        for (int c = 0; c < cg_star_ncols(b); c++) h = fnv(h, cg_star_get(b, r, c));
    return h;
}

/* Every block, label and cell equal. */
static int same_star(const cg_star *a, const cg_star *b) {
    if (cg_star_nblocks(a) != cg_star_nblocks(b)) return 0;
    for (int i = 0; i < cg_star_nblocks(a); i++) {
        const cg_star_block *x = cg_star_block_at(a, i), *y = cg_star_block_at(b, i);
        if (strcmp(cg_star_block_name(x), cg_star_block_name(y)) || cg_star_block_is_loop(x) != cg_star_block_is_loop(y) ||
            cg_star_ncols(x) != cg_star_ncols(y) || cg_star_nrows(x) != cg_star_nrows(y))
            return 0;
        for (int c = 0; c < cg_star_ncols(x); c++)
            if (strcmp(cg_star_label(x, c), cg_star_label(y, c))) return 0;
        for (int64_t r = 0; r < cg_star_nrows(x); r++)
            for (int c = 0; c < cg_star_ncols(x); c++)
                if (strcmp(cg_star_get(x, r, c), cg_star_get(y, r, c))) return 0;
    }
    return 1;
}

static const char *g_files[] = {"relion/relion31.star",       "relion/relion5.star",
                                "relion/rln_proj_64_centered.star", "relion/rln_proj_64_shifted.star",
                                "relion/sample_particles_relion31.star", "relion/trpv1_small_stack.star",
                                "cryodrgn/empiar_10076_7.star", "cryodrgn/toy_projections.star"};
enum { NFILES = sizeof g_files / sizeof g_files[0] };

/* Compare with the naive Python reader: one line per block. */
static void check_against_python(const char *path, const cg_star *s) {
    char cmd[2400], out[1200];
    snprintf(out, sizeof out, "%s/ref.txt", tmp);
    const char *src = getenv("CG_SOURCE_DIR");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/star_reference.py' '%s' > '%s'", src ? src : "..", path, out);
    int rc = system(cmd);
    if (rc == -1 || WEXITSTATUS(rc) != 0) {
        printf("note: /usr/bin/python3 unavailable; skipping the independent check of %s\n", path);
        return;
    }
    FILE *f = fopen(out, "r");
    char file[1024], name[256];
    int loop, ncols, i = 0;
    long long nrows;
    unsigned long long hash;
    while (f && fscanf(f, "%1023s %255s %d %lld %d %llx", file, name, &loop, &nrows, &ncols, &hash) == 6) {
        const cg_star_block *b = cg_star_block_at(s, i++);
        CHECK_MSG(b != NULL, "%s: python sees block %s that we do not", path, name);
        if (!b) break;
        const char *ours = cg_star_block_name(b)[0] ? cg_star_block_name(b) : "-";
        CHECK_MSG(!strcmp(ours, name) && loop == cg_star_block_is_loop(b) && nrows == cg_star_nrows(b) &&
                      ncols == cg_star_ncols(b) && hash == block_hash(b),
                  "%s block %s: python %d %lld %d %llx, ours %s %d %lld %d %llx", path, name, loop, nrows, ncols, hash,
                  ours, cg_star_block_is_loop(b), (long long)cg_star_nrows(b), cg_star_ncols(b),
                  (unsigned long long)block_hash(b));
    }
    if (f) fclose(f);
    CHECK_MSG(i == cg_star_nblocks(s), "%s: python saw %d blocks, we %d", path, i, cg_star_nblocks(s));
}

/* RELION reads our written file: relion_star_printtable gives the values we hold. */
static void check_with_relion(const char *written, const cg_star *s, const char *block, const char *label) {
    const cg_star_block *b = cg_star_find_block(s, block);
    int col = b ? cg_star_find_col(b, label) : -1;
    if (col < 0) return;
    char cmd[2400], out[1200];
    snprintf(out, sizeof out, "%s/relion.txt", tmp);
    snprintf(cmd, sizeof cmd, "relion_star_printtable '%s' data_%s %s > '%s' 2>/dev/null", written, block, label, out);
    int rc = system(cmd);
    if (rc == -1 || WEXITSTATUS(rc) == 127) {
        printf("note: relion_star_printtable not installed; skipping the RELION check\n");
        return;
    }
    FILE *f = fopen(out, "r");
    char v[4096];
    int64_t r = 0;
    int bad = 0;
    while (f && fscanf(f, "%4095s", v) == 1 && r < cg_star_nrows(b)) {
        const char *ours = cg_star_get(b, r++, col);
        char *e1, *e2;
        double a = strtod(v, &e1), c = strtod(ours, &e2);
        bad += (*e1 || *e2) ? strcmp(v, ours) != 0 : fabs(a - c) > 1e-6 * (1 + fabs(c));
    }
    if (f) fclose(f);
    CHECK_MSG(r == cg_star_nrows(b) && bad == 0, "RELION reads %lld rows of %s/%s from %s, %d differ", (long long)r,
              block, label, written, bad);
}

static void test_shared_files(void) {
    int found = 0;
    for (int i = 0; i < NFILES; i++) {
        const char *path = cg_test_data(g_files[i]);
        if (!path) continue;
        found++;
        cg_star *s = NULL, *t = NULL;
        CHECK_OK(cg_star_read(path, &s));
        if (!s) continue;
        CHECK(strcmp(cg_star_path(s), path) == 0);
        check_against_python(path, s);
        char out[1200];
        snprintf(out, sizeof out, "%s/rt_%d.star", tmp, i);
        CHECK_OK(cg_star_write(out, s, "round trip test\nsecond line"));
        CHECK_OK(cg_star_read(out, &t));
        CHECK_MSG(t && same_star(s, t), "%s changed in a round trip", g_files[i]);
        /* RELION reads the rewritten file with the same values */
        check_with_relion(out, s, "particles", "rlnDefocusU");
        check_with_relion(out, s, "particles", "rlnImageName");
        check_with_relion(out, s, "optics", "rlnVoltage");
        cg_star_free(s);
        cg_star_free(t);
    }
    if (!found) printf("note: ../shared/data STAR files absent; skipped those round trips\n");
}

static void test_quoting_and_editing(void) {
    cg_star *s = cg_star_new();
    cg_star_block *kv = cg_star_add_block(s, "general", 0), *b = cg_star_add_block(s, "things", 1);
    CHECK(kv && b && cg_star_nrows(kv) == 1);
    CHECK(cg_star_add_col(kv, "rlnFinalResolution", "3.2") == 0);
    CHECK(cg_star_add_col(b, "_rlnA", NULL) == 0 && cg_star_add_col(b, "rlnB", "x") == 1);
    CHECK(cg_star_add_col(b, "rlnA", NULL) == 0); /* existing label: same index */
    const char *tricky[] = {"", "two words", "_starts_with_underscore", "#hash", "it's", "say \"hi\" now",
                            "data_x", "loop_", "tab\there", "ok"};
    for (int i = 0; i < 10; i++) {
        int64_t r = cg_star_add_row(b);
        CHECK(r == i);
        CHECK_OK(cg_star_set(b, r, 1, tricky[i]));
        CHECK_OK(cg_star_set_double(b, r, 0, i * 0.5, "%.3f"));
    }
    CHECK(cg_star_add_row(kv) == -1);
    CHECK(cg_star_add_col(b, "rlnC", "fill") == 2 && !strcmp(cg_star_get(b, 9, 2), "fill"));
    CHECK_OK(cg_star_set_int(b, 3, 2, -42));
    char path[1200];
    snprintf(path, sizeof path, "%s/quoted.star", tmp);
    CHECK_OK(cg_star_write(path, s, NULL));
    cg_star *t = NULL;
    CHECK_OK(cg_star_read(path, &t));
    CHECK(t && same_star(s, t));
    if (t) {
        const cg_star_block *tb = cg_star_find_block(t, "things");
        int64_t iv = 0;
        double dv = 0;
        CHECK_OK(cg_star_get_int(tb, 3, 2, &iv));
        CHECK(iv == -42);
        CHECK_OK(cg_star_get_double(tb, 5, 0, &dv));
        CHECK(dv == 2.5);
        CHECK(cg_star_row_line(tb, 0) > 0 && cg_star_block_line(tb) > 0);
        CHECK(cg_star_find_block(t, "absent") == NULL && cg_star_find_col(tb, "rlnZ") == -1);
    }
    cg_star_free(t);
    /* a value that cannot be written fails and leaves neither the file nor a temporary */
    CHECK_OK(cg_star_set(b, 0, 1, "line\nbreak"));
    snprintf(path, sizeof path, "%s/unwritable.star", tmp);
    CHECK_FAILS(cg_star_write(path, s, NULL), CG_ERR_UNSUPPORTED, "data_things row 1, rlnB");
    CHECK(!cg_file_exists(path));
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q tmp-", tmp);
    CHECK(system(cmd) != 0);
    cg_star_free(s);
}

static void test_large(void) {
    enum { N = 100000 };
    cg_star *s = cg_star_new();
    cg_star_block *b = cg_star_add_block(s, "particles", 1);
    cg_star_add_col(b, "rlnImageName", NULL);
    cg_star_add_col(b, "rlnDefocusU", NULL);
    cg_star_add_col(b, "rlnAngleRot", NULL);
    char name[64];
    for (int i = 0; i < N; i++) {
        cg_star_add_row(b);
        snprintf(name, sizeof name, "%06d@stack_%d.mrcs", i % 1000 + 1, i / 1000);
        cg_star_set(b, i, 0, name);
        cg_star_set_double(b, i, 1, 10000 + i, NULL);
        cg_star_set_double(b, i, 2, i * 0.001, NULL);
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/large.star", tmp);
    double t0 = cg_time_s();
    CHECK_OK(cg_star_write(path, s, NULL));
    double t1 = cg_time_s();
    cg_star *t = NULL;
    CHECK_OK(cg_star_read(path, &t));
    double t2 = cg_time_s();
    printf("%d rows: write %.3f s, read %.3f s\n", N, t1 - t0, t2 - t1);
    CHECK(t && same_star(s, t));
    cg_star_free(s);
    cg_star_free(t);
}

typedef struct {
    const char *text, *needle;
} bad_case;

static void test_malformed(void) {
    const bad_case cases[] = {
        {"data_particles\nloop_\n_rlnA #1\n_rlnB #2\n_rlnC #3\n1 2 3\n4 5\n",
         "bad.star:7: data_particles row 2 has 2 values but the loop declares 3 labels"},
        {"data_p\nloop_\n_rlnA\n1 2\n", "bad.star:4: data_p row 1 has 2 values but the loop declares 1 labels"},
        {"data_p\nloop_\n_rlnA\n'unterminated\n", "bad.star:4: unterminated quote"},
        {"data_p\nloop_\n_rlnA\n1\n_rlnB\n", "bad.star:5: label _rlnB after the rows of data_p"},
        {"data_p\nloop_\n_rlnA\n_rlnA\n", "bad.star:4: label rlnA appears twice in data_p"},
        {"hello\ndata_p\n", "bad.star:1: data before any data_ block"},
        {"data_p\n_rlnA\n", "bad.star:2: _rlnA has no value"},
        {"data_p\n_rlnA 1 2\n", "bad.star:2: more than one value after _rlnA"},
        {"data_p\nloop_\n_rlnA\n1\nloop_\n", "bad.star:5: a second loop_ in data_p"},
        {"data_p\nloop_\n1 2\n", "bad.star:3: values in data_p before any _label"},
        {"data_p\n_rlnA 1\n2\n", "bad.star:3: a value without a label in key-value block data_p"},
        {"data_p\nloop_\n_\n", "bad.star:3: empty label"},
        {"data_p\nloop_ x\n", "bad.star:2: unexpected text after loop_"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cg_star *s = (cg_star *)1;
        CHECK_FAILS(cg_star_parse(cases[i].text, strlen(cases[i].text), "bad.star", &s), CG_ERR_FORMAT, cases[i].needle);
        CHECK(s == NULL);
    }
    const char nul[] = "data_p\n\0loop_\n";
    cg_star *s = NULL;
    CHECK_FAILS(cg_star_parse(nul, sizeof nul - 1, "bin.star", &s), CG_ERR_FORMAT, "bin.star: byte 7 is a NUL");
    /* non-numeric values: the typed read names file, line, block, row, label and text */
    const char *t = "# version 30001\ndata_particles\nloop_\n_rlnImageName\n_rlnDefocusU\n1@a.mrcs 100\n2@a.mrcs abc\n"
                    "3@a.mrcs 1.5\r\n";
    CHECK_OK(cg_star_parse(t, strlen(t), "p.star", &s));
    if (s) {
        const cg_star_block *b = cg_star_find_block(s, "particles");
        double v;
        int64_t iv;
        CHECK_OK(cg_star_get_double(b, 0, 1, &v));
        CHECK_FAILS(cg_star_get_double(b, 1, 1, &v), CG_ERR_FORMAT,
                    "p.star:7: data_particles row 2, rlnDefocusU: 'abc' is not a number");
        CHECK_FAILS(cg_star_get_int(b, 2, 1, &iv), CG_ERR_FORMAT, "'1.5' is not an integer");
        CHECK_FAILS(cg_star_get_double(b, 5, 1, &v), CG_ERR_ARG, "row 6");
        CHECK(!strcmp(cg_star_get(b, 2, 1), "1.5")); /* \r is a blank */
    }
    cg_star_free(s);
    /* empty text and comments only: no blocks, no error */
    CHECK_OK(cg_star_parse("# nothing\n\n", 11, "e.star", &s));
    CHECK(s && cg_star_nblocks(s) == 0);
    cg_star_free(s);
    CHECK_FAILS(cg_star_read("/nonexistent/x.star", &s), CG_ERR_IO, "/nonexistent/x.star");
}

int main(void) {
    tmp = cg_test_tmpdir("star");
    test_malformed();
    test_quoting_and_editing();
    test_large();
    test_shared_files();
    return cg_test_finish();
}
