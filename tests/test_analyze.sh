#!/usr/bin/env bash
# cryogen analyze on a tiny trained VAE: every output exists and is consistent (one label per
# particle, each k-means centre is exactly one particle's latent, volumes have the box and pixel
# size of the data, the HTML page links only files that exist), the volumes along PC1 differ
# from end to end, and bad input gives clear errors.
set -euo pipefail
B=${CG_BIN:?}
T=${CG_TEST_TMP:-/tmp/cryogen-test}/analyze
rm -rf "$T"; mkdir -p "$T"; cd "$T"
PY=/usr/bin/python3
fail=0
"$B" simulate --model synthetic --n 300 --box 24 --pixel-size-A 5 --snr 2 --no-clean --seed 3 -q --out sim > /dev/null
"$B" train-vae sim/particles.star --zdim 2 --epochs 2 --enc-dim 32 --enc-layers 1 --dec-dim 32 --dec-layers 1 \
    --out vae -q > /dev/null
"$B" analyze vae --ksample 5 -q > out.txt
A=vae/analyze.2
for f in index.html latent_pca.svg latent_density.svg loss.svg kl.svg kmeans/labels.txt kmeans/centers.txt \
         kmeans/centers_ind.txt kmeans/vol.cxc kmeans/vol_004.mrc pc1/vol_009.mrc pc2/vol_000.mrc pc2/vol.cxc; do
    [ -s "$A/$f" ] || { echo "FAIL: $A/$f missing"; fail=1; }
done
[ "$(grep -vc '^#' $A/kmeans/labels.txt)" = 300 ] || { echo "FAIL: labels"; fail=1; }
# every snapped centre is a particle's latent, at the index given
$PY - "$A" <<'PYEOF' || fail=1
import sys
a = sys.argv[1]
rows = lambda p: [l.split() for l in open(p) if not l.startswith('#') and l.strip()]
z = rows('vae/z.2.txt'); c = rows(a + '/kmeans/centers.txt'); ind = [int(r[0]) for r in rows(a + '/kmeans/centers_ind.txt')]
labels = [int(r[0]) for r in rows(a + '/kmeans/labels.txt')]
ok = len(c) == 5 and all(abs(float(x) - float(y)) <= 1e-6 * max(1, abs(float(y))) for k in range(5) for x, y in zip(c[k], z[ind[k]]))
ok = ok and set(labels) <= set(range(5))
if not ok: print("FAIL: k-means centres are not particles' latents"); sys.exit(1)
PYEOF
"$B" info "$A/kmeans/vol_000.mrc" > info.txt
grep -q "24 x 24 x 24" info.txt || { echo "FAIL: volume box"; cat info.txt; fail=1; }
grep -q "pixel size *5 x 5 x 5" info.txt || { echo "FAIL: volume pixel size"; cat info.txt; fail=1; }
# links in the page resolve
for l in $(grep -o 'href="[^"]*"\|src="[^"]*"' $A/index.html | sed 's/.*="\(.*\)"/\1/'); do
    [ -e "$A/$l" ] || { echo "FAIL: index.html links missing $l"; fail=1; }
done
# the two ends of the PC1 path are different maps
"$B" fsc "$A/pc1/vol_000.mrc" "$A/pc1/vol_009.mrc" > fsc.txt
$PY -c "import sys; c=[l for l in open('fsc.txt') if 'real-space correlation' in l][0]; sys.exit(0 if float(c.split()[-1]) < 0.99999 else 1)" \
    || { echo "FAIL: PC1 ends are the same map"; fail=1; }
# bad input
if "$B" analyze nowhere 2> err.txt; then echo "FAIL: missing folder accepted"; fail=1; fi
grep -q "nowhere" err.txt || { echo "FAIL: message"; cat err.txt; fail=1; }
if "$B" analyze vae --epoch 9 2> err.txt; then echo "FAIL: missing epoch accepted"; fail=1; fi
grep -q "weights.9.ckpt" err.txt || { echo "FAIL: message"; cat err.txt; fail=1; }
exit $fail
