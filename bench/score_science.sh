#!/usr/bin/env bash
# Small science run for the score models (issue 8), as recorded in bench/score.md:
# a denoiser trained on 300 clean `lids` projections (32^2, 4 A/px, no CTF, no noise, no
# shifts), its samples' radial power spectrum against the training images, and SDS volumes for
# 20 HELD-OUT images (another simulation seed) scored against each particle's ground truth,
# with the prior and without it (--prior-weight 0, the minimum-norm back-projection).
# Usage: bench/score_science.sh [WORKDIR]   (CRYOGEN=path/to/cryogen; about 10 min on 2 cores)
set -euo pipefail
C=${CRYOGEN:-$(dirname "$0")/../build/cryogen}
W=${1:-score-science}
mkdir -p "$W"; cd "$W"
export OMP_WAIT_POLICY=passive
SIM="--model lids --box 32 --pixel-size-A 4 --snr inf --no-ctf --shift-A 0 --gt-grid 4 -q"
"$C" simulate $SIM --n 300 --seed 11 --out sci_train > /dev/null
"$C" simulate $SIM --n 20 --seed 12 --out sci_test > /dev/null
"$C" train-denoiser sci_train/clean.mrcs --out sci_den --steps 3000 --batch 16 --lr 2e-3 --seed 1 -j 1
"$C" sample sci_den --n 64 --out samples.mrcs --compare sci_train/clean.mrcs -j 1
"$C" sds sci_den sci_test/clean.mrcs --all --out sds_prior --truth sci_test --steps 200 --views 8 --t 0.5 -j 1
"$C" sds sci_den sci_test/clean.mrcs --all --out sds_data --truth sci_test --steps 200 --views 8 --prior-weight 0 -j 1
