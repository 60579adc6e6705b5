#!/usr/bin/env python3
"""Per-image spread of the power in a band of shells: samples against training images.

The mean radial power spectrum (`cryogen sample --compare`, bench/score_spectrum.py) says how
much power the samples have on average; this says how it is spread over images. A sampler that
blurs every image a little lowers every quantile; one that misses a rare kind of image (here:
sharp, edge-rich views) lowers only the upper quantiles.

For each image: multiply by the circular mask of radius D/2 about (D/2, D/2) (as the denoiser
and `--compare` do), take |F|^2 / D^2 (unnormalised DFT), average over the Fourier coefficients
of each integer shell (radius rounded to the nearest integer), and sum over shells LO..HI.
Prints the quantiles of that band power for both sets, divided by the training images' mean.

Usage: score_band_power.py SAMPLES.mrcs TRAINING.mrcs [LO HI]   (default shells 11..17)
Needs numpy and mrcfile (Debian: python3-numpy, python3-mrcfile)."""
import sys

import mrcfile
import numpy as np

QUANTILES = (5, 25, 50, 75, 95, 99)


def band_power(path, lo, hi):
    with mrcfile.open(path, permissive=True) as m:
        imgs = np.asarray(m.data, dtype=np.float64)
    if imgs.ndim == 2:
        imgs = imgs[None]
    n, d, d2 = imgs.shape
    if d != d2 or d % 2:
        sys.exit("%s: images are %d x %d; square images with an even side needed" % (path, d2, d))
    y, x = np.mgrid[:d, :d]
    mask = np.hypot(x - d / 2, y - d / 2) <= d / 2
    k = np.fft.fftfreq(d) * d
    shell = np.rint(np.hypot(*np.meshgrid(k, k))).astype(int)
    if not (1 <= lo <= hi <= d // 2):
        sys.exit("shells %d..%d: need 1 <= LO <= HI <= %d" % (lo, hi, d // 2))
    p = np.abs(np.fft.fft2(imgs * mask)) ** 2 / d ** 2
    return d, np.stack([p[:, shell == s].mean(1) for s in range(lo, hi + 1)], 1).sum(1)


def main():
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    lo, hi = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) == 5 else (11, 17)
    ds, bs = band_power(sys.argv[1], lo, hi)
    dt, bt = band_power(sys.argv[2], lo, hi)
    if ds != dt:
        sys.exit("samples are %d px, training images %d px" % (ds, dt))
    ref = bt.mean()
    print("band power, shells %d..%d, per image / mean over the %d training images" % (lo, hi, len(bt)))
    print("quantile   " + " ".join("%6s" % ("q%d" % q) for q in QUANTILES) + "    max   mean")
    for name, b in (("training", bt), ("samples", bs)):
        print("%-10s " % name + " ".join("%6.2f" % v for v in np.percentile(b, QUANTILES) / ref)
              + " %6.2f %6.2f" % (b.max() / ref, b.mean() / ref))
    print("(%d samples)" % len(bs))


if __name__ == "__main__":
    main()
