#!/bin/bash
# Benchmark: `cryogen backproject` against `relion_reconstruct --ctf` on the same simulated stacks.
#
# For each size (D, N): a ground-truth volume (the built-in phantom, via bench_simulate_stack),
# particles from `cryogen simulate` (SNR 0.1, CTF with defocus 1-2.5 um, shifts sd 2 px), then
#   relion_reconstruct --ctf                         (one map, RELION's default single thread)
#   cryogen backproject -j 1 --no-half-maps          (one map: like for like)
#   cryogen backproject -j 1                         (default: map + two half maps + FSC)
#   cryogen backproject -j 2                         (default, two threads, OMP_WAIT_POLICY=passive: on a
#                                                     loaded machine spinning OpenMP threads waste CPU)
# measuring CPU time (user + sys) and wall time with /usr/bin/time, and the FSC of each map
# against the ground truth (per shell). Everything runs in the same invocation, one after the
# other. Results: bench/out/results.tsv and a summary on stdout.
#
# usage: bench/bench_backproject.sh [BUILD_DIR] [SIZES]     SIZES default "64:10000 128:5000 64:2000 128:2000"
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
SIZES=${2:-"64:10000 128:5000 64:2000 128:2000"}
CG=$BUILD/cryogen
GEN=$BUILD/bench_simulate_stack
OUT=$ROOT/bench/out/backproject
command -v relion_reconstruct > /dev/null || { echo "relion_reconstruct not found"; exit 1; }
[ -x "$CG" ] && [ -x "$GEN" ] || { echo "build first: cmake --build $BUILD"; exit 1; }
mkdir -p "$OUT"
RES=$OUT/results.tsv
echo -e "D\tN\ttool\tcpu_s\twall_s\tmaxrss_MB\tfsc_area_vs_truth\tres0143_vs_truth_A" > "$RES"
echo "machine: $(nproc) cores, $(uname -r); load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$CG" version

timed() { # timed LABEL LOGFILE cmd...: appends "cpu wall rss" to LABEL.time
  local label=$1 log=$2
  shift 2
  /usr/bin/time -o "$label.time" -f "%U %S %e %M" "$@" > "$log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] || { echo "FAILED ($rc): $*"; tail -5 "$log"; }
  return $rc
}

for size in $SIZES; do
  D=${size%%:*}
  N=${size##*:}
  dir=$OUT/d${D}_n${N}
  rm -rf "$dir" && mkdir -p "$dir"
  px=$(awk -v d="$D" 'BEGIN { printf "%.4f", 128.0 / d }')
  "$GEN" "$dir/truth_gen" "$D" 1 inf 1 > /dev/null && mv "$dir/truth_gen/truth.mrc" "$dir/truth.mrc" && rm -rf "$dir/truth_gen"
  shift_A=$(awk -v p="$px" 'BEGIN { printf "%.4f", 2 * p }')
  "$CG" simulate --volume "$dir/truth.mrc" --n "$N" --out "$dir/sim" --snr 0.1 --shift-A "$shift_A" \
    --defocus-A 10000:25000 --seed 11 --no-clean -q > "$dir/simulate.log" 2>&1 || { echo "simulate failed"; cat "$dir/simulate.log"; exit 1; }
  cd "$dir/sim" || exit 1
  timed relion relion.log relion_reconstruct --i particles.star --o relion.mrc --ctf
  timed cg1 cg1.log "$CG" backproject particles.star --out cg_one.mrc -j 1 --no-half-maps -q
  timed cg3 cg3.log "$CG" backproject particles.star --out cg_j1.mrc -j 1 -q
  OMP_WAIT_POLICY=passive timed cg3j2 cg3j2.log "$CG" backproject particles.star --out cg_j2.mrc -j 2 -q
  for m in relion cg_one cg_j1 cg_j2; do "$CG" fsc ../truth.mrc $m.mrc --json fsc_$m.json > /dev/null; done
  python3 - "$D" "$N" "$RES" <<'PY'
import json, sys
D, N, res = sys.argv[1], sys.argv[2], sys.argv[3]
def fsc(m):
    d = json.load(open("fsc_%s.json" % m))["fsc"]
    return [s["fsc"] for s in d["shells"]], d["fsc_area_cycles_per_px"], d["resolution_fsc0.143_A"]
ref, _, _ = fsc("relion")
rows = []
for tool, m, t in [("relion_reconstruct --ctf", "relion", "relion"), ("cryogen -j1 one map", "cg_one", "cg1"),
                   ("cryogen -j1 map+halves", "cg_j1", "cg3"), ("cryogen -j2 map+halves*", "cg_j2", "cg3j2")]:
    u, s, w, rss = open(t + ".time").read().split()
    f, area, r0143 = fsc(m)
    worst = min(a - b for a, b in zip(f, ref))
    rows.append((tool, float(u) + float(s), float(w), int(rss) / 1024, area, r0143, worst))
rel_cpu = rows[0][1]
print("D=%s N=%s" % (D, N))
print("  %-26s %8s %8s %8s %9s %9s %10s %12s" % ("tool", "cpu_s", "wall_s", "rss_MB", "cpu_ratio", "fsc_area", "res0.143_A", "min dFSC"))
with open(res, "a") as out:
    for tool, cpu, wall, rss, area, r0143, worst in rows:
        print("  %-26s %8.2f %8.2f %8.0f %9.2f %9.4f %10.2f %12.4f" % (tool, cpu, wall, rss, rel_cpu / cpu, area, r0143, worst))
        out.write("%s\t%s\t%s\t%.2f\t%.2f\t%.0f\t%.4f\t%.2f\n" % (D, N, tool, cpu, wall, rss, area, r0143))
PY
  cd "$ROOT" || exit 1
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "* with OMP_WAIT_POLICY=passive"
echo "min dFSC = min over shells of (FSC_tool - FSC_relion) against the ground truth; >= -0.02 is the target"
