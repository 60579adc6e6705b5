#!/bin/sh
# Multi-CryoGAN science runs (issue 7): discrete (25/75 mixture of adenylate kinase open/closed)
# and continuous (morph between them), 20,000 images of 32 px at 4 A/px, SNR 1, CTF, shifts sd 2 A.
# Usage: bench/gan_manifold_science.sh CRYOGEN_BIN WORKDIR discrete|morph [SEGMENT_ENDS...]
# Segments resume exactly (--load); after each, the path's clusters.json and fsc_matrix.tsv are kept
# as clusters_STEP.json / fsc_matrix_STEP.tsv. Evaluate with bench/gan_manifold_eval.py.
# Environment: SCALE, LRGEN, LP, RAMP, VPS (volumes per step, default 8), RUN (output folder).
set -eu
B=$1; W=$2; KIND=$3; shift 3
ENDS=${*:-"150 300 500 700 900"}
export OMP_WAIT_POLICY=passive
PDB=${CG_SHARED_DATA:-/work/shared/data}/pdb
mkdir -p "$W"; cd "$W"
if [ "$KIND" = discrete ]; then
  [ -f disc/particles.star ] || $B simulate --model discrete --pdb $PDB/adk_open.pdb,$PDB/adk_closed.pdb \
      --probabilities 0.25,0.75 --n 20000 --box 32 --pixel-size-A 4 --snr 1 --shift-A 2 --seed 7 --no-clean --out disc -q -j1
  DATA=disc/particles.star
else
  [ -f morph/particles.star ] || $B simulate --model morph --pdb $PDB/adk_open.pdb,$PDB/adk_closed.pdb \
      --n 20000 --box 32 --pixel-size-A 4 --snr 1 --shift-A 2 --seed 8 --no-clean --gt-grid 11 --out morph -q -j1
  DATA=morph/particles.star
fi
PTS=21; [ "$KIND" = morph ] && PTS=11
OPTS="--manifold --batch 32 --volumes-per-step ${VPS:-8} --gen-scale ${SCALE:-0.1} --lr-gen ${LRGEN:-1e-3} \
      --lowpass-start-A ${LP:-30} --lowpass-ramp-steps ${RAMP:-400} --path-points $PTS --clusters 2 --seed 1 -j1 -q"
OUT=${RUN:-mgan_$KIND}
LOAD=""
for e in $ENDS; do
  t0=$(date +%s)
  nice -n 5 $B train-gan $DATA --out $OUT --steps $e $OPTS $LOAD
  t1=$(date +%s)
  cp $OUT/clusters.json $OUT/clusters_$e.json; cp $OUT/fsc_matrix.tsv $OUT/fsc_matrix_$e.tsv
  echo "step $e segment_wall_s $((t1 - t0)) $(grep proportions $OUT/clusters.json)"
  LOAD="--load $OUT"
done
