#!/usr/bin/env bash
# Coupling overhead and MPI scaling of `mld lammps` (the full learned model inside LAMMPS via fix external).
#   integration/lammps/perf.sh [model.json]
# Without a model, fits the recommended model (the accurate preset) on samples/water32-xtb. Measures, in one run:
#   - in-process force evaluation (`mld bench --model`, 1 thread), ns per atom-step (median);
#   - `mld lammps` NVE steps on 1 and 2 MPI ranks (LAMMPS's loop time: forces + integration + communication);
# on the 96-atom box and on a REPLICA^3 replica (default 10: 96,000 atoms). Writes perf-DATE"T"HHMM"Z".json beside this
# script (temp file + rename) and prints the ratios: overhead = LAMMPS 1 rank / in-process (also with LAMMPS's time
# scaled by its CPU share, for a loaded machine), scaling = 1 rank / 2 ranks.
# Env: STEPS_SMALL (default 4000), WARM_SMALL (2000), STEPS_BIG (20), REPLICA (10), WORK (a temp dir), EXTRA (more mld lammps options, e.g.
# --ghost-losses). Load average and each run's peak resident memory per rank are recorded.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=${WORK:-$(mktemp -d /tmp/mld-lammps-perf.XXXXXX)}
mkdir -p "$work"
steps_small=${STEPS_SMALL:-4000}
warm_small=${WARM_SMALL:-2000}
steps_big=${STEPS_BIG:-20}
replica=${REPLICA:-10}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

dotnet build src/MolecularLearning.Cli -c Release -nologo -v q >/dev/null
mld_dll="$root/src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll"
mld() { dotnet "$mld_dll" "$@"; }

model=${1:-}
if [ -z "$model" ]; then
  model="$work/model.json"
  echo "fitting the recommended model on samples/water32-xtb ..."
  mld fit samples/water32-xtb -o "$model" --json > "$work/fit.json"
fi
model=$(realpath "$model")

# The ghost reach the model needs (mld lammps prints it first), plus LAMMPS's 2 Å metal skin.
export EXTRA=${EXTRA:-}
reach=$(cd "$work" && mld lammps "$model" -in /dev/null $EXTRA | sed -n 's/.*ghosts needed to \([0-9.]*\) Å.*/\1/p')
comm=$(awk -v r="$reach" 'BEGIN {printf "%.2f", r + 2.0}')
echo "ghost reach $reach Å: comm_modify cutoff $comm"

echo "in-process (mld bench, 1 thread) ..."
mld bench --model "$model" --replicas "1,$replica" --threads 1 --seconds 2 --json > "$work/bench.json"

cp integration/lammps/common.lammps integration/lammps/water96.data "$work/"
# NVE from 300 K; the first WARM steps warm up (JIT tiering, first neighbour lists) and are not timed.
cat > "$work/in.perf" <<'IN'
variable steps index 100
variable warm index 20
include common.lammps
velocity all create 300.0 4928459 mom yes rot yes dist gaussian
timestep 0.0005
fix integrate all nve
thermo 0
run ${warm}
run ${steps}
IN
run_lammps() { # ranks rep steps warm -> "wall_ns cpu_percent atoms peak_rss_mib"
  local ranks=$1 rep=$2 steps=$3 warm=$4 log="$work/lammps-$1-$2.log"
  rm -f "$work"/rss-*.txt
  # --bind-to none: bound to one core, a rank shares it with the .NET runtime's threads and, on a shared machine,
  # with everything else scheduled there (measured 3x slower at 96 atoms under load 30).
  # GNU time writes each rank's peak resident set (KiB) to its own file.
  (cd "$work" && mpirun --bind-to none -np "$ranks" sh -c '/usr/bin/time -f %M -o rss-$OMPI_COMM_WORLD_RANK.txt "$@"' rank \
      dotnet "$mld_dll" lammps "$model" -in in.perf $EXTRA -var rep "$rep" -var comm "$comm" -var steps "$steps" -var warm "$warm" > "$log" 2>&1)
  # "Loop time of T on P procs for S steps with N atoms", then "C% CPU use with ..."
  local loop cpu
  loop=$(grep "Loop time" "$log" | tail -1 | awk '{printf "%.1f %d", $4 / $9 / $12 * 1e9, $12}')
  cpu=$(grep "CPU use with" "$log" | tail -1 | awk '{sub("%", "", $1); print $1}')
  local rss
  rss=$(cat "$work"/rss-*.txt | sort -n | tail -1 | awk '{printf "%.0f", $1 / 1024}')
  echo "${loop%% *} $cpu ${loop##* } $rss"
}

