#!/bin/bash
# CLI tests of `cryogen backproject` on third-party RELION data (read in place): outputs and
# their names, halves from rlnRandomSubset, --first / --ind selection, JSON contents, and
# failures (missing file, no poses, bad index, bad option) that exit non-zero and write nothing.
set -u
BIN=${CG_BIN:-./cryogen}
DATA=${CG_SHARED_DATA:-../shared/data}
TMP=${CG_TEST_TMP:-/tmp}/backproject_cli
[ -f "$DATA/relion/trpv1_small_stack.star" ] || { echo "SKIP: $DATA/relion not found"; exit 77; }
command -v python3 > /dev/null || { echo "SKIP: python3 needed to read the JSON output"; exit 77; }
rm -rf "$TMP" && mkdir -p "$TMP"
DATA=$(cd "$DATA" && pwd)
fail=0
check() { if eval "$1"; then :; else echo "FAIL: $2"; fail=1; fi; }
sed "s#@./batch_0_restacked.mrc#@$DATA/relion/trpv1_small_stack.mrcs#" "$DATA/relion/trpv1_small_stack.star" > "$TMP/p.star"

"$BIN" backproject "$TMP/p.star" --out "$TMP/map.mrc" -q > "$TMP/out.txt"
check "[ $? -eq 0 ]" "backproject exit code"
for f in map.mrc map_half1.mrc map_half2.mrc map_fsc.json map_fsc.svg; do check "[ -s $TMP/$f ]" "output $f"; done
python3 - "$TMP/map_fsc.json" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
assert d["particles_used"] == 10 and d["half_counts"] == [5, 5] and d["halves_from"] == "rlnRandomSubset", d
assert d["ctf"] is True and d["gridding_iter"] == 10 and d["wiener_snr"] is None
assert d["fsc_half_maps"]["box"] == 48 and len(d["fsc_half_maps"]["shells"]) == 25
assert "cryogen" in d["provenance"]
print("default run ok")
PY

"$BIN" backproject "$TMP/p.star" --out "$TMP/first.mrc" --first 6 --wiener-snr auto -q > /dev/null
check "[ $? -eq 0 ]" "--first with --wiener-snr auto"
python3 -c "import json,sys; d=json.load(open('$TMP/first_fsc.json')); sys.exit(0 if d['particles_used']==6 and d['wiener_snr']=='auto' else 1)" || { echo "FAIL: --first 6"; fail=1; }
printf "# every other particle\n0 2 4\n6 8\n" > "$TMP/ind.txt"
"$BIN" backproject "$TMP/p.star" --out "$TMP/ind.mrc" --ind "$TMP/ind.txt" --no-half-maps -q > /dev/null
check "[ $? -eq 0 ] && [ -s $TMP/ind.mrc ] && [ ! -e $TMP/ind_half1.mrc ]" "--ind with --no-half-maps"

# failures: non-zero exit, a message, no output
"$BIN" backproject "$TMP/missing.star" --out "$TMP/bad1.mrc" 2> "$TMP/err.txt"
check "[ $? -ne 0 ] && [ ! -e $TMP/bad1.mrc ] && grep -q missing.star $TMP/err.txt" "missing STAR"
if [ -f "$DATA/cryodrgn/empiar_10076_7.star" ]; then
  "$BIN" backproject "$DATA/cryodrgn/empiar_10076_7.star" --out "$TMP/bad2.mrc" 2> "$TMP/err.txt"
  check "[ $? -ne 0 ] && [ ! -e $TMP/bad2.mrc ] && grep -q 'no poses' $TMP/err.txt" "STAR without poses"
fi
echo "3 10" > "$TMP/badind.txt"
"$BIN" backproject "$TMP/p.star" --out "$TMP/bad3.mrc" --ind "$TMP/badind.txt" 2> "$TMP/err.txt"
check "[ $? -ne 0 ] && [ ! -e $TMP/bad3.mrc ] && grep -q \"'10'\" $TMP/err.txt" "index out of range"
"$BIN" backproject "$TMP/p.star" --out "$TMP/bad4.mrc" --wiener-snr -3 2> "$TMP/err.txt"
check "[ $? -eq 2 ] && [ ! -e $TMP/bad4.mrc ]" "bad --wiener-snr"
"$BIN" backproject "$TMP/p.star" 2> "$TMP/err.txt"
check "[ $? -eq 2 ] && grep -q -- '--out' $TMP/err.txt" "missing --out"
[ $fail -eq 0 ] && echo "all backproject CLI checks passed"
exit $fail
