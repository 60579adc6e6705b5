/* Rotation conventions; see include/cryogen/geom.h and CONVENTIONS.md. */
#include <math.h>

#include "cryogen/geom.h"

void cg_euler_to_matrix(double a, double b, double g, double A[9]) {
    double ca = cos(a), sa = sin(a), cb = cos(b), sb = sin(b), cg = cos(g), sg = sin(g);
    double cc = cb * ca, cs = cb * sa;
    A[0] = cg * cc - sg * sa;
    A[1] = cg * cs + sg * ca;
    A[2] = -cg * sb;
    A[3] = -sg * cc - cg * sa;
    A[4] = -sg * cs + cg * ca;
    A[5] = sg * sb;
    A[6] = sb * ca;
    A[7] = sb * sa;
    A[8] = cb;
}

void cg_matrix_to_euler(const double A[9], double *rot, double *tilt, double *psi) {
    /* as RELION's Euler_matrix2angles */
    double sb = sqrt(A[6] * A[6] + A[7] * A[7]);
    if (sb > 16 * 2.220446049250313e-16) {
        *psi = atan2(A[5], -A[2]);
        *rot = atan2(A[7], A[6]);
        *tilt = atan2(sb, A[8]);
    } else {
        *psi = 0.0;
        *tilt = A[8] > 0 ? 0.0 : CG_PI;
        /* tilt 0: A[0] = cos(rot + psi), A[1] = sin(rot + psi).
           tilt pi: A[4] = cos(rot - psi), A[3] = -sin(rot - psi). */
        *rot = A[8] > 0 ? atan2(A[1], A[0]) : atan2(-A[3], A[4]);
    }
}

void cg_quat_to_matrix(const double q_in[4], double R[9]) {
    double n = sqrt(q_in[0] * q_in[0] + q_in[1] * q_in[1] + q_in[2] * q_in[2] + q_in[3] * q_in[3]);
    double w = q_in[0] / n, x = q_in[1] / n, y = q_in[2] / n, z = q_in[3] / n;
    R[0] = 1 - 2 * (y * y + z * z);
    R[1] = 2 * (x * y - w * z);
    R[2] = 2 * (x * z + w * y);
    R[3] = 2 * (x * y + w * z);
    R[4] = 1 - 2 * (x * x + z * z);
    R[5] = 2 * (y * z - w * x);
    R[6] = 2 * (x * z - w * y);
    R[7] = 2 * (y * z + w * x);
    R[8] = 1 - 2 * (x * x + y * y);
}

void cg_matrix_to_quat(const double R[9], double q[4]) {
    /* Shepperd's method: pick the largest diagonal term for stability */
    double tr = R[0] + R[4] + R[8];
    double w, x, y, z;
    if (tr > 0) {
        double s = 2 * sqrt(1 + tr);
        w = 0.25 * s;
        x = (R[7] - R[5]) / s;
        y = (R[2] - R[6]) / s;
        z = (R[3] - R[1]) / s;
    } else if (R[0] > R[4] && R[0] > R[8]) {
        double s = 2 * sqrt(1 + R[0] - R[4] - R[8]);
        w = (R[7] - R[5]) / s;
        x = 0.25 * s;
        y = (R[1] + R[3]) / s;
        z = (R[2] + R[6]) / s;
    } else if (R[4] > R[8]) {
        double s = 2 * sqrt(1 + R[4] - R[0] - R[8]);
        w = (R[2] - R[6]) / s;
        x = (R[1] + R[3]) / s;
        y = 0.25 * s;
        z = (R[5] + R[7]) / s;
    } else {
        double s = 2 * sqrt(1 + R[8] - R[0] - R[4]);
        w = (R[3] - R[1]) / s;
        x = (R[2] + R[6]) / s;
        y = (R[5] + R[7]) / s;
        z = 0.25 * s;
    }
    double sgn = w < 0 ? -1 : 1, n = sqrt(w * w + x * x + y * y + z * z);
    q[0] = sgn * w / n;
    q[1] = sgn * x / n;
    q[2] = sgn * y / n;
    q[3] = sgn * z / n;
}

void cg_axis_angle_to_matrix(const double v[3], double R[9]) {
    double th = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (th < 1e-300) {
        for (int i = 0; i < 9; i++) R[i] = (i % 4 == 0);
        return;
    }
    double h = 0.5 * th, s = sin(h) / th;
    double q[4] = {cos(h), v[0] * s, v[1] * s, v[2] * s};
    cg_quat_to_matrix(q, R);
}

void cg_matrix_to_axis_angle(const double R[9], double v[3]) {
    double q[4];
    cg_matrix_to_quat(R, q);
    double sn = sqrt(q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    if (sn < 1e-300) {
        v[0] = v[1] = v[2] = 0;
        return;
    }
    double th = 2 * atan2(sn, q[0]);
    for (int i = 0; i < 3; i++) v[i] = q[i + 1] / sn * th;
}

void cg_random_euler(cg_rng *r, double *rot, double *tilt, double *psi) {
    *rot = 2 * CG_PI * cg_rng_uniform(r);
    *tilt = acos(2 * cg_rng_uniform(r) - 1);
    *psi = 2 * CG_PI * cg_rng_uniform(r);
}

void cg_mat3_mul(const double A[9], const double B[9], double C[9]) {
    double T[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) T[3 * i + j] = A[3 * i] * B[j] + A[3 * i + 1] * B[3 + j] + A[3 * i + 2] * B[6 + j];
    for (int i = 0; i < 9; i++) C[i] = T[i];
}

void cg_mat3_vec(const double A[9], const double x[3], double y[3]) {
    double t[3];
    for (int i = 0; i < 3; i++) t[i] = A[3 * i] * x[0] + A[3 * i + 1] * x[1] + A[3 * i + 2] * x[2];
    y[0] = t[0];
    y[1] = t[1];
    y[2] = t[2];
}

void cg_mat3_transpose(const double A[9], double At[9]) {
    double T[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) T[3 * j + i] = A[3 * i + j];
    for (int i = 0; i < 9; i++) At[i] = T[i];
}

double cg_rotation_angle_between(const double A[9], const double B[9]) {
    /* angle of A^T B: trace = 1 + 2 cos(theta) */
    double tr = 0;
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) tr += A[3 * k + i] * B[3 * k + i];
    double c = 0.5 * (tr - 1);
    c = c > 1 ? 1 : (c < -1 ? -1 : c);
    return acos(c);
}
