#!/usr/bin/env bash
# simulate --model end to end: clean particles (true poses, CTF on) from each conformational
# model, split by the TRUE parameter into bins around two ground-truth grid values, each bin
# back-projected on its own (cryogen backproject --ind). Each bin's map must match the
# ground-truth volume of its own bin best (real-space correlation >= 0.9, and at least 0.02
# above the other bin's volume) with FSC area >= 0.4 cycles/px: the simulator, the ground-truth
# volumes and the reconstruction agree on the same model. Also checks the ground-truth files and
# the discrete model's proportions (25/75 within 4 standard errors).
set -euo pipefail
B=${CG_BIN:?}
T=${CG_TEST_TMP:-/tmp/cryogen-test}/simulate_model
rm -rf "$T"; mkdir -p "$T"; cd "$T"
PY=/usr/bin/python3
DATA=${CG_SHARED_DATA:-../shared/data}
fail=0

fsc_json() { # MAP GT -> "corr area"
    "$B" fsc "$1" "$2" --json f.json > /dev/null
    $PY -c 'import json; d=json.load(open("f.json")); print(d["real_space_correlation"], d["fsc"]["fsc_area_cycles_per_px"])'
}

# run NAME "simulate options" LO1 HI1 LO2 HI2 G1 G2: bins [LO, HI) of the true parameter,
# compared with gt_volumes/vol_00G.mrc
run() {
    local name=$1 opts=$2 lo1=$3 hi1=$4 lo2=$5 hi2=$6 g1=$7 g2=$8
    "$B" simulate $opts --snr inf --no-clean -q --out "$name" > /dev/null
    for f in model.txt ground_truth.txt gt_volumes/params.txt gt_volumes/vol_000.mrc; do
        [ -s "$name/$f" ] || { echo "FAIL $name: $f missing"; fail=1; return; }
    done
    grep -q rlnImageName "$name/particles.star"
    if grep -qi "parameter" "$name/particles.star"; then echo "FAIL $name: ground truth leaked into the STAR"; fail=1; fi
    # a second parameter (lids) is held in [P2LO, P2HI) for both bins
    local f2='NF < 3 || ($3 >= c && $3 < d)'
    awk -v a="$lo1" -v b="$hi1" -v c="${P2LO:-0}" -v d="${P2HI:-0}" "!/^#/ && \$2 >= a && \$2 < b && ($f2) {print \$1 - 1}" \
        "$name/ground_truth.txt" > "$name/bin1.txt"
    awk -v a="$lo2" -v b="$hi2" -v c="${P2LO:-0}" -v d="${P2HI:-0}" "!/^#/ && \$2 >= a && \$2 < b && ($f2) {print \$1 - 1}" \
        "$name/ground_truth.txt" > "$name/bin2.txt"
    (cd "$name" && "$B" backproject particles.star --ind bin1.txt --no-half-maps -q --out bp1.mrc > /dev/null &&
        "$B" backproject particles.star --ind bin2.txt --no-half-maps -q --out bp2.mrc > /dev/null)
    read c11 a11 < <(fsc_json "$name/bp1.mrc" "$name/gt_volumes/vol_00$g1.mrc")
    read c12 a12 < <(fsc_json "$name/bp1.mrc" "$name/gt_volumes/vol_00$g2.mrc")
    read c22 a22 < <(fsc_json "$name/bp2.mrc" "$name/gt_volumes/vol_00$g2.mrc")
    read c21 a21 < <(fsc_json "$name/bp2.mrc" "$name/gt_volumes/vol_00$g1.mrc")
    echo "$name: bin 1 ($(wc -l < "$name/bin1.txt") particles) corr own $c11 other $c12, FSC area $a11;" \
         "bin 2 ($(wc -l < "$name/bin2.txt")) corr own $c22 other $c21, FSC area $a22"
    if ! $PY - "$c11" "$c12" "$a11" "$c22" "$c21" "$a22" <<'PYEOF'
import sys
c11, c12, a11, c22, c21, a22 = map(float, sys.argv[1:])
ok = c11 >= 0.9 and c22 >= 0.9 and c11 - c12 >= 0.02 and c22 - c21 >= 0.02 and a11 >= 0.4 and a22 >= 0.4
sys.exit(0 if ok else 1)
PYEOF
    then echo "FAIL $name"; fail=1; fi
}

# built-in objects: no files needed (grid of 4 values: 0, 1/3, 2/3, 1 of the range)
run synthetic "--model synthetic --n 2400 --pixel-size-A 2 --gt-grid 4 --seed 1" 15 45 45 75 1 2
run capsid "--model capsid --n 2400 --pixel-size-A 2 --gt-grid 4 --seed 2" 10 30 30 50 1 2
# lids: two angles on a 4 x 4 grid (0, 15, 30, 45 degrees; volume a + 4 b); both bins hold the
# second angle in [10, 20), so they compare with volumes 5 (15, 15) and 6 (30, 15). Bins are
# +-5 degrees: the lids reach 45 A from their hinges, and wider bins blur them beyond 4 A.
P2LO=10 P2HI=20 run lids "--model lids --n 8000 --pixel-size-A 2 --gt-grid 4 --param-range 0:45 --seed 3" \
    10 20 25 35 5 6
if [ -f "$DATA/pdb/adk_open.pdb" ]; then
    O=$DATA/pdb/adk_open.pdb C=$DATA/pdb/adk_closed.pdb
    run morph "--model morph --pdb $O,$C --n 2400 --pixel-size-A 1.5 --bfactor-extra 30 --gt-grid 4 --seed 4" \
        0.1667 0.5 0.5 0.8333 1 2
    run hinge "--model hinge --pdb $O --residues 122:159 --param-range 0:60 --n 2400 --pixel-size-A 1.5 --gt-grid 4 --seed 5" \
        10 30 30 50 1 2
    run discrete "--model discrete --pdb $O,$C --probabilities 0.25,0.75 --n 2400 --pixel-size-A 1.5 --seed 6" \
        0 0.5 0.5 1.5 0 1
    n1=$(awk '!/^#/ && $2 == 1' discrete/ground_truth.txt | wc -l)
    if ! $PY -c "import sys, math; f=$n1/2400; sys.exit(0 if abs(f-0.75) < 4*math.sqrt(0.75*0.25/2400) else 1)"; then
        echo "FAIL discrete: state 2 fraction $n1/2400, want 0.75"; fail=1
    fi
else
    echo "note: $DATA absent; atomic-model cases (morph, hinge, discrete) skipped"
fi
# bad input: clear errors, nothing written
if "$B" simulate --model morph --pdb /nonexistent.pdb --n 10 --out bad 2> err.txt; then echo "FAIL: missing pdb accepted"; fail=1; fi
grep -q "nonexistent.pdb" err.txt || { echo "FAIL: error does not name the file"; cat err.txt; fail=1; }
if "$B" simulate --model teapot --n 10 --out bad 2> err.txt; then echo "FAIL: unknown model accepted"; fail=1; fi
grep -q "unknown" err.txt || { echo "FAIL: unknown-model message"; cat err.txt; fail=1; }
[ ! -e bad/particles.mrcs ] || { echo "FAIL: output written on error"; fail=1; }
exit $fail
