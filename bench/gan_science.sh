#!/bin/sh
# CryoGAN homogeneous science run (issue 7): 20,000 images of a 32^3 volume at SNR 0.1 with CTF,
# no poses; FSC against the truth after alignment (mirror allowed) after each segment.
# Usage: bench/gan_science.sh CRYOGEN_BIN WORKDIR [SEGMENT_ENDS...]
# Segments resume exactly (--load; the random draws depend on the step only, the ramp length is
# fixed by --lowpass-ramp-steps), so the trajectory is the same run as one long invocation.
set -eu
B=$1; W=$2; shift 2
ENDS=${*:-"150 300 600 900 1200 1600 2000"}
export OMP_WAIT_POLICY=passive
mkdir -p "$W"; cd "$W"
[ -f demo32/volume.mrc ] || $B demo --box 32 --n 16 --out demo32 -q -j1
[ -f sim32/particles.star ] || $B simulate --volume demo32/volume.mrc --n 20000 --snr 0.1 --shift-A 3 \
    --seed 5 --no-clean --out sim32 -q -j1
OPTS="--batch ${BATCH:-32} --lr-gen ${LRGEN:-0.05} --lr-critic 1e-4 --lowpass-start-A ${LP:-30} \
      --lowpass-ramp-steps ${RAMP:-600} --seed 1 -j1 -q"
OUT=${RUN:-gan_sci}
LOAD=""
for e in $ENDS; do
    t0=$(date +%s)
    nice -n 5 $B train-gan sim32/particles.star --out $OUT --steps $e $OPTS $LOAD
    t1=$(date +%s)
    cp $OUT/volume.mrc $OUT/step_$e.mrc
    nice -n 5 $B fsc demo32/volume.mrc $OUT/step_$e.mrc --align -j1 --json $OUT/fsc_$e.json > $OUT/fsc_$e.txt 2>&1
    echo "step $e segment_wall_s $((t1 - t0)) $(grep -i 'FSC\|corr\|hand' $OUT/fsc_$e.txt | tr '\n' ' ')"
    LOAD="--load $OUT"
done
