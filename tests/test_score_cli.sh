#!/usr/bin/env bash
# Score models end to end on a tiny clean `lids` dataset (32^2, no CTF, no noise, no shifts):
#  1. train-denoiser: 40 steps in one run and 20 + 20 with --resume give byte-identical
#     checkpoints (same seed, same thread count); the loss file has 40 finite entries; resuming
#     the finished run trains nothing and leaves train.json as it was; --lr-decay is recorded
#     in train.json and an unknown decay is a usage error; so are --p-mean/--p-std (the training
#     noise distribution), --res-blocks and --attention (recorded), and a --p-std, --res-blocks or
#     --attention out of range;
#     so is --resume with an architecture option that disagrees with the checkpoint, which then
#     stays as it was.
#  2. sample: 4 images, MRCS + PNG (signature checked), same seed -> same bytes; --churn runs;
#     --compare writes the radial power spectrum table (D/2 + 1 shells) and plot.
#  3. sds on image 0 (100 steps, 4 views, t = 0.5) with a denoiser trained 300 steps: the FSC
#     area against the image's ground-truth volume (in the image frame, best hand) must beat
#     the initial zero volume (area 0 by definition: its FSC is undefined) by at least 0.05;
#     the data-only run (--prior-weight 0) is printed for comparison, not asserted. Same seed
#     -> same volume bytes.
#  4. the aligned evaluation (--align: each volume registered onto the particle's truth,
#     rotation, shift and hand, then the FSC area) separates a right reconstruction from a wrong
#     one: the homogeneous back-projection of the 120 images with their TRUE poses must score
#     at least 0.05 above the same back-projection with random poses (the angles of an
#     independent simulation, seed 7), both by `sds --score-volume`; and the data-only SDS volume
#     of image 0, scored by the same path, must beat the random-pose back-projection (a single
#     image at its own pose tells more about its particle than all images at random poses).
#  5. --ctf-star: on an image simulated WITH a CTF, data-only SDS that models the CTF scores a
#     higher FSC area against the truth (image frame) than the same run without it.
# Runs with -j 1 and OMP_WAIT_POLICY=passive: the kernels' OpenMP regions are tiny at 32^2 and
# spin-waiting threads starve on a loaded machine (bench/score.md).
set -euo pipefail
B=${CG_BIN:?}
T=${CG_TEST_TMP:-/tmp/cryogen-test}/score_cli
rm -rf "$T"; mkdir -p "$T"; cd "$T"
export OMP_WAIT_POLICY=passive
fail=0
"$B" simulate --model lids --n 120 --box 32 --pixel-size-A 4 --snr inf --no-ctf --shift-A 0 --seed 1 --gt-grid 2 \
    -q --out sim > /dev/null
TR="--channels 8 --batch 8 --lr 2e-3 --warmup 20 --seed 3 -j 1 -q"

# 1. resume reproduces the uninterrupted run
"$B" train-denoiser sim/clean.mrcs --out a --steps 40 $TR > /dev/null
"$B" train-denoiser sim/clean.mrcs --out b --steps 20 $TR > /dev/null
"$B" train-denoiser sim/clean.mrcs --out b --steps 40 --resume $TR > /dev/null
if cmp -s a/denoiser.ckpt b/denoiser.ckpt; then echo "resume: checkpoints identical"; else echo "FAIL resume: checkpoints differ"; fail=1; fi
head -1 a/train_loss.tsv | grep -q "seed=3" || { echo "FAIL train_loss.tsv does not record --seed 3: $(head -1 a/train_loss.tsv)"; fail=1; }
nl=$(grep -vc '^#' a/train_loss.tsv || true)
nlb=$(grep -v '^#' b/train_loss.tsv | awk '$2 == $2 + 0' | wc -l)
if [ "$nl" != 40 ] || [ "$nlb" != 40 ]; then echo "FAIL loss file: $nl / $nlb rows, want 40"; fail=1; fi
# resuming a finished run trains nothing and keeps the record (train.json) of the run that did
cp b/train.json b_train.json
"$B" train-denoiser sim/clean.mrcs --out b --steps 40 --resume $TR | grep -q "nothing trained" \
    || { echo "FAIL resume of a finished run: no 'nothing trained' message"; fail=1; }
cmp -s b/train.json b_train.json || { echo "FAIL resume of a finished run rewrote train.json"; fail=1; }
# a learning-rate decay is recorded; a bad decay name is a usage error
"$B" train-denoiser sim/clean.mrcs --out c --steps 20 --lr-decay cosine --decay-start 10 --lr-min 1e-4 \
    --p-mean -2 --p-std 1.5 --res-blocks 1 --attention 1 $TR > /dev/null
