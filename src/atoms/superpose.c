/* Rigid least-squares superposition by Horn's closed-form quaternion method
 * (B. K. P. Horn, J. Opt. Soc. Am. A 4, 629 (1987)): the optimal rotation is the eigenvector
 * of the largest eigenvalue of a 4x4 symmetric matrix built from the cross-covariance of the
 * centred point sets. The eigenproblem is solved by cyclic Jacobi rotations in double. */
#include <math.h>

#include "cryogen/atoms.h"
#include "cryogen/geom.h"

/* Eigen-decomposition of a symmetric 4x4 matrix: eigenvalues in w, eigenvectors in columns of V. */
static void jacobi4(double a[4][4], double w[4], double V[4][4]) {
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) V[i][j] = i == j;
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0;
        for (int p = 0; p < 4; p++)
            for (int q = p + 1; q < 4; q++) off += a[p][q] * a[p][q];
        if (off < 1e-30) break;
        for (int p = 0; p < 4; p++)
            for (int q = p + 1; q < 4; q++) {
                if (fabs(a[p][q]) < 1e-300) continue;
                double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < 4; k++) { /* A <- J^T A J */
                    double akp = a[k][p], akq = a[k][q];
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for (int k = 0; k < 4; k++) {
                    double apk = a[p][k], aqk = a[q][k];
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for (int k = 0; k < 4; k++) {
                    double vkp = V[k][p], vkq = V[k][q];
                    V[k][p] = c * vkp - s * vkq;
                    V[k][q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < 4; i++) w[i] = a[i][i];
}

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
    double w[4], V[4][4];
    jacobi4(N, w, V);
    int best = 0;
    for (int i = 1; i < 4; i++)
        if (w[i] > w[best]) best = i;
    double q[4] = {V[0][best], V[1][best], V[2][best], V[3][best]};
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
