#!/bin/bash
# CLI tests of `cryogen fsc` and `cryogen fsc-matrix` on third-party maps (read in place):
# self-FSC is 1 in every shell with area 0.5, JSON parses and matches the table, the SVG is
# well-formed XML, --align of a map onto itself keeps FSC area 0.5, the matrix is symmetric,
# and bad input (missing file, box mismatch, bad list) fails with a message and no output.
set -u
BIN=${CG_BIN:-./cryogen}
DATA=${CG_SHARED_DATA:-../shared/data}
TMP=${CG_TEST_TMP:-/tmp}/fsc_cli
rm -rf "$TMP" && mkdir -p "$TMP"
A=$DATA/maps/trpv1_volume.mrc
B=$DATA/maps/1C3W_10.mrc
[ -f "$A" ] && [ -f "$B" ] || { echo "SKIP: third-party maps not found under $DATA"; exit 77; }
fail=0
check() { if eval "$1"; then :; else echo "FAIL: $2"; fail=1; fi; }

"$BIN" fsc "$A" "$A" --json "$TMP/self.json" --plot "$TMP/self.svg" --mask-radius-A 90 > "$TMP/self.txt"
check "[ $? -eq 0 ]" "fsc self exit code"
check "grep -q 'FSC area: 0.5000' $TMP/self.txt" "self FSC area 0.5"
check "[ \$(awk '!/^#/ && \$4 != \"1.00000\"' $TMP/self.txt | wc -l) -eq 0 ]" "self FSC 1 in every shell"
if command -v python3 >/dev/null; then
  python3 - "$TMP/self.json" "$TMP/self.svg" <<'PY' || fail=1
import json, sys, xml.dom.minidom
d = json.load(open(sys.argv[1]))
f = d["fsc"]
assert f["box"] == 48 and abs(f["pixel_size_A"] - 4.88) < 1e-3, f
assert len(f["shells"]) == 25 and all(abs(s["fsc"] - 1) < 1e-5 for s in f["shells"])
assert abs(f["shells"][4]["resolution_A"] - 48 * 4.88 / 4) < 1e-3
assert abs(f["fsc_area_cycles_per_px"] - 0.5) < 1e-5 and d["mask"]["soft_sphere_radius_A"] == 90
xml.dom.minidom.parse(sys.argv[2])
print("json and svg ok")
PY
fi
"$BIN" fsc "$B" "$B" --align --align-rotations 4000 --aligned-out "$TMP/al.mrc" --json "$TMP/al.json" > "$TMP/al.txt"
check "[ $? -eq 0 ] && [ -f $TMP/al.mrc ]" "fsc --align exit code and output"
check "grep -q 'same hand' $TMP/al.txt" "align keeps the hand of a map onto itself"
check "awk '/FSC area/ {exit !(\$4 > 0.499)}' $TMP/al.txt" "FSC area after self-alignment"

# bad input: nothing written, non-zero exit, a message naming the problem
"$BIN" fsc "$A" "$B" --json "$TMP/bad.json" 2> "$TMP/err.txt"
check "[ $? -ne 0 ] && [ ! -e $TMP/bad.json ] && grep -q '48^3' $TMP/err.txt" "box mismatch rejected"
"$BIN" fsc "$A" "$TMP/missing.mrc" 2> "$TMP/err.txt"
check "[ $? -ne 0 ] && grep -q missing.mrc $TMP/err.txt" "missing file rejected"
"$BIN" fsc "$A" "$A" --mask "$B" 2> "$TMP/err.txt"
check "[ $? -ne 0 ] && grep -q mask $TMP/err.txt" "mask of another box rejected"

printf "%s\n# a comment\n%s\n\n%s\n" "$B" "$TMP/al.mrc" "$B" > "$TMP/list.txt"
"$BIN" fsc-matrix "$TMP/list.txt" --svg "$TMP/m.svg" --json "$TMP/m.json" > "$TMP/m.txt"
check "[ $? -eq 0 ] && [ -f $TMP/m.svg ]" "fsc-matrix exit code"
if command -v python3 >/dev/null; then
  python3 - "$TMP/m.json" "$TMP/m.svg" <<'PY' || fail=1
import json, sys, xml.dom.minidom
m = json.load(open(sys.argv[1]))["matrix"]
assert len(m) == 3 and all(abs(m[i][j] - m[j][i]) < 1e-12 for i in range(3) for j in range(3))
assert all(abs(m[i][i] - 0.5) < 1e-5 for i in range(3)) and abs(m[0][2] - 0.5) < 1e-5 and m[0][1] > 0.49
xml.dom.minidom.parse(sys.argv[2])
print("matrix ok")
PY
fi
echo "$B" > "$TMP/one.txt"
"$BIN" fsc-matrix "$TMP/one.txt" 2> "$TMP/err.txt"
check "[ $? -ne 0 ] && grep -q 'at least 2' $TMP/err.txt" "one-volume list rejected"
"$BIN" fsc-matrix "$A" "$B" --svg "$TMP/bad.svg" 2> /dev/null
check "[ $? -ne 0 ] && [ ! -e $TMP/bad.svg ]" "matrix box mismatch rejected"
[ $fail -eq 0 ] && echo "all fsc CLI checks passed"
exit $fail
