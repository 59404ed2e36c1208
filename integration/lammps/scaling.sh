#!/usr/bin/env bash
# Two-rank scaling of `mld lammps` on the big box alone, with many alternations: perf.sh's three rounds cannot resolve
# 10 % on this VM (one 2-rank figure spread 2,200-2,950 ns/atom-step within minutes on an idle machine).
#   integration/lammps/scaling.sh [model.json]
# Without a model, fits the recommended model (the accurate preset) on samples/water32-xtb. Runs NVE of a REPLICA^3
# replica (default 10: 96,000 atoms) for STEPS (40) timed steps after 5, PAIRS (8) times: 1 rank, 2 ranks with the
# ranks rebuilding their lists together (the default) and, with ALONE=1, 2 ranks each rebuilding alone
# (MLD_LAMMPS_REBUILD=alone); the order inside a round rotates. Each speed-up is a ratio within a round. Writes
# scaling-DATE"T"HHMM"Z".json beside this script (temp file + rename) with every round and the medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
. integration/common.sh
pairs=${PAIRS:-8}
steps=${STEPS:-40}
replica=${REPLICA:-10}
mld_temp
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mld_dll=$(pwd)/src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll
model=${1:-}
if [ -z "$model" ]; then
  model="$work/model.json"
  echo "fitting the recommended model on samples/water32-xtb ..."
  mld fit samples/water32-xtb -o "$model" > "$work/fit.txt"
fi
model=$(realpath "$model")
reach=$(cd "$work" && dotnet "$mld_dll" lammps "$model" -in /dev/null | sed -n 's/.*ghosts needed to \([0-9.]*\) Å.*/\1/p')
comm=$(awk -v r="$reach" 'BEGIN {printf "%.2f", r + 2.0}')
cp integration/lammps/common.lammps integration/lammps/water96.data "$work/"
cat > "$work/in.scaling" <<'IN'
include common.lammps
velocity all create 300.0 4928459 mom yes rot yes dist gaussian
timestep 0.0005
fix integrate all nve
thermo 0
run 5
run ${steps}
IN

time_run() { # ranks rebuild -> LAMMPS's loop time, ns per atom-step, of the timed run
  local log="$work/run.log"
  (cd "$work" && MLD_LAMMPS_REBUILD=$2 mpirun -x MLD_LAMMPS_REBUILD --bind-to none -np "$1" \
      dotnet "$mld_dll" lammps "$model" -in in.scaling -var rep "$replica" -var comm "$comm" -var steps "$steps" > "$log" 2>&1) \
    || { echo "scaling.sh: mld lammps on $1 rank(s) failed; its log:" >&2; tail -20 "$log" >&2; exit 1; }
  grep "Loop time" "$log" | tail -1 | awk '{printf "%.1f", $4 / $9 / $12 * 1e9}'
}

kinds=(one together)
[ "${ALONE:-0}" = 1 ] && kinds+=(alone)
rounds=()
for k in $(seq 1 "$pairs"); do
  declare -A t=()
  n=${#kinds[@]}
  for j in $(seq 0 $((n - 1))); do
    kind=${kinds[$(((j + k) % n))]}
    case $kind in one) t[$kind]=$(time_run 1 together) ;; together) t[$kind]=$(time_run 2 together) ;; alone) t[$kind]=$(time_run 2 alone) ;; esac
  done
  echo "round $k: 1 rank ${t[one]}, 2 ranks ${t[together]}${t[alone]:+, 2 ranks alone ${t[alone]}} ns/atom-step"
  rounds+=("${t[one]} ${t[together]} ${t[alone]:-}")
  unset t
done

out="integration/lammps/scaling-$(date -u +%Y-%m-%dT%H%MZ).json"
python3 - "$model" "$(git rev-parse --short HEAD)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$replica" "$steps" "${rounds[@]}" > "$out.tmp" <<'PY'
import json, statistics, sys
model, commit, load, replica, steps = sys.argv[1:6]
rounds = []
for text in sys.argv[6:]:
    v = [float(x) for x in text.split()]
    r = {"oneRank": v[0], "twoRanks": v[1], "speedup2Ranks": round(v[0] / v[1], 3)}
    if len(v) > 2: r.update(twoRanksAlone=v[2], speedup2RanksAlone=round(v[0] / v[2], 3), togetherOverAlone=round(v[1] / v[2], 3))
    rounds.append(r)
med = lambda k: round(statistics.median(r[k] for r in rounds), 3) if k in rounds[0] else None
print(json.dumps({"model": model, "commit": commit, "loadAverageAtEnd": load, "replica": int(replica), "timedSteps": int(steps),
    "note": "LAMMPS loop time, ns per atom-step; speed-ups are ratios within a round (runs seconds apart), then the median",
    "medianSpeedup2Ranks": med("speedup2Ranks"), "medianSpeedup2RanksAlone": med("speedup2RanksAlone"),
    "medianTogetherOverAlone": med("togetherOverAlone"), "rounds": rounds}, indent=2))
PY
mv "$out.tmp" "$out"
cat "$out"