grep -q '"lr_decay": "cosine", "lr_min": 0.0001, "decay_start": 10' c/train.json \
    || { echo "FAIL --lr-decay not recorded in train.json"; fail=1; }
grep -q '"p_mean": -2, "p_std": 1.5,' c/train.json || { echo "FAIL --p-mean/--p-std not recorded in train.json"; fail=1; }
grep -q '"res_blocks": 1, "attn_levels": 1}' c/train.json \
    || { echo "FAIL --res-blocks / --attention not recorded in train.json"; fail=1; }
rc=0; "$B" train-denoiser sim/clean.mrcs --out e --attention 4 $TR > /dev/null 2> e_err.txt || rc=$?
{ [ "$rc" = 2 ] && grep -q -- "--attention 4" e_err.txt && [ ! -e e/denoiser.ckpt ]; } \
    || { echo "FAIL --attention 4 (3 levels): exit $rc, want 2 (usage error naming --attention) and no checkpoint"; fail=1; }
rc=0; "$B" train-denoiser sim/clean.mrcs --out e --res-blocks 4 $TR > /dev/null 2> e_err.txt || rc=$?
{ [ "$rc" = 2 ] && grep -q -- "--res-blocks 4" e_err.txt && [ ! -e e/denoiser.ckpt ]; } \
    || { echo "FAIL --res-blocks 4: exit $rc, want 2 (usage error naming --res-blocks) and no checkpoint"; fail=1; }
rc=0; "$B" train-denoiser sim/clean.mrcs --out e --lr-decay exp $TR > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || { echo "FAIL --lr-decay exp: exit $rc, want 2 (usage error)"; fail=1; }
rc=0; "$B" train-denoiser sim/clean.mrcs --out e --p-std 0 $TR > /dev/null 2> e_err.txt || rc=$?
{ [ "$rc" = 2 ] && grep -q -- "--p-std" e_err.txt && [ ! -e e/denoiser.ckpt ]; } \
    || { echo "FAIL --p-std 0: exit $rc, want 2 (usage error naming --p-std) and no checkpoint"; fail=1; }

