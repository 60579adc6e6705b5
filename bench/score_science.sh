#!/usr/bin/env bash
# Small science run for the score models (issue 8), as recorded in bench/score.md: for the
# `lids` and `capsid` models, a denoiser trained on 300 clean projections (32^2, 4 A/px, no
# CTF, no noise, no shifts), its samples' radial power spectrum against the training images,
# and SDS volumes for 20 HELD-OUT images (another simulation seed) scored against each
# particle's ground truth, with the prior and without it (--prior-weight 0: the minimum-norm
# back-projection of the single image).
# Usage: bench/score_science.sh [WORKDIR]   (CRYOGEN=path/to/cryogen; about 10 min per model
# on 2 loaded cores)
set -euo pipefail
C=${CRYOGEN:-$(cd "$(dirname "$0")/.." && pwd)/build/cryogen}
W=${1:-score-science}
mkdir -p "$W"; cd "$W"
export OMP_WAIT_POLICY=passive
SIM="--box 32 --pixel-size-A 4 --snr inf --no-ctf --shift-A 0 --gt-grid 4 -q"
seed=11
for m in lids capsid; do
    "$C" simulate --model $m $SIM --n 300 --seed $seed --out ${m}_train > /dev/null
    "$C" simulate --model $m $SIM --n 20 --seed $((seed + 1)) --out ${m}_test > /dev/null
    "$C" train-denoiser ${m}_train/clean.mrcs --out ${m}_den --steps 3000 --batch 16 --lr 2e-3 --seed 1 -j 1
    "$C" sample ${m}_den --n 64 --out ${m}_samples.mrcs --compare ${m}_train/clean.mrcs -j 1
    "$C" sds ${m}_den ${m}_test/clean.mrcs --all --out ${m}_sds_prior --truth ${m}_test --steps 200 --views 8 --t 0.5 -j 1
    "$C" sds ${m}_den ${m}_test/clean.mrcs --all --out ${m}_sds_data --truth ${m}_test --steps 200 --views 8 \
        --prior-weight 0 -j 1
    seed=21
done
