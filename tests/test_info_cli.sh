#!/bin/bash
# `cryogen info` end to end: statistics of real maps and stacks equal numpy's (mrcfile reads
# the data independently), --json output parses, STAR and .cs summaries name what they hold,
# and bad files (truncated, header larger than the file, absurd sizes, unknown mode, broken
# STAR, broken .cs, missing file) give a message naming the file and exit 1, never a crash.
set -u
BIN=${CG_BIN:-}
[ -x "$BIN" ] || { echo "SKIP: cryogen binary not found (CG_BIN='$BIN')"; exit 77; }
TMP=${CG_TEST_TMP:-/tmp/cryogen-test}/info_cli
rm -rf "$TMP" && mkdir -p "$TMP"
DATA=${CG_SHARED_DATA:-../shared/data}
PY=/usr/bin/python3
fail=0
check() { # description, command...
    local what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}

# expect_error FILE NEEDLE: exit status 1 (not a signal) and NEEDLE in stderr
expect_error() {
    "$BIN" info "$1" > "$TMP/out.txt" 2> "$TMP/err.txt"
    local rc=$?
    if [ $rc -ne 1 ] || ! grep -qF -- "$2" "$TMP/err.txt"; then
        echo "  rc=$rc stderr: $(cat "$TMP/err.txt")"
        return 1
    fi
}

# ---- bad inputs, made here ----
"$PY" - "$TMP" <<'EOF' 2>/dev/null || printf 'x' > "$TMP/nopython"
import struct, sys
t = sys.argv[1]
def hdr(nx, ny, nz, mode, nsymbt=0):
    h = bytearray(1024)
    struct.pack_into("<4i", h, 0, nx, ny, nz, mode)
    struct.pack_into("<3i", h, 28, nx, ny, nz)
    struct.pack_into("<3i", h, 64, 1, 2, 3)
    struct.pack_into("<i", h, 92, nsymbt)
    h[208:212] = b"MAP "; h[212:214] = b"\x44\x44"
    return bytes(h)
open(t + "/trunc.mrc", "wb").write(hdr(64, 64, 4096, 2) + bytes(4096))
open(t + "/absurd.mrc", "wb").write(hdr(2**30, 2**30, 2**30, 2) + bytes(64))
open(t + "/mode5.mrc", "wb").write(hdr(4, 4, 1, 5) + bytes(64))
open(t + "/ext.mrc", "wb").write(hdr(4, 4, 1, 2, 100000) + bytes(64))
EOF
head -c 500 /dev/urandom > "$TMP/short.mrc"
printf 'data_particles\nloop_\n_rlnImageName\n_rlnDefocusU\n1@a.mrcs 1\n2@a.mrcs\n' > "$TMP/short_row.star"
printf '\x93NUMPY\x01\x00\x20\x00{"descr": [("a", "|O")], }      \n' > "$TMP/object.cs"
if [ ! -e "$TMP/nopython" ]; then
    check "truncated MRC" expect_error "$TMP/trunc.mrc" "trunc.mrc: header claims 64x64x4096 float32 (64 MiB) but the file holds 4096 bytes"
    check "absurd MRC sizes" expect_error "$TMP/absurd.mrc" "absurd.mrc: header claims dimensions"
    check "unknown MRC mode" expect_error "$TMP/mode5.mrc" "mode5.mrc: MRC mode 5"
    check "nsymbt past the end" expect_error "$TMP/ext.mrc" "extended header of 100000 bytes"
fi
check "header larger than the file" expect_error "$TMP/short.mrc" "short.mrc: file is 500 bytes, smaller than the 1024-byte MRC header"
check "short STAR row" expect_error "$TMP/short_row.star" "short_row.star:6: data_particles row 2 has 1 values but the loop declares 2 labels"
check "object .cs" expect_error "$TMP/object.cs" "object.cs"
check "missing file" expect_error "$TMP/none.mrc" "none.mrc: no such file"
"$BIN" info > /dev/null 2>&1; check "no argument is a usage error (2)" test $? -eq 2

# ---- real files ----
if [ ! -d "$DATA/maps" ]; then
    echo "note: $DATA absent; real-file checks skipped"
    exit $fail
fi
for f in maps/EMD-3001.map maps/1jzv.ccp4 cryodrgn/toy_projections.mrcs relion/rln_proj_64_shifted.mrcs; do
    "$BIN" info --json "$DATA/$f" > "$TMP/info.json" 2> /dev/null
    check "info --json $f exits 0" test $? -eq 0
    if "$PY" -c "import numpy, mrcfile" 2> /dev/null; then
        check "$f: statistics equal numpy's" "$PY" - "$DATA/$f" "$TMP/info.json" <<'EOF'
import json, sys, numpy as np, mrcfile
with mrcfile.open(sys.argv[1], permissive=True) as m:
    d = np.asarray(m.data, dtype=np.float64)
j = json.load(open(sys.argv[2]))
ref = {"min": d.min(), "max": d.max(), "mean": d.mean(), "std": d.std()}
bad = {k: (j[k], v) for k, v in ref.items() if abs(j[k] - v) > 1e-6 * (1 + abs(v))}
shape_ok = sorted([j["nx"], j["ny"], j["nz"]]) == sorted(d.shape)
sys.exit(1 if bad or not shape_ok else 0)
EOF
    fi
done
"$BIN" info "$DATA/relion/sample_particles_relion31.star" > "$TMP/star.txt" 2>&1
check "particle STAR summary" grep -q "particles: 17, box 200 px, 1.4 A/px, 2 optics groups, 1 stack" "$TMP/star.txt"
check "STAR blocks listed" grep -q "data_optics: loop, 2 rows, 8 labels" "$TMP/star.txt"
"$BIN" info --json "$DATA/relion/relion5.star" > "$TMP/star.json" 2>/dev/null
check "STAR --json parses" "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j['blocks'][1]['rows']==17 and j['particles']['n']==17 else 1)" "$TMP/star.json"
"$BIN" info "$DATA/cryodrgn/empiar_10076_7.cs" > "$TMP/cs.txt" 2>&1
check ".cs fields with dtypes and shapes" grep -qE "blob/shape +<u4 +\(2,\)" "$TMP/cs.txt"
check ".cs row count and particle summary" grep -q "7 rows of 208 bytes" "$TMP/cs.txt"
check ".cs without poses" grep -q "poses no" "$TMP/cs.txt"
"$BIN" info --json "$DATA/cryodrgn/empiar_10076_7.cs" > "$TMP/cs.json" 2>/dev/null
check ".cs --json parses" "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j['rows']==7 and len(j['fields'])==24 else 1)" "$TMP/cs.json"
"$BIN" info "$DATA/cryodrgn/toy_projections.mrcs" > /dev/null 2> "$TMP/warn.txt"
check "missing MAP tag warns" grep -q "no 'MAP ' tag" "$TMP/warn.txt"
exit $fail
