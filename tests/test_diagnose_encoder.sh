#!/usr/bin/env bash
# cryogen diagnose-encoder on a tiny trained VAE: a zero perturbation moves no latent (the
# re-encoding path is exact), a larger shift moves latents further than a smaller one, the JSON
# carries the numbers, and models without an encoder or with another box give clear errors.
set -euo pipefail
B=${CG_BIN:?}
T=${CG_TEST_TMP:-/tmp/cryogen-test}/diagnose_encoder
rm -rf "$T"; mkdir -p "$T"; cd "$T"
PY=/usr/bin/python3
fail=0
NET="--zdim 2 --enc-dim 32 --enc-layers 1 --dec-dim 32 --dec-layers 1"
"$B" simulate --model synthetic --n 300 --box 24 --pixel-size-A 5 --snr 2 --no-clean --seed 4 -q --out sim > /dev/null
"$B" train-vae sim/particles.star $NET --epochs 2 --out vae -q > /dev/null
"$B" diagnose-encoder vae sim/particles.star --sample 100 --shift-px 0 --quarter-turns 0 --json zero.json -q > /dev/null
"$B" diagnose-encoder vae sim/particles.star --sample 100 --shift-px 0.25 --json small.json -q > /dev/null
"$B" diagnose-encoder vae sim/particles.star --sample 100 --shift-px 2 --quarter-turns 2 --json big.json -q > /dev/null
$PY - <<'PYEOF' || fail=1
import json, sys
z, s, b = (json.load(open(f)) for f in ("zero.json", "small.json", "big.json"))
print("spread %.4g; shift 0.25 px: %.4g, 2 px: %.4g; rotate 90: %.4g, 180: %.4g (x spread)" %
      (s["latent_spread"], s["shift_ratio"], b["shift_ratio"], s["rotate_ratio"], b["rotate_ratio"]))
ok = z["shift_move"] == 0 and z["rotate_move"] == 0 and s["latent_spread"] > 0
ok = ok and 0 < s["shift_ratio"] < b["shift_ratio"] and s["rotate_ratio"] > 0 and b["rotate_deg"] == 180
if not ok: print("FAIL: diagnostics"); sys.exit(1)
PYEOF
"$B" train-vae sim/particles.star $NET --epochs 1 --latents table --out tab -q > /dev/null
if "$B" diagnose-encoder tab sim/particles.star 2> err.txt; then echo "FAIL: table model accepted"; fail=1; fi
grep -q "no encoder" err.txt || { echo "FAIL: message"; cat err.txt; fail=1; }
"$B" downsample sim/particles.star --box 16 --out small.mrcs -q > /dev/null
if "$B" diagnose-encoder vae small.star 2> err.txt; then echo "FAIL: box mismatch accepted"; fail=1; fi
grep -q "box 16" err.txt || { echo "FAIL: message"; cat err.txt; fail=1; }
exit $fail
