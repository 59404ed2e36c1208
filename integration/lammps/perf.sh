#!/usr/bin/env bash
# Coupling overhead and MPI scaling of `mld lammps` (the full learned model inside LAMMPS via fix external).
#   integration/lammps/perf.sh [model.json]
# Without a model, fits the recommended model (the accurate preset) on samples/water32-xtb. Measures, in one run:
#   - in-process force evaluation (`mld bench --model`, 1 thread), ns per atom-step (median);
#   - `mld lammps` NVE steps on 1 and 2 MPI ranks (LAMMPS's loop time: forces + integration + communication);
# on the 96-atom box and on a REPLICA^3 replica (default 10: 96,000 atoms). Writes perf-DATE"T"HHMM"Z".json beside this
# script (temp file + rename) and prints the ratios: overhead = LAMMPS 1 rank / in-process (also with LAMMPS's time
# scaled by its CPU share, for a loaded machine), scaling = 1 rank / 2 ranks.
# Env: STEPS_SMALL (default 4000), WARM_SMALL (2000), STEPS_BIG (40), REPLICA (10), WORK (a temp dir), EXTRA (more mld lammps options, e.g.
# --ghost-losses), REPEAT (3: the whole sequence — bench, 1 rank, 2 ranks — is run REPEAT times, interleaved, and each
# figure is the median over the repeats; this VM's speed drifts by a third between minutes). Load average and each
# run's peak resident memory per rank are recorded, and so is where each rank's time went in the timed run of the big box
# (MLD_LAMMPS_TIMING=1: the callback's parts in thread CPU / wall ms per step, LAMMPS between callbacks, list builds).
# ALONE=1 also times the big box on 2 ranks with each rank rebuilding its lists alone (MLD_LAMMPS_REBUILD=alone, the
# way before the ranks agreed on rebuilds), in the same repeats, alternating which of the two 2-rank runs goes first.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=${WORK:-$(mktemp -d /tmp/mld-lammps-perf.XXXXXX)}
mkdir -p "$work"
steps_small=${STEPS_SMALL:-4000}
warm_small=${WARM_SMALL:-2000}
steps_big=${STEPS_BIG:-40}
repeat=${REPEAT:-3}
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
run_lammps() { # ranks rep steps warm [rebuild] -> "wall_ns cpu_percent atoms peak_rss_mib"
  local ranks=$1 rep=$2 steps=$3 warm=$4 rebuild=${5:-together} log="$work/lammps-$1-$2${5:+-$5}.log"
  rm -f "$work"/rss-*.txt
  # --bind-to none: bound to one core, a rank shares it with the .NET runtime's threads and, on a shared machine,
  # with everything else scheduled there (measured 3x slower at 96 atoms under load 30).
  # GNU time writes each rank's peak resident set (KiB) to its own file.
  (cd "$work" && MLD_LAMMPS_TIMING=1 MLD_LAMMPS_REBUILD=$rebuild mpirun -x MLD_LAMMPS_TIMING -x MLD_LAMMPS_REBUILD --bind-to none -np "$ranks" sh -c '/usr/bin/time -f %M -o rss-$OMPI_COMM_WORLD_RANK.txt "$@"' rank \
      dotnet "$mld_dll" lammps "$model" -in in.perf $EXTRA -var rep "$rep" -var comm "$comm" -var steps "$steps" -var warm "$warm" > "$log" 2>&1)
  # "Loop time of T on P procs for S steps with N atoms", then "C% CPU use with ..."
  local loop cpu
  loop=$(grep "Loop time" "$log" | tail -1 | awk '{printf "%.1f %d", $4 / $9 / $12 * 1e9, $12}')
  cpu=$(grep "CPU use with" "$log" | tail -1 | awk '{sub("%", "", $1); print $1}')
  local rss
  rss=$(cat "$work"/rss-*.txt | sort -n | tail -1 | awk '{printf "%.0f", $1 / 1024}')
  echo "${loop%% *} $cpu ${loop##* } $rss"
}

