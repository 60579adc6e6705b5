#!/usr/bin/python3
"""Baseline for CryoGAN science runs: a centred isotropic Gaussian with the truth's mass.
Usage: gan_blob_baseline.py TRUTH.mrc OUTDIR SIGMA_PX...  (writes OUTDIR/blob_SIGMA.mrc); then
compare each with `cryogen fsc TRUTH.mrc OUTDIR/blob_SIGMA.mrc --align` as for the GAN volume."""
import sys
import mrcfile
import numpy as np

truth = mrcfile.read(sys.argv[1]).astype(np.float64)
D = truth.shape[0]
with mrcfile.open(sys.argv[1]) as m:
    px = float(m.voxel_size.x)
c = np.arange(D) - D // 2
r2 = c[:, None, None] ** 2 + c[None, :, None] ** 2 + c[None, None, :] ** 2
for s in sys.argv[3:]:
    g = np.exp(-r2 / (2 * float(s) ** 2))
    g *= truth.sum() / g.sum()
    with mrcfile.new("%s/blob_%s.mrc" % (sys.argv[2], s), overwrite=True) as m:
        m.set_data(g.astype(np.float32))
        m.voxel_size = px
