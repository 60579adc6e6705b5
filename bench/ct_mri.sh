#!/usr/bin/env bash
# Science run of issue 9 (bench/ct_mri.md): an unconditional EDM denoiser trained on random
# 64^2 ellipse phantoms, then, on 20 HELD-OUT phantoms (another index range), 23-view CT
# against FBP and 4x MRI against zero-filling, plus 90-view CT and 2x MRI on 10 of them to see
# whether the posterior std shrinks with more data, and 4x MRI with masks acquired in Hermitian
# pairs (half the information per row) on 10; bench/ct_mri_analysis.py summarises. The data-only
# CT reference: /usr/bin/python3 bench/ct_mri_lsq.py WORKDIR ct23 23 10 (about 1 min).
# Usage: bench/ct_mri.sh [WORKDIR]   (CRYOGEN=path/to/cryogen; TRAIN_STEPS, STEPS, SNR, K to
# override; about 35 min training + 15 min sampling on one loaded core)
set -euo pipefail
C=${CRYOGEN:-$(cd "$(dirname "$0")/.." && pwd)/build/cryogen}
HERE=$(cd "$(dirname "$0")" && pwd)
W=${1:-ct-mri-science}
TRAIN_STEPS=${TRAIN_STEPS:-4000}; STEPS=${STEPS:-100}; SNR_CT=${SNR_CT:-0.3}; SNR_MRI=${SNR_MRI:-0.5}; K=${K:-4}
mkdir -p "$W"; cd "$W"
export OMP_WAIT_POLICY=passive
[ -f train.mrcs ] || "$C" phantoms --n 4000 --box 64 --seed 1 --out train.mrcs
[ -f test.mrcs ] || "$C" phantoms --n 20 --first 1000000 --box 64 --seed 1 --out test.mrcs
[ -f den64/denoiser.ckpt ] || "$C" train-denoiser train.mrcs --out den64 --levels 4 --channels 16 \
    --steps "$TRAIN_STEPS" --batch 16 --checkpoint-every 200 --seed 1 -j 1
# sampler settings (snr per task) were chosen on 4 validation phantoms (--first 2000000), not on test.mrcs
S="--den den64 --samples $K --steps $STEPS --seed 1 -j 1"
/usr/bin/time -f "ct23 wall %e s" "$C" ct --simulate test.mrcs --views 23 --snr "$SNR_CT" $S --out ct23
/usr/bin/time -f "mri4 wall %e s" "$C" mri --simulate test.mrcs --accel 4 --snr "$SNR_MRI" $S --write-samples --out mri4
/usr/bin/time -f "ct90 wall %e s" "$C" ct --simulate test.mrcs --views 90 --max-images 10 --snr "$SNR_CT" $S --out ct90
/usr/bin/time -f "mri2 wall %e s" "$C" mri --simulate test.mrcs --accel 2 --max-images 10 --snr "$SNR_MRI" $S --out mri2
/usr/bin/time -f "mri4p wall %e s" "$C" mri --simulate test.mrcs --accel 4 --hermitian-pairs --max-images 10 --snr "$SNR_MRI" $S --out mri4p
/usr/bin/python3 "$HERE/ct_mri_analysis.py" .
