/* libFuzzer harness for the STAR parser (cg_star_parse) and the typed accessors: every block,
 * label and cell of a parsed input is read, and up to 4096 cells are converted to numbers.
 * Build: -DCRYOGEN_FUZZ=ON with clang (fuzz/fuzz.mk). */
#include <stdint.h>
#include <string.h>

#include "cryogen/star.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    cg_log_set_level(CG_LOG_SILENT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cg_star *s = NULL;
    if (cg_star_parse((const char *)data, size, "fuzz.star", &s) != CG_OK) return 0;
    size_t budget = 4096, total = 0;
    for (int i = 0; i < cg_star_nblocks(s); i++) {
        cg_star_block *b = cg_star_block_at(s, i);
        total += strlen(cg_star_block_name(b));
        for (int c = 0; c < cg_star_ncols(b); c++) {
            total += strlen(cg_star_label(b, c));
            if (cg_star_find_col(b, cg_star_label(b, c)) != c) __builtin_trap(); /* labels are unique */
        }
        for (int64_t r = 0; r < cg_star_nrows(b); r++)
            for (int c = 0; c < cg_star_ncols(b); c++) {
                total += strlen(cg_star_get(b, r, c));
                if (budget) {
                    budget--;
                    double d;
                    int64_t k;
                    cg_star_get_double(b, r, c, &d);
                    cg_star_get_int(b, r, c, &k);
                }
            }
    }
    if (total > 2 * size + 16) __builtin_trap(); /* cells are cut from the input, never longer */
    cg_star_free(s);
    return 0;
}
