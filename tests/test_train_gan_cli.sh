#!/bin/bash
# CLI test of `cryogen train-gan` on a tiny simulated set (demo volume, 300 particles downsampled
# to 16 px): outputs exist (per-epoch snapshot, volume.mrc with the data's pixel size, checkpoints,
# log, run.json with provenance); 4 steps in one run and 2 + 2 steps resumed with --load give
# byte-identical volumes; -j1 and -j2 give the same bytes; a missing --out is a usage error.
# --manifold (Multi-CryoGAN): path volumes, FSC matrix (TSV, SVG), clusters.json, index.html and
# per-epoch snapshots exist; 4 steps (-j2) == 2 + 2 resumed (-j1) byte for byte; a voxel checkpoint
# is refused by --manifold with a message; a bad --latent is a usage error; --diversity-weight
# (mode seeking) runs and logs rho, and without --manifold is a usage error. --ema D (both modes):
# training is unchanged (same train_log.tsv as without it) while the volumes written differ
# (they are the weights' moving average), the decay is in run.json, and --ema 1 is a usage error.
# --init-generator DIR: a new run with another critic and n-critic starts from DIR's generator
# (its first snapshot differs from a run from zero, run.json names DIR and the warm-up), a
# resume with that critic is refused, and --init-generator with --load is a usage error.
set -u
BIN=${CG_BIN:-./cryogen}
TMP=${CG_TEST_TMP:-/tmp}/train_gan_cli
rm -rf "$TMP" && mkdir -p "$TMP"
fail=0
check() { if eval "$1"; then :; else echo "FAIL: $2"; fail=1; fi; }
export OMP_WAIT_POLICY=passive
"$BIN" demo --out "$TMP/demo" -q > /dev/null || { echo "FAIL: demo"; exit 1; }
"$BIN" simulate --volume "$TMP/demo/volume.mrc" --n 300 --snr 1 --shift-A 3 --seed 2 --no-clean --out "$TMP/sim64" -q > /dev/null \
  || { echo "FAIL: simulate"; exit 1; }
"$BIN" downsample "$TMP/sim64/particles.star" --box 16 --out "$TMP/sim/particles.mrcs" -q > /dev/null \
  || { echo "FAIL: downsample"; exit 1; }
S="$TMP/sim/particles.star"
OPTS="--batch 8 --n-critic 2 --critic-channels 4 --seed 3 -q"
"$BIN" train-gan "$S" --out "$TMP/a" --steps 4 $OPTS -j2 > "$TMP/a.txt"
check "[ $? -eq 0 ]" "train-gan exit code"
for f in volume.mrc vol_001.mrc generator.ckpt critic.ckpt train_log.tsv run.json; do
  check "[ -s $TMP/a/$f ]" "output $f"
done
check "[ \$(wc -l < $TMP/a/train_log.tsv) -eq 5 ]" "log has a header and 4 steps"
check "grep -q '\"provenance\": \"cryogen' $TMP/a/run.json" "provenance in run.json"
check "\"$BIN\" info $TMP/a/volume.mrc | grep -q 'pixel size     12 x 12 x 12 A'" "pixel size 12 A (64 px at 3 A -> 16 px)"
"$BIN" train-gan "$S" --out "$TMP/b" --steps 2 $OPTS -j1 > /dev/null && \
"$BIN" train-gan "$S" --out "$TMP/b" --steps 4 --load "$TMP/b" $OPTS -j1 > /dev/null
check "[ $? -eq 0 ]" "resume exit code"
check "cmp -s $TMP/a/volume.mrc $TMP/b/volume.mrc" "4 steps (-j2) == 2 + 2 resumed (-j1), byte for byte"
"$BIN" train-gan "$S" --steps 2 -q > /dev/null 2>&1
check "[ $? -eq 2 ]" "missing --out is a usage error"
MOPTS="--manifold --batch 8 --n-critic 2 --critic-channels 4 --gen-channels 8 --zdim 4 --volumes-per-step 4 \
  --path-points 6 --epochs 0.2 --seed 5 -q"
"$BIN" train-gan "$S" --out "$TMP/m" --steps 4 $MOPTS -j2 > /dev/null
check "[ $? -eq 0 ]" "train-gan --manifold exit code"
for f in index.html fsc_matrix.svg fsc_matrix.tsv clusters.json generator.ckpt critic.ckpt run.json \
         vol_001_a0.00.mrc vol_001_a0.50.mrc vol_001_a1.00.mrc path/vol_a0.0000.mrc path/vol_a1.0000.mrc; do
  check "[ -s $TMP/m/$f ]" "manifold output $f"
done
check "[ \$(ls $TMP/m/path | wc -l) -eq 6 ]" "6 path volumes"
check "[ \$(grep -vc '^#' $TMP/m/fsc_matrix.tsv) -eq 7 ]" "FSC matrix header + 6 rows"
check "grep -q '\"proportions\": \[' $TMP/m/clusters.json" "proportions in clusters.json"
"$BIN" train-gan "$S" --out "$TMP/n" --steps 2 $MOPTS -j1 > /dev/null && \
"$BIN" train-gan "$S" --out "$TMP/n" --steps 4 --load "$TMP/n" $MOPTS -j1 > /dev/null
check "[ $? -eq 0 ]" "manifold resume exit code"
for f in path/vol_a0.4000.mrc fsc_matrix.tsv generator.ckpt; do
  check "cmp -s $TMP/m/$f $TMP/n/$f" "manifold 4 steps (-j2) == 2 + 2 resumed (-j1): $f"
