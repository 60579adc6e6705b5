#!/usr/bin/env bash
# Interrupted commands never leave a partial file under a final name and never damage previous
# outputs (issue 10): a complete `cryogen simulate` writes DIR; then long runs into the same DIR
# are killed at a random moment with SIGINT, SIGTERM and SIGKILL. After each kill, every file
# under its final name must be byte-identical to the complete run's, and a rerun must succeed.
# (SIGKILL cannot be caught: it may leave DIR/NAME.tmp-PID-N files, never DIR/NAME itself.)
set -euo pipefail
B=${CG_BIN:?}
T=${CG_TEST_TMP:-/tmp/cryogen-test}/interrupt
rm -rf "$T"; mkdir -p "$T"; cd "$T"
fail=0
"$B" demo --out vol > /dev/null                    # a volume to project
"$B" simulate --volume vol/volume.mrc --n 300 --snr 1 --seed 1 -q --out out > /dev/null
sums() { (cd out && sha256sum particles.mrcs clean.mrcs particles.star); }
sums > before.txt
# random moments from a seeded generator, so a failure can be replayed
mapfile -t delays < <(/usr/bin/python3 -c "import random; r=random.Random(7); print('\n'.join('%.2f' % r.uniform(0.3, 2.5) for _ in range(3)))")
i=0
for sig in INT TERM KILL; do
    "$B" simulate --volume vol/volume.mrc --n 400000 --snr 1 --seed 2 -q --out out > /dev/null 2> err.txt &
    pid=$!
    sleep "${delays[$i]}"
    kill -s "$sig" "$pid" 2> /dev/null || { echo "FAIL: the run ended before SIG$sig at ${delays[$i]} s"; fail=1; }
    set +e; wait "$pid"; st=$?; set -e
    echo "SIG$sig after ${delays[$i]} s: exit status $st"
    case $sig in
        INT|TERM) [ "$st" = 130 ] || { echo "FAIL: SIG$sig gave exit $st, want 130"; cat err.txt; fail=1; }
                  grep -q "interrupted" err.txt || { echo "FAIL: no 'interrupted' message"; fail=1; }
                  if ls out/*.tmp-* > /dev/null 2>&1; then echo "FAIL: temporary files left after SIG$sig"; fail=1; fi ;;
        KILL) [ "$st" = 137 ] || { echo "FAIL: SIGKILL gave exit $st"; fail=1; } ;;
    esac
    sums > after.txt
    cmp -s before.txt after.txt || { echo "FAIL: outputs under final names changed after SIG$sig"; diff before.txt after.txt; fail=1; }
    i=$((i + 1))
done
rm -f out/*.tmp-*
# a rerun completes and replaces the outputs with a valid, complete set
"$B" simulate --volume vol/volume.mrc --n 500 --snr 1 --seed 3 -q --out out > /dev/null
"$B" info out/particles.mrcs | grep -q "500" || { echo "FAIL: rerun's stack does not hold 500 images"; fail=1; }
[ "$(grep -c '@particles.mrcs' out/particles.star)" = 500 ] || { echo "FAIL: rerun's STAR"; fail=1; }
exit $fail
