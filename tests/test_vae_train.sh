#!/usr/bin/env bash
# cryogen train-vae / eval-vol end to end on a small simulated dataset (synthetic model, box 32,
# 4 A/px, SNR 1):
#  - the loss starts below the zero decoder's and decreases: the Hartley values are normalised
#    on all 1000 particles (--norm-sample 1000), so the zero decoder's MSE over the dataset is
#    exactly 1; with SNR 1 the noise alone leaves MSE ~0.5, so the first epoch's MSE must be
#    below 0.9, every epoch below the previous one, and the last below 0.6;
#  - the latents' PC1 correlates with the true conformational parameter: zdim 8, 2x128 networks,
#    lr 1e-3, 8 epochs; |Spearman rho| measured 0.08, 0.20, 0.39, 0.66, 0.80 after 2, 4, 6, 8, 10
#    epochs (random latents: ~0.03); asserted > 0.3 after 8 (margin for other BLAS builds);
#  - eval-vol gives a map in the right frame and hand: FSC area against the ground-truth volume
#    above 0.40 (measured 0.46 here, 0.44-0.45 after 2 epochs of a smaller network);
#  - --load resumes bit for bit (checkpoint, latents, log-variances, loss history), and the
#    bytes do not depend on the thread count (-j1 vs -j2);
#  - bad inputs (zdim 0, missing poses, an image index beyond the stack, resuming on other
#    particles, --load with a model or optimiser option that disagrees with the checkpoint)
#    fail with clear messages; --load with the same options typed again is accepted.
set -euo pipefail
B=${CG_BIN:?}
T=${CG_TEST_TMP:-/tmp/cryogen-test}/vae_train
rm -rf "$T"; mkdir -p "$T"; cd "$T"
PY=/usr/bin/python3
fail=0
"$B" simulate --model synthetic --box 32 --pixel-size-A 4 --n 1000 --snr 1 --no-clean -q --out sim -j2 > /dev/null

# ---- training: loss trajectory, latents, volume
EPOCHS=${CG_VAE_TEST_EPOCHS:-8}
"$B" train-vae sim/particles.star --zdim 8 --epochs "$EPOCHS" --enc-dim 128 --enc-layers 2 --dec-dim 128 --dec-layers 2 \
    --lr 1e-3 --norm-sample 1000 --out run -j2 -q > /dev/null
grep -v '^#' run/loss.txt
if ! awk -v E="$EPOCHS" '!/^#/ { n++; m[n] = $3 } END {
        ok = (n == E) && m[1] < 0.9 && m[n] < 0.6
        for (i = 2; i <= n; i++) if (!(m[i] < m[i - 1])) ok = 0
        exit ok ? 0 : 1 }' run/loss.txt; then
    echo "FAIL: loss trajectory (want MSE < 0.9 after epoch 1, decreasing, < 0.6 at the end)"; fail=1
fi
"$B" evaluate --truth sim --latents "run/z.$EPOCHS.txt" --json ev.json -q > /dev/null
rho=$($PY -c "import json; print(json.load(open('ev.json'))['latent']['abs_spearman_pc1'][0])")
echo "latent PC1 |Spearman rho| with the true parameter after $EPOCHS epochs: $rho"
LATENT=${CG_VAE_TEST_RHO:-0.3}
$PY -c "import sys; sys.exit(0 if $rho > $LATENT else 1)" || { echo "FAIL: |rho| $rho <= $LATENT"; fail=1; }
[ "$(grep -vc '^#' "run/z.$EPOCHS.txt")" = 1000 ] || { echo "FAIL: z rows"; fail=1; }
# (no `grep | head` pipelines: with pipefail, grep's SIGPIPE would fail the script)
[ "$(awk '!/^#/ { print NF; exit }' "run/logvar.$EPOCHS.txt")" = 8 ] || { echo "FAIL: logvar columns"; fail=1; }
[[ "$(sed -n 1p run/z.1.txt)" == *seed=0* ]] || { echo "FAIL: provenance line"; fail=1; }

zmed=$(awk '!/^#/ { print; exit }' "run/z.$EPOCHS.txt")
"$B" eval-vol run --z "$zmed" --out vol/v -q > /dev/null
grep -q "open v_000.mrc" vol/v.cxc || { echo "FAIL: cxc"; cat vol/v.cxc; fail=1; }
grep -q "written by: cryogen .* seed=0" vol/v.cxc || { echo "FAIL: checkpoint provenance"; cat vol/v.cxc; fail=1; }
info=$("$B" info vol/v_000.mrc)
[[ "$info" == *"pixel size     4 x 4 x 4 A"* ]] || { echo "FAIL: pixel size"; echo "$info"; fail=1; }
area=$("$B" fsc sim/gt_volumes/vol_005.mrc vol/v_000.mrc -q | sed -n 's/# FSC area: \([0-9.]*\).*/\1/p')
echo "FSC area of the decoded map vs the middle ground-truth volume: $area"
$PY -c "import sys; sys.exit(0 if float('$area') > 0.40 else 1)" || { echo "FAIL: FSC area $area"; fail=1; }
awk '!/^#/ && n < 3 { print; n++ }' "run/z.$EPOCHS.txt" > three.txt
"$B" eval-vol run --z-file three.txt --out vol/s -q > /dev/null
grep -q "open s_000.mrc s_001.mrc s_002.mrc vseries true" vol/s.cxc || { echo "FAIL: series cxc"; cat vol/s.cxc; fail=1; }