echo "mld lammps ..."
# The small box warms up for WARM_SMALL steps and is timed over STEPS_SMALL: a 96-atom step takes ~0.2 ms, so the old
# 500 + 500 steps were a tenth of a second each, short against the tiered JIT's settling and the machine's noise.
# The big one warms up for 5 steps and is timed over 20 (was 3 and 5: a steadier figure, ~10 s a run).
s1=$(run_lammps 1 1 "$steps_small" "$warm_small"); s2=$(run_lammps 2 1 "$steps_small" "$warm_small")
b1=$(run_lammps 1 "$replica" "$steps_big" 5); b2=$(run_lammps 2 "$replica" "$steps_big" 5)
load=$(cut -d' ' -f1-3 /proc/loadavg)

out="integration/lammps/perf-$(date -u +%Y-%m-%dT%H%MZ).json"
python3 - "$work/bench.json" "$model" "$load" "$s1" "$s2" "$b1" "$b2" > "$out.tmp" <<'PY'
import json, os, sys
bench, model, load = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
def rows(node):
    if isinstance(node, dict):
        if isinstance(node.get("medianNsPerAtomStep"), (int, float)) and node.get("threads") == 1:
            yield node
        for v in node.values(): yield from rows(v)
    elif isinstance(node, list):
        for v in node: yield from rows(v)
inproc = {}
for r in rows(bench):
    if r.get("forceField") == "learned":
        inproc.setdefault(r["atoms"], r["medianNsPerAtomStep"])
def lammps(text):
    wall, cpu, atoms, rss = text.split()
    return {"atoms": int(atoms), "nsPerAtomStep": float(wall), "cpuPercent": float(cpu), "peakRssMiB": int(rss)}
s1, s2, b1, b2 = (lammps(t) for t in sys.argv[4:8])
result = {"model": model, "loadAverage": load, "extraOptions": os.environ.get("EXTRA", ""), "rows": []}
for one, two in ((s1, s2), (b1, b2)):
    n = one["atoms"]
    base = inproc.get(n)
    result["rows"].append({
        "atoms": n, "inProcessNsPerAtomStep": base, "lammps1RankNsPerAtomStep": one["nsPerAtomStep"],
        "lammps2RanksNsPerAtomStep": two["nsPerAtomStep"], "cpuPercent1": one["cpuPercent"], "cpuPercent2": two["cpuPercent"],
        "peakRssMiBPerRank1": one["peakRssMiB"], "peakRssMiBPerRank2": two["peakRssMiB"],
        "overhead1Rank": round(one["nsPerAtomStep"] / base, 3) if base else None,
        # LAMMPS's wall time times its "% CPU use": on a loaded machine the wall time holds the waits for a core
        # (and Open MPI's yields when oversubscribed); mld bench's median is of short windows, nearer CPU time.
        "lammps1RankCpuNsPerAtomStep": round(one["nsPerAtomStep"] * one["cpuPercent"] / 100, 1),
        "overhead1RankCpu": round(one["nsPerAtomStep"] * one["cpuPercent"] / 100 / base, 3) if base else None,
        "speedup2Ranks": round(one["nsPerAtomStep"] / two["nsPerAtomStep"], 3)})
print(json.dumps(result, indent=2))
PY
mv "$out.tmp" "$out"
cat "$out"
