/* libFuzzer harness for the MRC reader: any byte string as a whole file image
 * (cg_mrc_read_memory), which parses and validates the header, sizes, byte order and axis
 * order and converts every value. Build: -DCRYOGEN_FUZZ=ON with clang (fuzz/fuzz.mk). */
#include <stdint.h>
#include <stdlib.h>

#include "cryogen/mrc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    cg_log_set_level(CG_LOG_SILENT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cg_mrc_header h;
    float *v = NULL;
    if (cg_mrc_read_memory(data, size, "fuzz.mrc", &h, &v) == CG_OK) {
        /* touch the first and last values so a wrong size would be caught by ASan */
        volatile float s = v[0] + v[(size_t)h.nx * h.ny * h.nz - 1];
        (void)s;
    }
    free(v);
    return 0;
}
