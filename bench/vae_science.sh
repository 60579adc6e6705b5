#!/usr/bin/env bash
# Science run of `cryogen train-vae` (issue #6), recorded in bench/vae_science.md:
#   1. simulate the adenylate-kinase morph (open <-> closed, parameter in [0, 1]) at D = 64,
#      1.5 A/px, N = 10,000, SNR 0.1, CTF, true poses;
#   2. train-vae with the true poses and CTF (zdim 8, encoder 3 x 256, decoder 2 x 128, lr 1e-3);
#   3. per epoch (or the epochs given): latent PC1 |Spearman rho| with the true parameter
#      (`cryogen evaluate --latents`);
#   4. per-image FSC area (`cryogen evaluate --volumes`) of eval-vol maps at the latents of a
#      sample of particles, against the baseline of back-projecting, per ground-truth grid
#      bin, the particles nearest to that grid point (`cryogen backproject --ind`).
# Usage: bench/vae_science.sh WORKDIR [simulate|train|latents E..|baseline|volumes E|compare E]  (default: all)
# Needs the atomic models in $CG_SHARED_DATA/pdb (default /work/shared/data). Single-threaded
# and niced (shared machine); the training is the long part (see bench/vae_science.md).
set -euo pipefail
B=${CG_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/cryogen}
DATA=${CG_SHARED_DATA:-/work/shared/data}
W=${1:?workdir}; STEP=${2:-all}; shift 2 || true
PY=/usr/bin/python3
export OMP_WAIT_POLICY=passive
RUN="nice -n 5"
J=${CG_THREADS:-1}
EPOCHS=${CG_VAE_EPOCHS:-40}
mkdir -p "$W"; cd "$W"

if [ "$STEP" = simulate ] || [ "$STEP" = all ]; then
    $RUN "$B" simulate --model morph --pdb "$DATA/pdb/adk_open.pdb,$DATA/pdb/adk_closed.pdb" \
        --n 10000 --box 64 --pixel-size-A 1.5 --bfactor-extra 30 --snr 0.1 --no-clean --seed 1 \
        -q -j "$J" --out sim
fi
if [ "$STEP" = train ] || [ "$STEP" = all ]; then
    $RUN "$B" train-vae sim/particles.star --zdim 8 --epochs "$EPOCHS" --enc-dim 256 --enc-layers 3 \
        --dec-dim 128 --dec-layers 2 --lr 1e-3 --seed 0 -j "$J" --out vae
fi
if [ "$STEP" = latents ]; then
    for e in "$@"; do
        "$B" evaluate --truth sim --latents "vae/z.$e.txt" --json "ev_z$e.json" -q -j "$J" > /dev/null
        $PY -c "import json,sys; d=json.load(open('ev_z$e.json'))['latent']; print('epoch $e: |rho| PC1', d['abs_spearman_pc1'][0], 'PC1 var frac', d.get('pc1_variance_fraction'))"
    done
fi
if [ "$STEP" = baseline ] || [ "$STEP" = all ]; then
    # baseline: per grid point, back-project the particles whose true parameter is nearest to it
    G=$(awk '!/^#/ { n++ } END { print n }' sim/gt_volumes/params.txt)
    for g in $(seq 0 $((G - 1))); do
        [ -s "bp_$g.mrc" ] && continue
        awk -v g="$g" -v G="$G" '!/^#/ { p = $2; k = int(p * (G - 1) + 0.5); if (k == g) print $1 - 1 }' \
            sim/ground_truth.txt > "bin_$g.txt"
        (cd sim && $RUN "$B" backproject particles.star --ind "../bin_$g.txt" --no-half-maps -q -j "$J" --out "../bp_$g.mrc" > /dev/null)
        (cd sim && $RUN "$B" backproject particles.star --ind "../bin_$g.txt" --wiener-snr auto -q -j "$J" --out "../bpw_$g.mrc" > /dev/null)
    done
    for g in $(seq 0 $((G - 1))); do
        gt="sim/gt_volumes/vol_$(printf %03d "$g").mrc"
        "$B" fsc "bp_$g.mrc" "$gt" --json "bpf_$g.json" -q > /dev/null
        "$B" fsc "bpw_$g.mrc" "$gt" --json "bpwf_$g.json" -q > /dev/null
        $PY -c "import json; a=json.load(open('bpf_$g.json'))['fsc']['fsc_area_cycles_per_px']; b=json.load(open('bpwf_$g.json'))['fsc']['fsc_area_cycles_per_px']; print('bin $g:', sum(1 for _ in open('bin_$g.txt')), 'particles; FSC area vs the grid volume: back-projection %.4f, with --wiener-snr auto %.4f' % (a, b))"
    done | tee "baseline.txt"
fi
if [ "$STEP" = volumes ] || [ "$STEP" = all ]; then
    E=${1:-$EPOCHS}
    NS=${CG_VAE_NSAMPLE:-100}
    # a seeded sample of particles: their latents -> eval-vol maps; assign file (-1 elsewhere)
    $PY - "$E" "$NS" <<'PYEOF'
import sys, random
E, ns = sys.argv[1], int(sys.argv[2])
rows = [l for l in open(f'vae/z.{E}.txt') if not l.startswith('#')]
idx = sorted(random.Random(1).sample(range(len(rows)), ns))
open(f'zs{E}.txt', 'w').write(''.join(rows[i] for i in idx))
a = [-1] * len(rows)
for j, i in enumerate(idx): a[i] = j
open(f'assign{E}.txt', 'w').write('\n'.join(map(str, a)) + '\n')
open(f'vols{E}.txt', 'w').write(''.join(f'maps{E}/m_{j:03d}.mrc\n' for j in range(ns)))
PYEOF
    mkdir -p "maps$E"
    $RUN "$B" eval-vol vae --epoch "$E" --z-file "zs$E.txt" --out "maps$E/m" -q -j "$J" > /dev/null
    "$B" evaluate --truth sim --latents "vae/z.$E.txt" --volumes "vols$E.txt" --assign "assign$E.txt" \
        --sample "$NS" --json "ev_vol$E.json" -q -j "$J" | tee "ev_vol$E.txt"
fi
if [ "$STEP" = compare ] || [ "$STEP" = all ]; then
    E=${1:-$EPOCHS}
    $PY - "$E" <<'PYEOF'
import json, sys
E = sys.argv[1]
ev = json.load(open(f'ev_vol{E}.json'))
print(f"epoch {E}: latent PC1 |rho| {ev['latent']['abs_spearman_pc1'][0]:.4f}; per-image FSC area mean "
      f"{ev['volumes']['per_image_fsc_area_mean']:.4f} ({ev['volumes']['sample']} particles)")
print("| grid parameter | VAE per-image FSC area (images) | back-projection of the bin (particles) | VAE - BP | BP --wiener-snr auto |")
print("|---|---|---|---|---|")
worst = 1
for g, b in enumerate(ev['volumes']['bins']):
    bp = json.load(open(f'bpf_{g}.json'))['fsc']['fsc_area_cycles_per_px']
    bw = json.load(open(f'bpwf_{g}.json'))['fsc']['fsc_area_cycles_per_px']
    nb = sum(1 for _ in open(f'bin_{g}.txt'))
    a = b['fsc_area']
    worst = min(worst, a - bp)
    print(f"| {b['parameter'][0]:.4f} | {a:.4f} ({b['count']}) | {bp:.4f} ({nb}) | {a - bp:+.4f} | {bw:.4f} |")
print(f"smallest VAE - BP over the bins: {worst:+.4f} (criterion: >= -0.03)")
PYEOF
fi
