/* Version, git hash, thread count. */
#include "cryogen/core.h"
#include "cryogen_version.h"
#ifdef CG_HAVE_OPENMP
#include <omp.h>
#endif

const char *cg_version(void) { return CG_VERSION; }
const char *cg_git_hash(void) { return CG_GIT_HASH; }

char *cg_provenance(char *buf, size_t size, uint64_t seed) {
    if (seed == CG_NO_SEED)
        snprintf(buf, size, "cryogen %s (git %s)", CG_VERSION, CG_GIT_HASH);
    else
        snprintf(buf, size, "cryogen %s (git %s) seed=%llu", CG_VERSION, CG_GIT_HASH, (unsigned long long)seed);
    return buf;
}

int cg_get_threads(void) {
#ifdef CG_HAVE_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void cg_set_threads(int n) {
#ifdef CG_HAVE_OPENMP
    if (n > 0) omp_set_num_threads(n);
#else
    (void)n;
#endif
}
