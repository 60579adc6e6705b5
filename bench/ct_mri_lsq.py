#!/usr/bin/env python3
"""Data-only check for bench/ct_mri.md: the minimum-norm least-squares solution of the SAME
discrete CT model (pixel-driven projector, 2 x 2 sub-pixel points, spacing 0.5 px, 128 bins,
views round(i 180 / N) degrees) from the simulated sinograms, i.e. what the data alone determine
without a prior and without FBP's approximations. Rebuilds the projector matrix in numpy from
the formulas in src/inverse/radon.c (checked: A @ x reproduces the written sinogram).
Usage: ct_mri_lsq.py WORKDIR PREFIX VIEWS [N_IMAGES]"""
import sys
import numpy as np
import mrcfile

W, prefix, views = sys.argv[1], sys.argv[2], int(sys.argv[3])
nimg = int(sys.argv[4]) if len(sys.argv) > 4 else 10
D, nd, sp, ss, full = 64, 128, 0.5, 2, 180
ang = np.array([round(i * full / views) for i in range(views)]) * np.pi / full
A = np.zeros((views * nd, D * D))
iy, ix = np.mgrid[0:D, 0:D]
pix = (iy * D + ix).ravel()
for a, t in enumerate(ang):
    for sy in range(ss):
        for sx in range(ss):
            u = (ix - D // 2 + (sx + 0.5) / ss - 0.5).ravel()
            v = (iy - D // 2 + (sy + 0.5) / ss - 0.5).ravel()
            s = (u * np.cos(t) + v * np.sin(t)) / sp + nd // 2
            j = np.floor(s).astype(int)
            w = s - j
            for jj, ww in ((j, 1 - w), (j + 1, w)):
                ok = (jj >= 0) & (jj < nd)
                np.add.at(A, (a * nd + jj[ok], pix[ok]), ww[ok] / (ss * ss * sp))
sino = mrcfile.read(f"{W}/{prefix}_sino.mrcs").astype(np.float64)
truth = mrcfile.read(f"{W}/test.mrcs").astype(np.float64)
Ap = np.linalg.pinv(A, rcond=1e-6)
print(f"{prefix}: {views} views x {nd} bins = {views * nd} equations, {D * D} unknowns, rank {np.linalg.matrix_rank(A)}")
ps = []
for i in range(nimg):
    y = sino[i].ravel()
    err_model = np.abs(A @ truth[i].ravel() - y).max() / np.abs(y).max()
    x = (Ap @ y).reshape(D, D)
    p = 10 * np.log10(1 / np.mean((x - truth[i]) ** 2))
    ps.append(p)
    print(f"  image {i}: model mismatch {err_model:.1e}, min-norm least squares PSNR {p:.2f} dB")
print(f"  mean min-norm least-squares PSNR over {nimg} images: {np.mean(ps):.2f} dB")