samples=()
for k in $(seq 1 "$repeat"); do
echo "repeat $k of $repeat: in-process (mld bench, 1 thread), then mld lammps ..."
mld bench --model "$model" --replicas "1,$replica" --threads 1 --seconds 2 --json > "$work/bench-$k.json"
# The small box warms up for WARM_SMALL steps and is timed over STEPS_SMALL: a 96-atom step takes ~0.2 ms, so the old
# 500 + 500 steps were a tenth of a second each, short against the tiered JIT's settling and the machine's noise.
# The big one warms up for 5 steps and is timed over 40 (was 3 and 5, then 20: rounds of 20 steps gave 2-rank speed-ups of
# 1.30 to 2.35 on an idle machine, and a list build costs about a step, so a short window counts builds, not steps).
s1=$(run_lammps 1 1 "$steps_small" "$warm_small"); s2=$(run_lammps 2 1 "$steps_small" "$warm_small")
b1=$(run_lammps 1 "$replica" "$steps_big" 5)
if [ "${ALONE:-0}" = 1 ] && [ $((k % 2)) = 0 ]; then ba=$(run_lammps 2 "$replica" "$steps_big" 5 alone); fi
b2=$(run_lammps 2 "$replica" "$steps_big" 5)
if [ "${ALONE:-0}" = 1 ] && [ $((k % 2)) = 1 ]; then ba=$(run_lammps 2 "$replica" "$steps_big" 5 alone); fi
samples+=("$work/bench-$k.json|$s1|$s2|$b1|$b2${ba:+|$ba}")
# The timed run's breakdown per rank (the second run command, line 9 of in.perf).
grep -h "timing: in.perf:9" "$work/lammps-1-$replica.log" "$work/lammps-2-$replica.log" > "$work/timing-$k.txt" || true
if [ -n "${ba:-}" ]; then grep -h "timing: in.perf:9" "$work/lammps-2-$replica-alone.log" | sed 's/^/alone: /' >> "$work/timing-$k.txt" || true; fi
done
load=$(cut -d' ' -f1-3 /proc/loadavg)

out="integration/lammps/perf-$(date -u +%Y-%m-%dT%H%MZ).json"
WORK_DIR="$work" python3 - "$model" "$load" "${samples[@]}" > "$out.tmp" <<'PY'
import json, os, statistics, sys
model, load = sys.argv[1], sys.argv[2]
def rows(node):
    if isinstance(node, dict):
        if isinstance(node.get("medianNsPerAtomStep"), (int, float)) and node.get("threads") == 1:
            yield node
        for v in node.values(): yield from rows(v)
    elif isinstance(node, list):
        for v in node: yield from rows(v)
def lammps(text):
    wall, cpu, atoms, rss = text.split()
    return {"atoms": int(atoms), "nsPerAtomStep": float(wall), "cpuPercent": float(cpu), "peakRssMiB": int(rss)}
# Per repeat: the in-process figure per size, and the four LAMMPS runs (small 1 and 2 ranks, big 1 and 2 ranks).
repeats = []
for sample in sys.argv[3:]:
    bench_path, *runs = sample.split("|")
    inproc, inproc_cpu = {}, {}
    for r in rows(json.load(open(bench_path))):
        if r.get("forceField") == "learned":
            inproc.setdefault(r["atoms"], r["medianNsPerAtomStep"])
            inproc_cpu.setdefault(r["atoms"], r.get("cpuNsPerAtomStep"))
    s1, s2, b1, b2 = (lammps(t) for t in runs[:4])
    alone = lammps(runs[4]) if len(runs) > 4 else None
    repeats.append((inproc, inproc_cpu, ((s1, s2), (b1, b2)), alone))
median = lambda xs: round(statistics.median(xs), 3)
timing = [line.strip() for k in range(1, len(sys.argv) - 2) for line in open(os.path.join(os.environ["WORK_DIR"], f"timing-{k}.txt"))] \
    if os.environ.get("WORK_DIR") else []
result = {"model": model, "loadAverage": load, "timingBigBox": timing, "extraOptions": os.environ.get("EXTRA", ""), "repeats": len(repeats),
          "note": "each figure: the median over the repeats; ratios are taken within a repeat (runs minutes apart), then the median", "rows": []}
