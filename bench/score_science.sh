#!/usr/bin/env bash
# Science run for the score models (issue 8), as recorded in bench/score.md: for the `lids` and
# `capsid` models, a denoiser trained on 300 clean projections (one random conformation per
# image; no CTF, no noise, no shifts), its samples' radial power spectrum against the training
# images, and volumes for 20 HELD-OUT images (another simulation seed) scored against each
# particle's ground truth (FSC area), in the image frame and, with --align, after registering
# each volume onto its truth (rotation, shift, both hands: `cryogen fsc --align`):
#   - SDS (prior weight 1);
#   - data only (--prior-weight 0 with one view and the lr that SDS uses: the same volume as
#     prior weight 0 with M views, 8x cheaper): SGD towards the single-view back-projection;
#   - the homogeneous back-projection of the 300 training images with uniformly random poses
#     (bench/random_poses.py rewrites the angles; `cryogen backproject --no-ctf`), one volume
#     scored against every held-out image by the same code (`cryogen sds --score-volume`).
# Usage: [BOX=32 PX=4 LEVELS=3 STEPS=3000] bench/score_science.sh [WORKDIR]
#   (CRYOGEN=path/to/cryogen; STEPS_lids / STEPS_capsid override STEPS per model; ALIGN=0 skips
#   the aligned scores. The 32^2 run of bench/score.md: defaults; the 48^2 run:
#   BOX=48 PX=2.6667 LEVELS=4 STEPS_capsid=2000)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
C=${CRYOGEN:-$SRC/build/cryogen}
PY=${PYTHON:-/usr/bin/python3}
W=${1:-score-science}
BOX=${BOX:-32}; PX=${PX:-4}; LEVELS=${LEVELS:-3}; STEPS=${STEPS:-3000}; ALIGN=${ALIGN:-1}
mkdir -p "$W"; cd "$W"
export OMP_WAIT_POLICY=passive
SIM="--box $BOX --pixel-size-A $PX --snr inf --no-ctf --shift-A 0 --gt-grid 4 -q"
AL=""; [ "$ALIGN" = 1 ] && AL="--align"
LR0=$(awk -v d=$BOX 'BEGIN { printf "%.10g", 1 / (8 * d) }')   # the SDS default 1/(M D), M = 8
seed=11
for m in lids capsid; do
    st=STEPS_$m; st=${!st:-$STEPS}
    [ -d ${m}_train ] || "$C" simulate --model $m $SIM --n 300 --seed $seed --out ${m}_train -j 1 > /dev/null
    [ -d ${m}_test ] || "$C" simulate --model $m $SIM --n 20 --seed $((seed + 1)) --out ${m}_test -j 1 > /dev/null
    "$C" train-denoiser ${m}_train/clean.mrcs --out ${m}_den --steps $st --batch 16 --lr 2e-3 --levels $LEVELS \
        --seed 1 --resume -j 1 -q
    "$C" sample ${m}_den --n 64 --out ${m}_samples.mrcs --compare ${m}_train/clean.mrcs -j 1
    "$PY" "$SRC/bench/random_poses.py" ${m}_train/particles.star ${m}_train/random_poses.star 1
    "$C" backproject ${m}_train/random_poses.star --out ${m}_bp_random.mrc --no-ctf --no-half-maps -j 1 -q
    "$C" sds ${m}_den ${m}_test/clean.mrcs --all --truth ${m}_test $AL --score-volume ${m}_bp_random.mrc -j 1 \
        | tee ${m}_bp_random.log
    "$C" sds ${m}_den ${m}_test/clean.mrcs --all --out ${m}_sds_data --truth ${m}_test $AL --steps 200 --views 1 \
        --lr $LR0 --prior-weight 0 -j 1 | tee ${m}_sds_data.log
    "$C" sds ${m}_den ${m}_test/clean.mrcs --all --out ${m}_sds_prior --truth ${m}_test $AL --steps 200 --views 8 \
        --t 0.5 -j 1 | tee ${m}_sds_prior.log
    seed=21
done
