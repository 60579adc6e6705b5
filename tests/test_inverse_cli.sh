#!/usr/bin/env bash
# CT and MRI commands end to end (issue 9), small and fast:
#  1. phantoms: same seed -> same bytes; another --first -> other phantoms.
#  2. ct --simulate with 180 views: FBP of the Shepp-Logan phantom >= 30 dB; reading the written
#     sinogram back gives the same FBP (compare-images: infinite PSNR); 23 views: much worse.
#  3. mri --simulate --accel 1: the zero-filled inverse is exact (> 100 dB); reading the k-space
#     back gives the same baseline.
#  4. with a tiny denoiser (16^2, 30 training steps): ct and mri sampling run, write mean and std
#     stacks, and repeat byte for byte with the same seed.
#  5. bad input: a sinogram whose height is not --views fails with a clear message, exit 1,
#     and leaves earlier outputs untouched.
#  6. file names with a double quote and a backslash: the JSON records of ct and compare-images
#     stay valid JSON and hold the names exactly.
set -euo pipefail
B=${CG_BIN:?}
T=${CG_TEST_TMP:-/tmp/cryogen-test}/inverse_cli
rm -rf "$T"; mkdir -p "$T"; cd "$T"
export OMP_WAIT_POLICY=passive
fail=0
json_num() { sed -n "s/.*\"$2\": \([-0-9.e+]*\).*/\1/p" "$1" | tail -1; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

# 1.
"$B" phantoms --n 4 --box 32 --seed 5 --out p1.mrcs -q > /dev/null
"$B" phantoms --n 4 --box 32 --seed 5 --out p2.mrcs -q > /dev/null
"$B" phantoms --n 4 --box 32 --seed 5 --first 4 --out p3.mrcs -q > /dev/null
cmp -s p1.mrcs p2.mrcs || { echo "FAIL phantoms: same seed, different bytes"; fail=1; }
cmp -s p1.mrcs p3.mrcs && { echo "FAIL phantoms: --first 4 gave the same phantoms"; fail=1; }

# 2.
"$B" phantoms --shepp-logan --n 1 --box 64 --out sl.mrcs -q > /dev/null
"$B" ct --simulate sl.mrcs --views 180 --out ct180 -q > /dev/null
p=$(json_num ct180_metrics.json psnr_baseline)
echo "FBP 180 views, Shepp-Logan 64^2: PSNR $p dB"
ge "$p" 30 || { echo "FAIL FBP PSNR $p < 30 dB"; fail=1; }
"$B" ct ct180_sino.mrcs --views 180 --box 64 --out ct180b -q > /dev/null
"$B" compare-images ct180b_baseline.mrcs ct180_baseline.mrcs | grep -q $'^mean\tinf' || { echo "FAIL ct: re-read sinogram gives another FBP"; fail=1; }
"$B" ct --simulate sl.mrcs --views 23 --out ct23 -q > /dev/null
p23=$(json_num ct23_metrics.json psnr_baseline)
echo "FBP 23 views: PSNR $p23 dB"
ge "$p23" "$p" && { echo "FAIL 23 views not worse than 180"; fail=1; }

# 3.
"$B" mri --simulate sl.mrcs --accel 1 --out mri1 -q > /dev/null
p=$(json_num mri1_metrics.json psnr_baseline)
echo "MRI R = 1 zero-filled: PSNR $p dB"
ge "$p" 100 || { echo "FAIL MRI R = 1 not exact: $p dB"; fail=1; }
"$B" mri --simulate sl.mrcs --accel 4 --out mri4 -q > /dev/null
"$B" mri mri4_kspace.mrcs --out mri4b -q > /dev/null
"$B" compare-images mri4b_baseline.mrcs mri4_baseline.mrcs | grep -q $'^mean\tinf' || { echo "FAIL mri: re-read k-space gives another baseline"; fail=1; }

# 4.
"$B" phantoms --n 32 --box 16 --seed 2 --out tr16.mrcs -q > /dev/null
"$B" phantoms --n 2 --box 16 --seed 2 --first 100 --out te16.mrcs -q > /dev/null
"$B" train-denoiser tr16.mrcs --out den --steps 30 --batch 8 --channels 8 --levels 2 --seed 1 -j 1 -q > /dev/null
S="--den den --samples 2 --steps 6 --sigma-max 10 --seed 4 -j 1 -q"
for run in a b; do
    "$B" ct --simulate te16.mrcs --views 6 --full-views 30 $S --out ct_$run > /dev/null
    "$B" mri --simulate te16.mrcs --accel 4 --center-fraction 0.15 $S --out mri_$run > /dev/null
done
for f in ct_a_recon.mrcs ct_a_std.mrcs mri_a_recon.mrcs mri_a_std.mrcs ct_a.png; do
    [ -s "$f" ] || { echo "FAIL missing $f"; fail=1; }
done
cmp -s ct_a_recon.mrcs ct_b_recon.mrcs || { echo "FAIL ct sampling not deterministic"; fail=1; }
cmp -s mri_a_std.mrcs mri_b_std.mrcs || { echo "FAIL mri sampling not deterministic"; fail=1; }
grep -q '"psnr_score"' mri_a_metrics.json || { echo "FAIL mri metrics lack the score reconstruction"; fail=1; }

# 5.
cp ct23_baseline.mrcs keep.mrcs
if "$B" ct ct23_sino.mrcs --views 20 --out ct23 -q > err.txt 2>&1; then echo "FAIL ct accepted 23 rows as 20 views"; fail=1; fi
grep -q 'rows (views) but --views is 20' err.txt || { echo "FAIL unclear message: $(cat err.txt)"; fail=1; }
cmp -s keep.mrcs ct23_baseline.mrcs || { echo "FAIL failed run overwrote an output"; fail=1; }
if "$B" ct --views 23 --out x -q > err.txt 2>&1; then echo "FAIL ct without input succeeded"; fail=1; fi

# 6.
odd='od"d\\name'
cp sl.mrcs "$odd.mrcs"
"$B" ct --simulate "$odd.mrcs" --views 23 --out "$odd" -q > /dev/null
"$B" compare-images "$odd.mrcs" sl.mrcs --json "${odd}_cmp.json" > /dev/null
python3 - "$odd" <<'PY' || { echo "FAIL JSON with an odd file name"; fail=1; }
import json, sys
n = sys.argv[1]
a = json.load(open(n + "_metrics.json"))
b = json.load(open(n + "_cmp.json"))
assert a["input"] == n + ".mrcs", a["input"]
assert b["images"] == n + ".mrcs" and b["reference"] == "sl.mrcs", b
PY

[ $fail = 0 ] && echo "inverse CLI: all checks passed"
exit $fail
