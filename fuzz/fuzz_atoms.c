/* libFuzzer harness for the PDB and mmCIF readers (cg_atoms_parse, both model modes): every
 * parsed atom is checked for a known element and finite coordinates, models are enumerated,
 * and the atoms are rendered into a tiny volume so the Gaussian code sees fuzzed values too.
 * Build: -DCRYOGEN_FUZZ=ON with clang (fuzz/fuzz.mk). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cryogen/atoms.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    cg_log_set_level(CG_LOG_SILENT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int which = 0; which < 2; which++) {
        cg_atoms *a = NULL;
        if (cg_atoms_parse((const char *)data, size, "fuzz.pdb", (cg_atoms_models)which, &a) != CG_OK) continue;
        for (int64_t i = 0; i < a->n; i++) {
            if (a->atoms[i].element < 1 || a->atoms[i].element > 92) __builtin_trap();
            if (strlen(a->atoms[i].name) > 4 || strlen(a->atoms[i].resname) > 3) __builtin_trap();
        }
        for (int m = 1; m <= a->nmodels && m <= 4; m++) {
            int64_t f, l;
            if (cg_atoms_model_range(a, m, &f, &l) == CG_OK && (f < 0 || l > a->n || f > l)) __builtin_trap();
        }
        /* render at most 64 atoms with finite, moderate coordinates into an 8^3 grid */
        cg_atom sel[64];
        int n = 0;
        for (int64_t i = 0; i < a->n && n < 64; i++) {
            const cg_atom *t = &a->atoms[i];
            if (isfinite(t->xyz_A[0]) && isfinite(t->xyz_A[1]) && isfinite(t->xyz_A[2]) && fabs(t->xyz_A[0]) < 1e4 &&
                fabs(t->xyz_A[1]) < 1e4 && fabs(t->xyz_A[2]) < 1e4 && isfinite(t->b_factor_A2) &&
                fabs(t->b_factor_A2) < 1e4 && isfinite(t->occupancy))
                sel[n++] = *t;
        }
        float vol[512];
        double c[3] = {0, 0, 0};
        cg_gauss_opts o = cg_gauss_opts_default();
        cg_atoms_to_volume(sel, n, &o, 8, 2.0, c, vol);
        cg_atoms_free(a);
    }
    return 0;
}
