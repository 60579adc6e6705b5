/* Minimal test harness: CHECK macros that count failures, a skip with a reason (exit 77,
 * which CTest reports as skipped), and paths to shared data and scratch space.
 * Every test program ends with `return cg_test_finish();`, non-zero when any check failed. */
#pragma once
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryogen/core.h"

static int cg_test_failures = 0, cg_test_checks = 0;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        cg_test_checks++;                                                                  \
        if (!(cond)) {                                                                     \
            cg_test_failures++;                                                            \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
        }                                                                                  \
    } while (0)

#define CHECK_MSG(cond, ...)                                                               \
    do {                                                                                   \
        cg_test_checks++;                                                                  \
        if (!(cond)) {                                                                     \
            cg_test_failures++;                                                            \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
        }                                                                                  \
    } while (0)

/* |got - want| <= atol + rtol * |want| */
#define CHECK_CLOSE(got, want, atol, rtol)                                                 \
    do {                                                                                   \
        double g_ = (double)(got), w_ = (double)(want);                                    \
        CHECK_MSG(fabs(g_ - w_) <= (atol) + (rtol) * fabs(w_), "%s = %.9g, want %.9g",     \
                  #got, g_, w_);                                                           \
    } while (0)

#define CHECK_OK(expr)                                                                     \
    do {                                                                                   \
        cg_status s_ = (expr);                                                             \
        CHECK_MSG(s_ == CG_OK, "%s returned %s: %s", #expr, cg_status_str(s_),             \
                  cg_last_error());                                                        \
    } while (0)

/* Expect failure with a given status and a message containing `needle` (NULL: any). */
#define CHECK_FAILS(expr, status, needle)                                                  \
    do {                                                                                   \
        cg_clear_error();                                                                  \
        cg_status s_ = (expr);                                                             \
        const char *n_ = (needle);                                                         \
        CHECK_MSG(s_ == (status) && (!n_ || strstr(cg_last_error(), n_)),                  \
                  "%s returned %s (\"%s\"), want %s with \"%s\"", #expr, cg_status_str(s_), \
                  cg_last_error(), cg_status_str(status), n_ ? n_ : "");                   \
    } while (0)

static inline int cg_test_finish(void) {
    if (cg_test_failures) {
        fprintf(stderr, "%d of %d checks failed\n", cg_test_failures, cg_test_checks);
        return 1;
    }
    printf("all %d checks passed\n", cg_test_checks);
    return 0;
}

/* Exit 77 (skipped) with a reason. */
#define SKIP(...)                                                                          \
    do {                                                                                   \
        printf("SKIP: ");                                                                  \
        printf(__VA_ARGS__);                                                               \
        printf("\n");                                                                      \
        exit(77);                                                                          \
    } while (0)

/* Path to a file in ../shared/data (from CG_SHARED_DATA), or NULL when that folder is absent.
 * Returns a static buffer per call slot (up to 8 live results). */
static inline const char *cg_test_data(const char *rel) {
    static char bufs[8][1024];
    static int slot = 0;
    const char *root = getenv("CG_SHARED_DATA");
    if (!root) root = "../shared/data";
    char *b = bufs[slot++ & 7];
    snprintf(b, 1024, "%s/%s", root, rel);
    FILE *f = fopen(b, "rb");
    if (!f) return NULL;
    fclose(f);
    return b;
}

/* Like cg_test_data, but skip the whole test when the file is missing. */
static inline const char *cg_test_data_or_skip(const char *rel) {
    const char *p = cg_test_data(rel);
    if (!p) SKIP("third-party data %s not found (set CG_SHARED_DATA or check out ../shared)", rel);
    return p;
}

/* A fresh scratch directory for this test: $CG_TEST_TMP/<name> (created). */
static inline const char *cg_test_tmpdir(const char *name) {
    static char buf[1024];
    const char *root = getenv("CG_TEST_TMP");
    if (!root) root = "/tmp/cryogen-test";
    snprintf(buf, sizeof buf, "%s/%s", root, name);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", buf);
    if (system(cmd) != 0) { /* ignore */
    }
    if (cg_mkdir_p(buf) != CG_OK) {
        fprintf(stderr, "cannot create %s: %s\n", buf, cg_last_error());
        exit(1);
    }
    return buf;
}
