/* Rigid least-squares superposition by Horn's closed-form quaternion method
 * (B. K. P. Horn, J. Opt. Soc. Am. A 4, 629 (1987)): the optimal rotation is the eigenvector
 * of the largest eigenvalue of a 4x4 symmetric matrix built from the cross-covariance of the
 * centred point sets (solved with cg_sym_eigen). */
#include <math.h>

#include "cryogen/atoms.h"
#include "cryogen/geom.h"
#include "cryogen/linalg.h"

double cg_superpose(const double *x, const double *y, int64_t n, const int64_t *sel, int64_t nsel, double R[9],
                    double t[3]) {
    if (!sel) nsel = n;
    double cx[3] = {0, 0, 0}, cy[3] = {0, 0, 0};
    for (int64_t k = 0; k < nsel; k++) {
        int64_t i = sel ? sel[k] : k;
        for (int d = 0; d < 3; d++) {
            cx[d] += x[3 * i + d];
            cy[d] += y[3 * i + d];
        }
    }
    for (int d = 0; d < 3; d++) {
        cx[d] /= (double)(nsel ? nsel : 1);
        cy[d] /= (double)(nsel ? nsel : 1);
    }
    double S[3][3] = {{0}};
    for (int64_t k = 0; k < nsel; k++) {
        int64_t i = sel ? sel[k] : k;
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) S[a][b] += (x[3 * i + a] - cx[a]) * (y[3 * i + b] - cy[b]);
    }
    double N[4][4] = {
        {S[0][0] + S[1][1] + S[2][2], S[1][2] - S[2][1], S[2][0] - S[0][2], S[0][1] - S[1][0]},
        {S[1][2] - S[2][1], S[0][0] - S[1][1] - S[2][2], S[0][1] + S[1][0], S[2][0] + S[0][2]},
        {S[2][0] - S[0][2], S[0][1] + S[1][0], -S[0][0] + S[1][1] - S[2][2], S[1][2] + S[2][1]},
        {S[0][1] - S[1][0], S[2][0] + S[0][2], S[1][2] + S[2][1], -S[0][0] - S[1][1] + S[2][2]}};
    double w[4], V[16];
    cg_sym_eigen(&N[0][0], 4, w, V); /* eigenvalues descending: column 0 is the largest */
    double q[4] = {V[0], V[4], V[8], V[12]};
    cg_quat_to_matrix(q, R);
    double rc[3];
    cg_mat3_vec(R, cx, rc);
    for (int d = 0; d < 3; d++) t[d] = cy[d] - rc[d];
    double ss = 0;
    for (int64_t k = 0; k < nsel; k++) {
        int64_t i = sel ? sel[k] : k;
        double p[3];
        cg_mat3_vec(R, x + 3 * i, p);
        for (int d = 0; d < 3; d++) {
            double e = p[d] + t[d] - y[3 * i + d];
            ss += e * e;
        }
    }
    return sqrt(ss / (double)(nsel ? nsel : 1));
}
