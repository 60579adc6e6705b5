/* Rotations: 3x3 matrices, RELION ZYZ Euler angles, unit quaternions, axis-angle vectors
 * (cryoSPARC poses) and uniform random rotations.
 *
 * Convention (CONVENTIONS.md, "Rotations"): the matrix A of Euler angles (rot, tilt, psi) maps
 * map coordinates to image coordinates, r_img = A r_map. Projection integrates the volume at
 * A^T (x, y, z) along z. cryoDRGN's pose matrices R are this same A. Matrices are row-major
 * double[9] (m[3*row + col]). Angles are radians in memory, degrees in files.
 */
#pragma once
#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CG_PI 3.14159265358979323846
#define CG_DEG2RAD(d) ((d) * (CG_PI / 180.0))
#define CG_RAD2DEG(r) ((r) * (180.0 / CG_PI))

/* A from RELION Euler angles (radians). */
void cg_euler_to_matrix(double rot, double tilt, double psi, double A[9]);
/* Inverse of cg_euler_to_matrix; tilt in [0, pi], rot and psi in (-pi, pi]. At tilt 0 or pi
 * (gimbal lock) psi is set to 0 and rot carries the whole in-plane angle. */
void cg_matrix_to_euler(const double A[9], double *rot, double *tilt, double *psi);

/* Unit quaternion q = (w, x, y, z) <-> rotation matrix (active rotation, R v = q v q*). */
void cg_quat_to_matrix(const double q[4], double R[9]);
void cg_matrix_to_quat(const double R[9], double q[4]); /* w >= 0 */

/* Axis-angle vector v (direction = axis, |v| = angle in radians) <-> matrix (Rodrigues).
 * cryoSPARC's alignments3D/pose is such a vector for the matrix R with k3 = R^T k2 ... see
 * io/cs.c for how it maps to our A. */
void cg_axis_angle_to_matrix(const double v[3], double R[9]);
void cg_matrix_to_axis_angle(const double R[9], double v[3]);

/* Uniform random rotation (Haar measure) as RELION Euler angles: rot, psi uniform in
 * [0, 2 pi), tilt = acos(u), u uniform in [-1, 1]. */
void cg_random_euler(cg_rng *r, double *rot, double *tilt, double *psi);

/* C = A B; y = A x; At = A^T; geodesic angle between two rotations in radians. */
void cg_mat3_mul(const double A[9], const double B[9], double C[9]);
void cg_mat3_vec(const double A[9], const double x[3], double y[3]);
void cg_mat3_transpose(const double A[9], double At[9]);
double cg_rotation_angle_between(const double A[9], const double B[9]);

#ifdef __cplusplus
}
#endif