done
"$BIN" train-gan "$S" --out "$TMP/x" --steps 4 --load "$TMP/a" $MOPTS > "$TMP/x.txt" 2>&1
check "[ $? -ne 0 ] && grep -q 'manifold' $TMP/x.txt" "a voxel checkpoint is refused by --manifold"
"$BIN" train-gan "$S" --out "$TMP/y" --steps 2 --manifold --latent uniform -q > /dev/null 2>&1
check "[ $? -eq 2 ]" "bad --latent is a usage error"
"$BIN" train-gan "$S" --out "$TMP/g" --steps 2 $MOPTS --latent gaussian -j1 > /dev/null
check "[ $? -eq 0 ] && grep -q '\"latent\": \"gaussian\"' $TMP/g/clusters.json" "--latent gaussian runs"
"$BIN" train-gan "$S" --out "$TMP/d" --steps 2 $MOPTS --diversity-weight 0.01 -j1 > /dev/null
check "[ $? -eq 0 ] && grep -q '\"diversity_weight\": 0.01' $TMP/d/run.json" "--diversity-weight runs, recorded in run.json"
check "awk -F'\t' 'NR == 1 { ok = \$6 == \"diversity_rho\" } NR > 1 && !(\$6 > 0) { ok = 0 } END { exit !ok }' $TMP/d/train_log.tsv" \
  "train_log.tsv has a positive diversity_rho column"
"$BIN" train-gan "$S" --out "$TMP/e" --steps 2 --diversity-weight 0.01 -q > "$TMP/e.txt" 2>&1
check "[ $? -eq 2 ] && grep -q 'with --manifold' $TMP/e.txt && [ ! -e $TMP/e ]" "--diversity-weight without --manifold: usage error, nothing written"
"$BIN" train-gan "$S" --out "$TMP/em" --steps 4 $MOPTS --ema 0.5 -j1 > /dev/null
check "[ $? -eq 0 ] && grep -q '\"ema_decay\": 0.5' $TMP/em/run.json" "--manifold --ema runs, recorded in run.json"
check "cmp -s $TMP/m/train_log.tsv $TMP/em/train_log.tsv" "--ema leaves training unchanged (same log as without it)"
check "! cmp -s $TMP/m/path/vol_a0.4000.mrc $TMP/em/path/vol_a0.4000.mrc" "--ema: the path volumes are the average's"
"$BIN" train-gan "$S" --out "$TMP/ev" --steps 4 $OPTS --ema 0.5 -j1 > /dev/null
check "[ $? -eq 0 ] && cmp -s $TMP/a/train_log.tsv $TMP/ev/train_log.tsv && ! cmp -s $TMP/a/volume.mrc $TMP/ev/volume.mrc" \
  "voxel --ema: same training log, a different (averaged) volume"
"$BIN" train-gan "$S" --out "$TMP/eb" --steps 2 --ema 1 -q > "$TMP/eb.txt" 2>&1
check "[ $? -eq 2 ] && grep -q 'decay in' $TMP/eb.txt && [ ! -e $TMP/eb ]" "--ema 1: usage error, nothing written"
IOPTS="--batch 8 --n-critic 3 --critic-channels 8 --seed 3 -q"
"$BIN" train-gan "$S" --out "$TMP/i" --steps 2 --init-generator "$TMP/a" --critic-warmup 2 $IOPTS -j1 > "$TMP/i.txt"
check "[ $? -eq 0 ] && grep -q 'critic warm-up: 2 critic steps' $TMP/i.txt" "--init-generator with another critic runs, warm-up reported"
check "grep -q '\"generator_initialised_from\": \"$TMP/a\"' $TMP/i/run.json && grep -q '\"critic_warmup_steps\": 2' $TMP/i/run.json" \
  "run.json names the initialising run and the warm-up"
"$BIN" train-gan "$S" --out "$TMP/i0" --steps 2 $IOPTS -j1 > /dev/null
check "! cmp -s $TMP/i/volume.mrc $TMP/i0/volume.mrc" "--init-generator: not the volume of a run from zero"
"$BIN" train-gan "$S" --out "$TMP/ir" --steps 2 --load "$TMP/a" $IOPTS -j1 > "$TMP/ir.txt" 2>&1
check "[ $? -ne 0 ] && grep -q 'must match' $TMP/ir.txt" "--load with another critic is refused with a message"
"$BIN" train-gan "$S" --out "$TMP/il" --steps 2 --load "$TMP/a" --init-generator "$TMP/a" -q > "$TMP/il.txt" 2>&1
check "[ $? -eq 2 ] && grep -q 'exclude each other' $TMP/il.txt && [ ! -e $TMP/il ]" "--load with --init-generator: usage error, nothing written"
[ $fail -eq 0 ] && echo "train-gan CLI: all checks passed"
exit $fail