# ---- resume and thread independence (tiny networks: fast)
NET="--zdim 2 --enc-dim 16 --enc-layers 0 --dec-dim 32 --dec-layers 1 --seed 4 --lr 1e-3"
"$B" train-vae sim/particles.star $NET --epochs 2 --out full -j2 -q > /dev/null
"$B" train-vae sim/particles.star $NET --epochs 1 --out part -j2 -q > /dev/null
"$B" train-vae sim/particles.star --epochs 2 --load part --out part -j2 -q > /dev/null
for f in weights.2.ckpt z.2.txt logvar.2.txt loss.txt; do
    cmp -s "full/$f" "part/$f" || { echo "FAIL: resumed $f differs from the uninterrupted run"; fail=1; }
done
"$B" train-vae sim/particles.star $NET --epochs 1 --out one -j1 -q > /dev/null
for f in weights.1.ckpt z.1.txt; do
    cmp -s "one/$f" "part/$f" || { echo "FAIL: $f differs between -j1 and -j2"; fail=1; }
done

# ---- deterministic encoder: z only, no log-variances
"$B" train-vae sim/particles.star $NET --encoder deterministic --epochs 1 --out det -j2 -q > /dev/null
[ -f det/z.1.txt ] && [ ! -e det/logvar.1.txt ] || { echo "FAIL: deterministic encoder outputs"; fail=1; }
awk '!/^#/ { exit !($4 == 0 && $3 < 0.9) }' det/loss.txt || { echo "FAIL: deterministic loss"; cat det/loss.txt; fail=1; }

# ---- controls (--encoder-input, docs/vae.md): the encoder of a permuted run sees particle
#      twin[i]'s image (twins.txt) for particle i, in training and in the latent pass: z.1.txt row i
#      must equal the trained encoder on twin[i]'s own image (diagnose-encoder --z-out on all
#      particles) and not the encoder on image i; the noise controls train
"$B" train-vae sim/particles.star $NET --encoder-input permuted --epochs 1 --out perm -j2 -q > /dev/null
"$B" diagnose-encoder perm sim/particles.star --sample 1000 --z-out perm/own.txt -q > perm/diag.txt
grep -q "control run (--encoder-input permuted)" perm/diag.txt || { echo "FAIL: diagnose-encoder control note"; cat perm/diag.txt; fail=1; }
$PY - <<'PYEOF' || fail=1
import numpy as np
t = np.loadtxt('perm/twins.txt', dtype=int)
z = np.loadtxt('perm/z.1.txt'); own = np.loadtxt('perm/own.txt')
n = len(t)
ok = n == 1000 and sorted(t) == list(range(n)) and not np.any(t == np.arange(n))
scale = np.abs(own).max()
d_twin = np.abs(z - own[t]).max(); d_self = np.abs(z - own).max()
print(f"permuted control: |z - enc(twin image)| max {d_twin:.2e}, |z - enc(own image)| max {d_self:.3g} (scale {scale:.3g})")
if not (ok and d_twin <= 1e-5 * scale and d_self > 1e-2 * scale):
    print("FAIL: the permuted control's encoder did not see the twin's image"); raise SystemExit(1)
PYEOF
"$B" train-vae sim/particles.star $NET --encoder-input noise --epochs 1 --out noise -j2 -q > /dev/null
awk '!/^#/ { exit !($3 < 0.9) }' noise/loss.txt || { echo "FAIL: noise control loss"; cat noise/loss.txt; fail=1; }
[ ! -e noise/twins.txt ] || { echo "FAIL: twins.txt of a noise control"; fail=1; }
"$B" train-vae sim/particles.star $NET --encoder-input fresh-noise --epochs 1 --out fresh -j2 -q > /dev/null
awk '!/^#/ { exit !($3 < 0.9) }' fresh/loss.txt || { echo "FAIL: fresh-noise control loss"; cat fresh/loss.txt; fail=1; }
cmp -s fresh/z.1.txt noise/z.1.txt && { echo "FAIL: fresh and fixed noise controls gave the same latents"; fail=1; }
expect_fail_early() { if "$@" > out.txt 2> err.txt; then echo "FAIL: $* accepted"; fail=1; fi; }
expect_fail_early "$B" train-vae sim/particles.star $NET --encoder-input permuted --latents table --epochs 1 --out bad
grep -q "needs an encoder" err.txt || { echo "FAIL: control with a table: message"; cat err.txt; fail=1; }
expect_fail_early "$B" train-vae sim/particles.star $NET --encoder-input twins --epochs 1 --out bad
grep -q "use images, permuted, noise or fresh-noise" err.txt || { echo "FAIL: bad --encoder-input: message"; cat err.txt; fail=1; }

