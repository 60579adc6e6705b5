#!/usr/bin/env python3
"""Analysis for bench/ct_mri.md: does the posterior standard deviation mark missing information?
Reads the outputs of bench/ct_mri.sh (MRC stacks) and prints, per run:
  - mean PSNR of baseline and score reconstruction (cross-check of the JSON),
  - mean per-pixel std, and the per-image Pearson correlation of std with |mean - truth|,
  - for MRI (with --write-samples): the std over samples of the k-space of the samples on
    sampled vs unsampled rows (the data fix the sampled rows; the prior fills the others),
and compares mean std between a sparser and a denser measurement of the same images.
Usage: ct_mri_analysis.py WORKDIR"""
import json, sys
import numpy as np
import mrcfile

W = sys.argv[1]
truth = mrcfile.read(f"{W}/test.mrcs").astype(np.float64)


def load(p):
    return mrcfile.read(f"{W}/{p}").astype(np.float64)


def corr(a, b):
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def run(prefix):
    rec, std = load(f"{prefix}_recon.mrcs"), load(f"{prefix}_std.mrcs")
    n = rec.shape[0]
    t = truth[:n]
    err = np.abs(rec - t)
    c = [corr(std[i], err[i]) for i in range(n)]
    m = json.load(open(f"{W}/{prefix}_metrics.json"))["mean"]
    print(f"{prefix}: {n} images, PSNR baseline {m['psnr_baseline']:.2f} score {m['psnr_score']:.2f} "
          f"(gain {m['psnr_gain_db']:.2f} dB), SSIM {m['ssim_baseline']:.3f} -> {m['ssim_score']:.3f}; "
          f"mean std {std.mean():.4f}; corr(std, |err|) mean {np.mean(c):.3f} (min {np.min(c):.3f}, max {np.max(c):.3f})")
    return std


def kspace_std(prefix, K):
    s = load(f"{prefix}_samples.mrcs")
    ks = load(f"{prefix}_kspace.mrcs")
    D = s.shape[-1]
    n = s.shape[0] // K
    sam, uns = [], []
    for i in range(n):
        mask = ks[3 * i + 2][:, 0] > 0.5
        F = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(s[i * K:(i + 1) * K], axes=(1, 2))), axes=(1, 2)) / D
        sd = np.sqrt(np.var(F.real, axis=0) + np.var(F.imag, axis=0))
        sam.append(sd[mask].mean()), uns.append(sd[~mask].mean())
    print(f"{prefix}: k-space std over samples: sampled rows {np.mean(sam):.3g}, unsampled rows {np.mean(uns):.3g}")


for a, b in [("ct23", "ct90"), ("mri4", "mri2")]:
    sa, sb = run(a), run(b)
    n = sb.shape[0]
    per = sa[:n].mean(axis=(1, 2)) > sb.mean(axis=(1, 2))
    print(f"  mean std {a} {sa[:n].mean():.4f} vs {b} {sb.mean():.4f} on the same {n} images; "
          f"{a} larger on {per.sum()} of {n}")
run("mri4p")
K = json.load(open(f"{W}/mri4_metrics.json"))["sampler"]["samples"]
kspace_std("mri4", K)
