#!/usr/bin/python3
"""Evaluate a Multi-CryoGAN run (cryogen train-gan --manifold) against simulated ground truth.

discrete:   gan_manifold_eval.py discrete CRYOGEN RUN_DIR GT_DIR   (GT_DIR = simulate's output)
  Each cluster of RUN_DIR/clusters.json is represented by the path volume at its middle; it is
  aligned onto every ground-truth state (cryogen fsc --align, mirror allowed) and assigned to the
  state it matches best (FSC area). Prints the cluster proportions against the true state
  fractions (ground_truth.txt) and each state's FSC 0.5 resolution.
morph:      gan_manifold_eval.py morph CRYOGEN RUN_DIR GT_DIR
  Pearson correlation between the off-diagonal entries of the generated path's FSC matrix
  (RUN_DIR/fsc_matrix.tsv) and the FSC matrix of the ground-truth volumes (GT_DIR/gt_volumes,
  cryogen fsc-matrix), for the path in both directions (the latent's orientation is arbitrary);
  both must have the same number of points. NOTE: any smooth path has an FSC matrix decaying away
  from the diagonal, as the truth's does, so this correlation is high even for an untrained
  generator (bench/gan.md); so the path's end points are also aligned onto both end states of
  the truth (cryogen fsc --align) to see whether the path spans the two conformations.
Only numpy and the cryogen binary are used. Writes nothing but temporary JSON next to RUN_DIR.
"""
import json, os, subprocess, sys
import numpy as np


def fsc_aligned(cg, ref, vol, out_json):
    subprocess.run([cg, "fsc", ref, vol, "--align", "-j1", "-q", "--json", out_json], check=True,
                   stdout=subprocess.DEVNULL)
    j = json.load(open(out_json))
    return j


def summary(j):
    f = j["fsc"]
    return "area %.4f, FSC 0.5 at %.1f A%s, corr %.3f" % (
        f["fsc_area_cycles_per_px"], f["resolution_fsc0.5_A"], "" if f["crossed_fsc0.5"] else " (never below 0.5)",
        j["real_space_correlation"])


def discrete(cg, run, gt):
    cl = json.load(open(os.path.join(run, "clusters.json")))
    n, firsts, props = cl["path_points"], cl["first_point"], cl["proportions"]
    states = sorted(f for f in os.listdir(os.path.join(gt, "gt_volumes")) if f.endswith(".mrc"))
    labels = np.loadtxt(os.path.join(gt, "ground_truth.txt"), comments="#")[:, 1].astype(int)  # image, state
    frac = [float(np.mean(labels == s)) for s in range(len(states))]
    ends = firsts[1:] + [n]
    result = []
    for k, (a, b) in enumerate(zip(firsts, ends)):
        mid = (a + b - 1) // 2
        vol = os.path.join(run, "path", "vol_a%.4f.mrc" % (mid / (n - 1)))
        per = []
        for s, st in enumerate(states):
            j = fsc_aligned(cg, os.path.join(gt, "gt_volumes", st), vol, os.path.join(run, "eval_c%d_s%d.json" % (k, s)))
            per.append(j)
        result.append((k, mid / (n - 1), props[k], per))
    print("true state fractions:", ", ".join("%s %.4f" % (s, f) for s, f in zip(states, frac)))
    for k, a, p, per in result:
        best = max(range(len(states)), key=lambda s: per[s]["fsc"]["fsc_area_cycles_per_px"])
        print("cluster %d (middle a = %.3f, proportion %.3f) -> %s (true fraction %.4f, |diff| %.4f)" %
              (k, a, p, states[best], frac[best], abs(p - frac[best])))
        for s in range(len(states)):
            print("    vs %s: %s" % (states[s], summary(per[s])))


def read_tsv(path):
    rows = [l.rstrip("\n").split("\t") for l in open(path) if not l.startswith("#")]
    return np.array([[float(x) for x in r[1:]] for r in rows[1:]])


def morph(cg, run, gt):
    G = read_tsv(os.path.join(run, "fsc_matrix.tsv"))
    vols = sorted(os.path.join(gt, "gt_volumes", f) for f in os.listdir(os.path.join(gt, "gt_volumes"))
                  if f.endswith(".mrc"))
    out = os.path.join(run, "eval_gt_matrix.json")
    subprocess.run([cg, "fsc-matrix"] + vols + ["--json", out, "-j1", "-q"], check=True, stdout=subprocess.DEVNULL)
    j = json.load(open(out))
    T = np.array(j["matrix"])
    if T.shape != G.shape:
        sys.exit("matrix sizes differ: generated %s, ground truth %s" % (G.shape, T.shape))
    iu = np.triu_indices(G.shape[0], 1)
    for name, M in (("path as is", G), ("path reversed", G[::-1, ::-1])):
        print("%s: Pearson r = %.4f" % (name, np.corrcoef(M[iu], T[iu])[0, 1]))
    ends = [os.path.join(run, "path", "vol_a%.4f.mrc" % a) for a in (0.0, 1.0)]
    for i, e in enumerate(ends):
        for t in (0, len(vols) - 1):
            j = fsc_aligned(cg, vols[t], e, os.path.join(run, "eval_end%d_gt%d.json" % (i, t)))
            print("path end a=%d vs %s: %s" % (i, os.path.basename(vols[t]), summary(j)))
    print("generated matrix:\n", np.array2string(G, precision=3, max_line_width=200))
    print("ground-truth matrix:\n", np.array2string(T, precision=3, max_line_width=200))


if __name__ == "__main__":
    {"discrete": discrete, "morph": morph}[sys.argv[1]](*sys.argv[2:5])