# ---- latent table instead of an encoder: trains, writes z and logvar, resumes bit for bit
"$B" train-vae sim/particles.star $NET --latents table --epochs 2 --out tab -j2 -q > /dev/null
"$B" train-vae sim/particles.star $NET --latents table --epochs 1 --out tab2 -j2 -q > /dev/null
"$B" train-vae sim/particles.star --epochs 2 --load tab2 --out tab2 -j2 -q > /dev/null
[ -f tab/logvar.2.txt ] || { echo "FAIL: table logvar"; fail=1; }
cmp -s tab/weights.2.ckpt tab2/weights.2.ckpt || { echo "FAIL: table resume differs"; fail=1; }
awk '!/^#/ { n++; m[n] = $3 } END { exit !(n == 2 && m[2] < m[1] && m[1] < 0.9) }' tab/loss.txt || { echo "FAIL: table loss"; cat tab/loss.txt; fail=1; }

# ---- bad inputs
expect_fail() { # description, needle, command...
    local what=$1 needle=$2; shift 2
    if "$@" > out.txt 2> err.txt; then echo "FAIL: $what accepted"; fail=1; return; fi
    grep -q -- "$needle" err.txt || { echo "FAIL: $what: message"; cat err.txt; fail=1; }
}
expect_fail "zdim 0" "zdim must be at least 1" "$B" train-vae sim/particles.star --zdim 0 --epochs 1 --out bad
cat > noposes.star <<'EOF'
data_optics
loop_
_rlnOpticsGroup
_rlnImagePixelSize
_rlnImageSize
_rlnVoltage
_rlnSphericalAberration
_rlnAmplitudeContrast
1 4.0 32 300 2.7 0.1

data_particles
loop_
_rlnImageName
_rlnOpticsGroup
_rlnDefocusU
_rlnDefocusV
_rlnDefocusAngle
000001@sim/particles.mrcs 1 15000 15000 0
000002@sim/particles.mrcs 1 15000 15000 0
EOF
expect_fail "missing poses" "no poses" "$B" train-vae noposes.star --zdim 2 --epochs 1 --out bad
sed 's/^000002@sim/001001@sim/' noposes.star | awk '/^_rlnDefocusAngle/ { print; print "_rlnAngleRot"; print "_rlnAngleTilt"; print "_rlnAnglePsi"; next }
    /@sim/ { print $0 " 10 20 30"; next } { print }' > beyond.star
expect_fail "image beyond the stack" "1001" "$B" train-vae beyond.star --zdim 2 --epochs 1 --out bad
$PY - <<'EOF'
lines = open('sim/particles.star').read().split('\n')
# keep the header and the first 10 particles
out, n = [], 0
for l in lines:
    if '@' in l:
        n += 1
        if n > 10: continue
    out.append(l)
open('ten.star', 'w').write('\n'.join(out))
EOF
sed -i 's|@particles.mrcs|@sim/particles.mrcs|' ten.star
expect_fail "resume on other particles" "trained on 1000 particles" "$B" train-vae ten.star --epochs 3 --load full --out bad
expect_fail "no more epochs" "has 2 epochs already" "$B" train-vae sim/particles.star --epochs 2 --load full --out bad
expect_fail "--load with another --lr" "which has lr 0.001; drop --lr" \
    "$B" train-vae sim/particles.star --epochs 3 --lr 1e-2 --load full --out bad
expect_fail "--load with another --pe" "which has pe gaussian; drop --pe" \
    "$B" train-vae sim/particles.star --epochs 3 --pe geom_lowf --load full --out bad
[ ! -e bad/weights.3.ckpt ] || { echo "FAIL: a refused --load wrote bad/weights.3.ckpt"; fail=1; }
"$B" train-vae sim/particles.star $NET --epochs 3 --load full --out again -j2 -q > /dev/null \
    || { echo "FAIL: --load with the checkpoint's own options typed again was refused"; fail=1; }
expect_fail "eval-vol z of the wrong size" "not a whole number of 2-dimensional latents" "$B" eval-vol full --z "1 2 3" --out bad/v
exit $fail