for size in range(2):
    per = []
    for inproc, inproc_cpu, pairs, _ in repeats:
        one, two = pairs[size]
        base, base_cpu = inproc.get(one["atoms"]), inproc_cpu.get(one["atoms"])
        per.append({"inProcess": base, "inProcessCpu": base_cpu, "one": one, "two": two,
                    # Against the bench's CPU time per call over all its calls: at ~1e5 atoms a call takes ~0.4 s, so the
                    # bench's batches hold one call each and their median is a step without a list build (one in ~7 is
                    # one), while LAMMPS's loop time counts every build. The mean over all calls is the like-for-like figure.
                    "overheadCpuMean": one["nsPerAtomStep"] * one["cpuPercent"] / 100 / base_cpu if base_cpu else None,
                    "overhead": one["nsPerAtomStep"] / base if base else None,
                    # LAMMPS's wall time times its "% CPU use": on a loaded machine the wall time holds the waits for a core
                    # (and Open MPI's yields when oversubscribed); mld bench's median is of short windows, nearer CPU time.
                    "overheadCpu": one["nsPerAtomStep"] * one["cpuPercent"] / 100 / base if base else None,
                    "speedup": one["nsPerAtomStep"] / two["nsPerAtomStep"]})
    have = [p for p in per if p["inProcess"]]
    result["rows"].append({
        "atoms": per[0]["one"]["atoms"],
        "inProcessNsPerAtomStep": median([p["inProcess"] for p in have]) if have else None,
        "lammps1RankNsPerAtomStep": median([p["one"]["nsPerAtomStep"] for p in per]),
        "lammps2RanksNsPerAtomStep": median([p["two"]["nsPerAtomStep"] for p in per]),
        "cpuPercent1": median([p["one"]["cpuPercent"] for p in per]), "cpuPercent2": median([p["two"]["cpuPercent"] for p in per]),
        "peakRssMiBPerRank1": max(p["one"]["peakRssMiB"] for p in per), "peakRssMiBPerRank2": max(p["two"]["peakRssMiB"] for p in per),
        "overhead1Rank": median([p["overhead"] for p in have]) if have else None,
        "overhead1RankCpu": median([p["overheadCpu"] for p in have]) if have else None,
        "overhead1RankCpuMean": median([p["overheadCpuMean"] for p in have if p["overheadCpuMean"]]) if have else None,
        "inProcessCpuNsPerAtomStep": median([p["inProcessCpu"] for p in have if p["inProcessCpu"]]) if have else None,
        "speedup2Ranks": median([p["speedup"] for p in per]),
        "samples": [{"inProcess": p["inProcess"], "lammps1Rank": p["one"]["nsPerAtomStep"], "lammps2Ranks": p["two"]["nsPerAtomStep"],
                     "overhead1Rank": round(p["overhead"], 3) if p["overhead"] else None,
                     "inProcessCpu": p["inProcessCpu"], "overhead1RankCpuMean": round(p["overheadCpuMean"], 3) if p["overheadCpuMean"] else None,
                     "speedup2Ranks": round(p["speedup"], 3)} for p in per]})
alone = [(pairs[1][0], pairs[1][1], a) for _, _, pairs, a in repeats if a]
if alone:
    result["rows"][1]["rebuildAlone"] = {
        "note": "2 ranks with each rank rebuilding its lists alone (MLD_LAMMPS_REBUILD=alone), in the same repeats",
        "lammps2RanksNsPerAtomStep": median([a["nsPerAtomStep"] for _, _, a in alone]),
        "speedup2Ranks": median([one["nsPerAtomStep"] / a["nsPerAtomStep"] for one, _, a in alone]),
        "togetherOverAlone": median([a["nsPerAtomStep"] / two["nsPerAtomStep"] for _, two, a in alone]),
        "samples": [{"lammps2RanksAlone": a["nsPerAtomStep"], "speedup2RanksAlone": round(one["nsPerAtomStep"] / a["nsPerAtomStep"], 3),
                     "speedup2Ranks": round(one["nsPerAtomStep"] / two["nsPerAtomStep"], 3)} for one, two, a in alone]}
print(json.dumps(result, indent=2))
PY
mv "$out.tmp" "$out"
cat "$out"
