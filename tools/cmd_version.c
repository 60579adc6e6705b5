/* `cryogen version`: version, git hash, threads, OpenBLAS kernels. */
#include <cblas.h>

#include "cli.h"
#include "cryogen/core.h"

static int run(int argc, char **argv) {
    static const cg_opt opts[] = {{0}};
    const cg_cli_spec spec = {"cryogen version", "Print the version, git hash, thread count and the OpenBLAS kernels in use.", opts, 0, 0, NULL};
    const char *pos[1];
    int npos, rc = cg_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    char buf[256];
    printf("%s, %d threads, OpenBLAS %s kernels\n", cg_provenance(buf, sizeof buf, CG_NO_SEED), cg_get_threads(),
           openblas_get_corename());
    return 0;
}

const cg_cli_command cg_cmd_version = {"version", "print version, git hash and threads", run};
