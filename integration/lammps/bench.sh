#!/usr/bin/env bash
# Benchmark: a conservative radial model exported to LAMMPS against mld's in-process evaluation.
#   integration/lammps/bench.sh [model.json]
# Without a model, fits one on samples/water32-xtb (order 2, conservative, radial basis). Reports ns per
# atom-step for mld (in-process, 1 thread and all cores) and LAMMPS (NVE steps, 1 and 2 MPI ranks) on the
# 96-atom box and on a 10x10x10 replica (96,000 atoms): LAMMPS strong scaling from 1 to 2 ranks.
# Env: STEPS_SMALL (default 2000), STEPS_BIG (20), REPLICA (10x10x10), WORK (a temp dir).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=${WORK:-$(mktemp -d /tmp/mld-lammps-bench.XXXXXX)}
mkdir -p "$work"
steps_small=${STEPS_SMALL:-2000}
steps_big=${STEPS_BIG:-20}
replica=${REPLICA:-10x10x10}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

dotnet build src/MolecularLearning.Cli -c Release -nologo -v q >/dev/null
mld() { dotnet "$root/src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll" "$@"; }

model=${1:-}
if [ -z "$model" ]; then
  model="$work/model.json"
  echo "fitting a conservative radial model on samples/water32-xtb ..."
  mld fit samples/water32-xtb -o "$model" --mode conservative --order 2 --basis gauss:8:0.8:5.5+inv:1:2 --json > "$work/fit.json"
fi

echo "exporting (96 atoms, and the $replica replica) ..."
mld export-lammps "$model" -o "$work/small" --data samples/water32-xtb --time 200 --json > "$work/small.json"
mld export-lammps "$model" -o "$work/big" --data samples/water32-xtb --replicate "$replica" --time 5 --json > "$work/big.json"

run_lammps() { # dir ranks steps -> prints ns/atom-step
  local dir=$1 ranks=$2 steps=$3
  cat > "$dir/in.bench" <<IN
units metal
atom_style atomic
boundary p p p
read_data model.data
include model.lammps
neighbor 1.0 bin
neigh_modify every 1 delay 0 check yes
velocity all create 300.0 4928459 mom yes rot yes dist gaussian
timestep 0.0005
fix integrate all nve
thermo 0
run 2
run $steps
IN
  (cd "$dir" && mpirun --allow-run-as-root -np "$ranks" lmp -in in.bench -log "bench-$ranks.log" -screen none -nocite)
  # "Loop time of T on P procs for S steps with N atoms" of the timed (second) run, then its "C% CPU use" line:
  # wall ns/atom-step and the same scaled by the CPU share LAMMPS got (the cost on an otherwise idle machine)
  local wall cpu
  wall=$(grep "Loop time" "$dir/bench-$ranks.log" | tail -1 | awk '{printf "%.1f", $4 / $9 / $12 * 1e9}')
  cpu=$(grep "CPU use with" "$dir/bench-$ranks.log" | tail -1 | awk '{sub("%", "", $1); print $1}')
  echo "$wall $(awk -v w="$wall" -v c="$cpu" 'BEGIN {printf "%.1f", w * c / 100}')"
}

echo "running LAMMPS ..."
l_small_1=$(run_lammps "$work/small" 1 "$steps_small")
l_small_2=$(run_lammps "$work/small" 2 "$steps_small")
l_big_1=$(run_lammps "$work/big" 1 "$steps_big")
l_big_2=$(run_lammps "$work/big" 2 "$steps_big")

/usr/bin/python3 - "$work" $l_small_1 $l_small_2 $l_big_1 $l_big_2 <<'PY'
import json, sys
work = sys.argv[1]
s1, s1c, s2, s2c, b1, b1c, b2, b2c = map(float, sys.argv[2:])
small, big = json.load(open(f"{work}/small.json")), json.load(open(f"{work}/big.json"))
def mld(d, threads, key="nsPerAtomStep"):
    return next(t[key] for t in d["mldTiming"] if t["threads"] == threads)
threads = max(t["threads"] for t in small["mldTiming"])
n_small, n_big = small["mldTiming"][0]["atoms"], big["mldTiming"][0]["atoms"]
layers = len(small["eam"]["files"])
print(f"\nmodel: order {small['order']}, cutoff {small['cutoff']} Å; LAMMPS: table linear {small['pairTable']['points']} + {layers} eam/fs layers")
print(f"tabulation error (max |dF| / rms F): {small['budget']['total']:.2e}\n")
print("ns per atom-step, wall (CPU-share corrected in brackets); mld: force evaluation, LAMMPS: whole NVE steps\n")
print("| box | atoms | mld 1 thread | mld %d threads | LAMMPS 1 rank | LAMMPS 2 ranks | LAMMPS speed-up 1->2 (corrected) |" % threads)
print("|---|---|---|---|---|---|---|")
for name, d, n, l1, l1c, l2, l2c in [("water32", small, n_small, s1, s1c, s2, s2c), ("replica", big, n_big, b1, b1c, b2, b2c)]:
    print(f"| {name} | {n} | {mld(d,1)} ({mld(d,1,'cpuNsPerAtomStep')}) | {mld(d,threads)} | {l1} ({l1c}) | {l2} ({l2c}) | {l1/l2:.2f} ({l1c/l2c:.2f}) |")
json.dump({"small": {"atoms": n_small, "mld1": mld(small,1), "mld1cpu": mld(small,1,"cpuNsPerAtomStep"), "mldAll": mld(small,threads),
                     "lammps1": s1, "lammps1cpu": s1c, "lammps2": s2, "lammps2cpu": s2c},
           "big": {"atoms": n_big, "mld1": mld(big,1), "mld1cpu": mld(big,1,"cpuNsPerAtomStep"), "mldAll": mld(big,threads),
                   "lammps1": b1, "lammps1cpu": b1c, "lammps2": b2, "lammps2cpu": b2c},
           "threads": threads, "layers": layers}, open(f"{work}/bench.json", "w"), indent=1)
print(f"results in {work}/bench.json")
PY
