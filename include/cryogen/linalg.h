/* Small dense linear algebra in double (matrices of up to a few hundred rows): symmetric
 * eigen-decomposition by cyclic Jacobi rotations. Row-major. Large products go to BLAS. */
#pragma once
#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Eigenvalues w[n] (descending) and eigenvectors V[n][n] (column j of V belongs to w[j]) of
 * the symmetric matrix A[n][n] (A is destroyed). Accurate to ~1e-12 relative. */
cg_status cg_sym_eigen(double *A, int n, double *w, double *V);

#ifdef __cplusplus
}
#endif
