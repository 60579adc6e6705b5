/* libFuzzer harness for the cryoSPARC .cs / NumPy .npy reader (cg_cs_parse_memory): header
 * literal parsing, dtype and layout checks, then every field read as numbers or strings.
 * Build: -DCRYOGEN_FUZZ=ON with clang (fuzz/fuzz.mk). */
#include <stdint.h>
#include <stdlib.h>

#include "cryogen/cs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    cg_log_set_level(CG_LOG_SILENT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cg_cs *cs = NULL;
    if (cg_cs_parse_memory(data, size, "fuzz.cs", &cs) != CG_OK) return 0;
    for (int i = 0; i < cg_cs_nfields(cs); i++) {
        const cg_cs_field *f = cg_cs_field_at(cs, i);
        double *v = NULL;
        char buf[64];
        if (f->kind <= CG_NPY_FLOAT && cg_cs_get_double(cs, f->name, &v, NULL) == CG_OK) free(v);
        if (f->kind == CG_NPY_BYTES && cg_cs_nrows(cs) > 0) cg_cs_get_string(cs, f->name, cg_cs_nrows(cs) - 1, buf, sizeof buf);
    }
    cg_cs_free(cs);
    return 0;
}