# 2. sampler outputs
"$B" sample a --n 4 --steps 6 --seed 5 --out s1.mrcs -j 1 -q > /dev/null
"$B" sample a --n 4 --steps 6 --seed 5 --out s2.mrcs -j 1 -q > /dev/null
[ "$(head -c 8 s1.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || { echo "FAIL sample: s1.png is not a PNG"; fail=1; }
cmp -s s1.mrcs s2.mrcs || { echo "FAIL sample: same seed, different bytes"; fail=1; }
"$B" sample a --n 2 --steps 4 --churn 10 --out s3.mrcs -j 1 -q > /dev/null || { echo "FAIL sample --churn"; fail=1; }
"$B" sample a --n 4 --steps 6 --seed 5 --out s4.mrcs --compare sim/clean.mrcs -j 1 -q | grep "radial power" || { echo "FAIL sample --compare"; fail=1; }
head -1 s4_spectrum.tsv | grep -q "seed=5" || { echo "FAIL s4_spectrum.tsv does not record --seed 5"; fail=1; }
rows=$(grep -vc '^#' s4_spectrum.tsv || true)
[ "$rows" = 17 ] && [ -s s4_spectrum.svg ] || { echo "FAIL sample --compare: $rows spectrum rows, want 17, and an SVG"; fail=1; }

# 3. SDS beats the zero volume
"$B" train-denoiser sim/clean.mrcs --out den --steps 300 $TR > /dev/null
SDS="--index 0 --steps 100 --views 4 --t 0.5 --seed 2 --truth sim -j 1"
out=$("$B" sds den sim/clean.mrcs $SDS --out v.mrc)
echo "$out"
area=$(echo "$out" | sed -n 's/.*FSC area vs ground truth \([0-9.]*\).*/\1/p')
awk -v a="$area" 'BEGIN { exit !(a >= 0.05) }' || { echo "FAIL sds: FSC area $area < 0.05 (zero volume: 0)"; fail=1; }
"$B" sds den sim/clean.mrcs $SDS --out v2.mrc > /dev/null
cmp -s v.mrc v2.mrc || { echo "FAIL sds: same seed, different bytes"; fail=1; }
echo "data only (--prior-weight 0), for comparison:"
"$B" sds den sim/clean.mrcs $SDS --prior-weight 0 --out v0.mrc

# 4. aligned evaluation: true poses vs random poses vs one image
"$B" simulate --model lids --n 120 --box 32 --pixel-size-A 4 --snr inf --no-ctf --shift-A 0 --seed 7 --gt-grid 2 \
    -q --out simr > /dev/null
cp simr/particles.star sim/random_poses.star   # image names are relative: sim/particles.mrcs, other angles
"$B" backproject sim/particles.star --out bp_true.mrc --no-ctf --no-half-maps -q -j 1 > /dev/null
"$B" backproject sim/random_poses.star --out bp_random.mrc --no-ctf --no-half-maps -q -j 1 > /dev/null
al() { sed -n 's/.*after alignment \([0-9.]*\).*/\1/p' | head -1; }
a_true=$("$B" sds den sim/clean.mrcs --index 0 --truth sim --align --score-volume bp_true.mrc -j 1 | al)
a_rand=$("$B" sds den sim/clean.mrcs --index 0 --truth sim --align --score-volume bp_random.mrc -j 1 | al)
a_data=$("$B" sds den sim/clean.mrcs $SDS --prior-weight 0 --align --out v0a.mrc | al)
echo "aligned FSC area, image 0: true-pose back-projection $a_true, random-pose $a_rand, data-only SDS $a_data"
awk -v t="$a_true" -v r="$a_rand" 'BEGIN { exit !(t >= r + 0.05) }' ||
    { echo "FAIL aligned evaluation: true poses $a_true not 0.05 above random poses $a_rand"; fail=1; }
awk -v d="$a_data" -v r="$a_rand" 'BEGIN { exit !(d > r) }' ||
    { echo "FAIL data-only SDS $a_data does not beat the random-pose back-projection $a_rand"; fail=1; }

# 5. the CTF in the identity view
"$B" simulate --model lids --n 2 --box 32 --pixel-size-A 4 --snr inf --shift-A 0 --seed 4 --gt-grid 2 -q --out simc > /dev/null
fa() { sed -n 's/.*FSC area vs ground truth \([0-9.]*\).*/\1/p'; }
CS="--index 0 --steps 100 --views 1 --prior-weight 0 --truth simc -j 1"
a_ctf=$("$B" sds den simc/clean.mrcs $CS --ctf-star simc/particles.star --out vc.mrc | fa)
a_noctf=$("$B" sds den simc/clean.mrcs $CS --out vn.mrc | fa)
echo "CTF image, data-only SDS: with --ctf-star $a_ctf, without $a_noctf"
awk -v a="$a_ctf" -v b="$a_noctf" 'BEGIN { exit !(a > b) }' ||
    { echo "FAIL --ctf-star: $a_ctf does not beat $a_noctf without the CTF"; fail=1; }
if "$B" sds den sim/clean.mrcs --index 0 --out x.mrc --ctf-star sim/particles.star -q 2> err.txt; then
    echo "FAIL sds --ctf-star accepted a STAR without CTF"; fail=1; fi
grep -q "no CTF columns" err.txt || { echo "FAIL sds --ctf-star message: $(cat err.txt)"; fail=1; }

# bad inputs: clear errors
"$B" simulate --model lids --n 4 --box 16 --pixel-size-A 8 --snr inf --no-ctf -q --out sim16 > /dev/null
if "$B" train-denoiser sim16/clean.mrcs --out a --steps 50 --resume -q -j 1 2> err.txt; then echo "FAIL resume accepted other-size images"; fail=1; fi
grep -q "trained on 32^2 images, these are 16^2" err.txt || { echo "FAIL resume error message: $(cat err.txt)"; fail=1; }
if "$B" train-denoiser sim/clean.mrcs --out a --steps 50 --resume --channels 16 -q -j 1 2> err.txt; then
    echo "FAIL resume accepted --channels 16 for a checkpoint with 8"; fail=1; fi
grep -q "which has channels 8; drop --channels" err.txt || { echo "FAIL resume --channels message: $(cat err.txt)"; fail=1; }
if "$B" train-denoiser sim/clean.mrcs --out a --steps 50 --resume --attention 2 -q -j 1 2> err.txt; then
    echo "FAIL resume accepted --attention 2 for a checkpoint without attention"; fail=1; fi
grep -q "which has attention 0; drop --attention" err.txt || { echo "FAIL resume --attention message: $(cat err.txt)"; fail=1; }
cmp -s a/denoiser.ckpt b/denoiser.ckpt || { echo "FAIL a refused resume changed the checkpoint"; fail=1; }
if "$B" sds den sim/clean.mrcs --index 999 --out x.mrc -q 2> err.txt; then echo "FAIL sds accepted --index 999"; fail=1; fi
grep -q "stack holds 120 images" err.txt || { echo "FAIL sds error message: $(cat err.txt)"; fail=1; }
if "$B" sds den sim/clean.mrcs --index 0 --truth sim --score-volume sim16/gt_volumes/vol_000.mrc -q 2> err.txt; then
    echo "FAIL sds --score-volume accepted a 16^3 volume for 32^2 images"; fail=1; fi
grep -q "box 16 x 16 x 16, the images are 32^2" err.txt || { echo "FAIL sds --score-volume message: $(cat err.txt)"; fail=1; }
exit $fail
