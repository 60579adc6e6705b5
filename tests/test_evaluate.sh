#!/usr/bin/env bash
# cryogen evaluate on a small synthetic dataset: the ground truth itself scores the maximum
# (|rho| = 1, neighbourhood similarity 1, FSC-matrix correlation 1, high per-image FSC area) and
# shuffled latents / random volume assignments score low; --align keeps the truth's score;
# bad inputs give clear errors.
set -euo pipefail
B=${CG_BIN:?}
T=${CG_TEST_TMP:-/tmp/cryogen-test}/evaluate
rm -rf "$T"; mkdir -p "$T"; cd "$T"
PY=/usr/bin/python3
fail=0
"$B" simulate --model synthetic --n 800 --box 48 --pixel-size-A 2.5 --snr inf --no-clean --gt-grid 5 -q --out sim > /dev/null
grep -v '^#' sim/ground_truth.txt | awk '{print $2}' > z_true.txt
# a seeded shuffle of the same values
$PY -c "import random; v=open('z_true.txt').read().split(); random.Random(1).shuffle(v); open('z_shuf.txt','w').write('\n'.join(v)+'\n')"
ls sim/gt_volumes/*.mrc | sed 's|.*/||' > sim/gt_volumes/list.txt
# nearest grid point of each particle (grid 0, 22.5, ..., 90 degrees) vs a random one
grep -v '^#' sim/ground_truth.txt | awk '{b = int($2 / 22.5 + 0.5); print b}' > good.txt
$PY -c "import random; r=random.Random(2); open('rand.txt','w').write(''.join('%d\n' % r.randrange(5) for _ in range(800)))"

val() { $PY -c "import json,sys; d=json.load(open('$1')); print(eval(sys.argv[1]))" "$2"; }
check() { # description, python condition on d (the JSON)
    if ! $PY -c "import json,sys; d=json.load(open('$1')); sys.exit(0 if ($2) else 1)"; then echo "FAIL: $3"; fail=1; fi
}
"$B" evaluate --truth sim --latents z_true.txt --volumes sim/gt_volumes/list.txt --assign good.txt --json good.json --svg good -q
"$B" evaluate --truth sim --latents z_shuf.txt --volumes sim/gt_volumes/list.txt --assign rand.txt --json bad.json -q
echo "truth:    rho $(val good.json 'd["latent"]["abs_spearman_pc1"][0]') nbhd $(val good.json 'd["latent"]["neighbourhood_similarity"]')" \
     "area $(val good.json 'd["volumes"]["per_image_fsc_area_mean"]') matrix $(val good.json 'd["volumes"]["fsc_matrix_correlation"]')"
echo "shuffled: rho $(val bad.json 'd["latent"]["abs_spearman_pc1"][0]') nbhd $(val bad.json 'd["latent"]["neighbourhood_similarity"]')" \
     "area $(val bad.json 'd["volumes"]["per_image_fsc_area_mean"]') matrix $(val bad.json 'd["volumes"]["fsc_matrix_correlation"]')"
check good.json 'd["latent"]["abs_spearman_pc1"][0] > 0.9999' "true latents: |rho| below 1"
check good.json 'd["latent"]["neighbourhood_similarity"] > 0.999' "true latents: neighbourhood similarity below 1"
check good.json 'd["volumes"]["fsc_matrix_correlation"] > 0.9999' "true volumes: matrix correlation below 1"
check good.json 'd["volumes"]["per_image_fsc_area_mean"] > 0.45' "true volumes: per-image FSC area"
check bad.json 'd["latent"]["abs_spearman_pc1"][0] < 0.15' "shuffled latents: |rho| too high"
check bad.json 'd["latent"]["neighbourhood_similarity"] < 0.1' "shuffled latents: neighbourhood similarity too high"
check bad.json 'd["volumes"]["fsc_matrix_correlation"] < 0.9' "random volumes: matrix correlation too high"
$PY -c "import json,sys; g=json.load(open('good.json')); b=json.load(open('bad.json'));
sys.exit(0 if g['volumes']['per_image_fsc_area_mean'] > b['volumes']['per_image_fsc_area_mean'] + 0.005 else 1)" \
    || { echo "FAIL: random assignment scores as well as the truth"; fail=1; }
for f in good_gt_matrix.svg good_method_matrix.svg good_bins.svg; do
    grep -q "</svg>" "$f" || { echo "FAIL: $f"; fail=1; }
done
# --align on volumes already in the truth's frame: identity found, score kept
"$B" evaluate --truth sim --volumes sim/gt_volumes/list.txt --assign good.txt --align --sample 30 --json al.json -q
check al.json 'd["volumes"]["aligned"] and not d["volumes"]["align_mirrored"] and d["volumes"]["per_image_fsc_area_mean"] > 0.44' \
    "--align on the truth's own frame"
# bad input
head -5 z_true.txt > z_short.txt
if "$B" evaluate --truth sim --latents z_short.txt 2> err.txt; then echo "FAIL: short latents accepted"; fail=1; fi
grep -q "5 latents for 800 particles" err.txt || { echo "FAIL: message"; cat err.txt; fail=1; }
if "$B" evaluate --truth nowhere --latents z_true.txt 2> err.txt; then echo "FAIL: missing truth accepted"; fail=1; fi
grep -q "nowhere/model.txt" err.txt || { echo "FAIL: message"; cat err.txt; fail=1; }
echo "7" > one.txt
if "$B" evaluate --truth sim --volumes sim/gt_volumes/list.txt --assign one.txt 2> err.txt; then echo "FAIL: short assignment accepted"; fail=1; fi
grep -q "one volume index per particle" err.txt || { echo "FAIL: message"; cat err.txt; fail=1; }
exit $fail
