#!/usr/bin/python3
"""numpy references for tests/test_cs.c (run with Debian's /usr/bin/python3).

  dump FILE       for every field: "F name dtype count offset"; for every numeric value:
                  "V name row element value" (numpy's reading, %.17g)
  poses OUT.cs    a synthetic cryoSPARC file of 20 particles with known poses, written with
                  numpy; OUT.cs.ref holds per particle "rot tilt psi" (degrees) and RELION's
                  matrix A (9 values, CONVENTIONS.md formula) and the shift in pixels.
                  The pose is the axis-angle vector v with expmap(v)^T = A, i.e. v = log(A^T),
                  which is how cryoDRGN's parse_pose_csparc reads it (its matrix is RELION's A).
Exit status 3: numpy missing.
"""
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(3)


def dump(path):
    a = np.load(path)
    for name in a.dtype.names:
        dt, off = a.dtype.fields[name][:2]
        base = dt.base
        count = int(np.prod(dt.shape)) if dt.shape else 1
        print("F %s %s %d %d" % (name, base.str, count, off))
        if base.kind in "biuf":
            v = np.asarray(a[name], dtype=np.float64).reshape(len(a), -1)
            for r in range(v.shape[0]):
                for k in range(v.shape[1]):
                    print("V %s %d %d %.17g" % (name, r, k, v[r, k]))


def relion_A(rot, tilt, psi):
    a, b, g = np.radians([rot, tilt, psi])
    ca, sa, cb, sb, cg, sg = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(g), np.sin(g)
    return np.array([[cg * cb * ca - sg * sa, cg * cb * sa + sg * ca, -cg * sb],
                     [-sg * cb * ca - cg * sa, -sg * cb * sa + cg * ca, sg * sb],
                     [sb * ca, sb * sa, cb]])


def log_map(R):
    """Axis-angle vector of a rotation matrix (via the unit quaternion, stable near pi)."""
    t = np.trace(R)
    q = np.empty(4)
    if t > 0:
        s = 2 * np.sqrt(1 + t)
        q = [s / 4, (R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s]
    else:
        i = int(np.argmax(np.diag(R)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2 * np.sqrt(1 + R[i, i] - R[j, j] - R[k, k])
        q = np.zeros(4)
        q[0] = (R[k, j] - R[j, k]) / s
        q[1 + i] = s / 4
        q[1 + j] = (R[j, i] + R[i, j]) / s
        q[1 + k] = (R[k, i] + R[i, k]) / s
    q = np.asarray(q)
    if q[0] < 0:
        q = -q
    n = np.linalg.norm(q[1:])
    return np.zeros(3) if n < 1e-15 else q[1:] / n * 2 * np.arctan2(n, q[0])


def expmap(v):
    th = np.linalg.norm(v)
    if th < 1e-15:
        return np.eye(3)
    k = v / th
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * K @ K


def poses(out):
    rng = np.random.default_rng(7)
    n = 20
    dt = np.dtype([("uid", "<u8"), ("blob/path", "S24"), ("blob/idx", "<u4"), ("blob/shape", "<u4", (2,)),
                   ("blob/psize_A", "<f4"), ("ctf/df1_A", "<f4"), ("ctf/df2_A", "<f4"),
                   ("ctf/df_angle_rad", "<f4"), ("ctf/accel_kv", "<f4"), ("ctf/cs_mm", "<f4"),
                   ("ctf/amp_contrast", "<f4"), ("ctf/phase_shift_rad", "<f4"),
                   ("alignments3D/split", "<u4"), ("alignments3D/shift", "<f4", (2,)),
                   ("alignments3D/pose", "<f4", (3,)), ("alignments3D/psize_A", ">f8"), ("pad", "V3")])
    a = np.zeros(n, dtype=dt)
    ref = []
    for i in range(n):
        rot, psi = rng.uniform(-180, 180, 2)
        tilt = np.degrees(np.arccos(rng.uniform(-1, 1)))
        if i == 0:
            rot, tilt, psi = 10.0, 0.0, 0.0  # tilt 0: gimbal lock
        if i == 1:
            rot, tilt, psi = 30.0, 179.9, 170.0  # rotation angle near pi
        A = relion_A(rot, tilt, psi)
        v = log_map(A.T)
        assert np.allclose(expmap(v).T, A, atol=1e-12)
        sx, sy = rng.uniform(-5, 5, 2)
        a[i] = (i, b">sub/stack.mrcs", n - 1 - i, (16, 16), 1.5, 12000 + i, 11000 + i, 0.5, 300, 2.7, 0.07, 0.0,
                i % 2, (sx, sy), v, 1.5, b"")
        ref.append([rot, tilt, psi] + list(A.ravel()) + [float(np.float32(sx)), float(np.float32(sy))])
    with open(out, "wb") as f:
        np.save(f, a)
    np.savetxt(out + ".ref", np.array(ref), fmt="%.17g")


if __name__ == "__main__":
    {"dump": dump, "poses": poses}[sys.argv[1]](sys.argv[2])
