#!/usr/bin/env python3
"""Copy a RELION STAR file with the particles' Euler angles replaced by uniformly random
rotations (Haar measure: rot, psi uniform in [0, 360), cos(tilt) uniform in [-1, 1]), for the
"homogeneous back-projection with random poses" baseline of bench/score_science.sh.
Everything else (image names, shifts, optics) is kept.
Usage: random_poses.py IN.star OUT.star SEED"""
import sys

import numpy as np


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, dst, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = np.random.default_rng(seed)
    lines = open(src).read().split("\n")
    out, block, cols, n = [], None, {}, 0
    for line in lines:
        t = line.strip()
        if t.startswith("data_"):
            block, cols = t, {}
        elif t.startswith("_rln"):
            name, idx = t.split()[:2]
            cols[name] = int(idx.lstrip("#")) - 1
        elif block == "data_particles" and t and not t.startswith(("#", "loop_", "_")) and "_rlnAngleTilt" in cols:
            f = t.split()
            f[cols["_rlnAngleRot"]] = "%.6f" % rng.uniform(0, 360)
            f[cols["_rlnAngleTilt"]] = "%.6f" % np.degrees(np.arccos(rng.uniform(-1, 1)))
            f[cols["_rlnAnglePsi"]] = "%.6f" % rng.uniform(0, 360)
            line = " ".join(f)
            n += 1
        out.append(line)
    if n == 0:
        sys.exit("%s: no particle rows with rlnAngleRot/Tilt/Psi found" % src)
    open(dst, "w").write("\n".join(out))
    print("%s: %d particles with random poses (seed %d)" % (dst, n, seed))


if __name__ == "__main__":
    main()
