#!/usr/bin/env python3
"""Summarise a `cryogen sample --compare` spectrum table (PREFIX_spectrum.tsv: shell,
cycles/px, power of the samples, power of the training images, ratio) for bench/score.md.
"Within 10%" is defined before looking at the data as:
  primary:   mean over shells 1 .. D/2-1 of |ratio - 1| <= 0.10 (DC and the Nyquist shell left
             out: the DC shell holds one coefficient, the Nyquist shell only the box corners);
  also:      the fraction of those shells with |ratio - 1| <= 0.10, and the same mean over the
             shells where the training images have signal (power >= 1e-3 of the largest power
             over shells >= 1).
Usage: score_spectrum.py PREFIX_spectrum.tsv"""
import sys

import numpy as np


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    t = np.loadtxt(sys.argv[1], comments="#")
    shell, ps, pi, ratio = t[:, 0].astype(int), t[:, 2], t[:, 3], t[:, 4]
    half = shell.max()
    sel = (shell >= 1) & (shell <= half - 1)
    dev = np.abs(ratio - 1)
    sig = sel & (pi >= 1e-3 * pi[shell >= 1].max())
    print("ratios (shells 0..%d): %s" % (half, " ".join("%.2f" % r for r in ratio)))
    print("shells 1..%d: mean |ratio-1| %.3f (within 10%%: %s), %d of %d shells within 10%%, worst %.2f at shell %d"
          % (half - 1, dev[sel].mean(), "yes" if dev[sel].mean() <= 0.10 else "NO", (dev[sel] <= 0.10).sum(),
             sel.sum(), ratio[sel][np.argmax(dev[sel])], shell[sel][np.argmax(dev[sel])]))
    print("signal shells (images' power >= 1e-3 of max; shells %d..%d): mean |ratio-1| %.3f, %d of %d within 10%%"
          % (shell[sig].min(), shell[sig].max(), dev[sig].mean(), (dev[sig] <= 0.10).sum(), sig.sum()))


if __name__ == "__main__":
    main()
