#!/usr/bin/env bash
# What the extrapolation signal costs on the Simd backend: `mld bench` (2,592 atoms, 1 thread) of the agent default, the
# conservative default and the accurate preset, each as fitted (training ranges recorded: the signal is computed) and the
# same file with the ranges removed (no signal), alternated A B A B so both see the same load. Compares CPU ns per
# atom-step of the force evaluation (wall time is noise on a shared machine).
# Writes integration/extrapolation/signal-cost-<date>-<commit>.{json,md}.
# Usage: integration/extrapolation/signal-cost.sh [--seconds S] [--rounds R]   (a few minutes)
set -euo pipefail
cd "$(dirname "$0")/../.."
. integration/common.sh
seconds=2; rounds=2
parse_options signal-cost.sh "seconds rounds" "$@"
bench_setup integration/extrapolation/signal-cost
"${mld[@]}" fit "$data" --mode agent -o "$work/agent.json" > /dev/null 2>&1
"${mld[@]}" fit "$data" --mode conservative -o "$work/conservative.json" > /dev/null 2>&1
"${mld[@]}" fit "$data" --preset accurate -o "$work/accurate.json" > /dev/null 2>&1
for m in agent conservative accurate; do
  /usr/bin/python3 - "$work/$m.json" "$work/$m-nosignal.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["parameters"].values():
    p.pop("range")
json.dump(d, open(sys.argv[2], "w"))
PY
done
for r in $(seq 1 "$rounds"); do
  for m in agent conservative accurate; do
    for v in "$m" "$m-nosignal"; do
      echo "signal-cost.sh: round $r $v (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
      "${mld[@]}" bench --model "$work/$v.json" --replicas 3 --threads 1 --seconds "$seconds" --json 2> "$work/$v-$r.err" > "$work/$v-$r.json" \
        || { echo "signal-cost.sh: mld bench failed for $v:" >&2; tail -5 "$work/$v-$r.err" >&2; exit 1; }
    done
  done
done
/usr/bin/python3 - "$work" "$base" "$commit" "$stamp" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys
work, base, commit, stamp, rounds, load = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
def cpu(path):
    d = json.load(open(path))
    row = next(x for x in d["forceEval"] if x["forceField"] == "learned")
    return row["cpuNsPerAtomStep"], row["backend"], row["vectorBits"]
rows = []
for m in ["agent", "conservative", "accurate"]:
    with_signal = [cpu(f"{work}/{m}-{r}.json") for r in range(1, rounds + 1)]
    without = [cpu(f"{work}/{m}-nosignal-{r}.json") for r in range(1, rounds + 1)]
    a = min(x[0] for x in with_signal); b = min(x[0] for x in without)
    rows.append({"model": m, "backend": with_signal[0][1], "vectorBits": with_signal[0][2],
                 "cpuNsPerAtomStepWithSignal": [x[0] for x in with_signal], "cpuNsPerAtomStepWithout": [x[0] for x in without],
                 "ratioOfBest": a / b})
json.dump({"date": stamp, "commit": commit, "load": load, "atoms": 2592, "threads": 1, "rows": rows}, open(base + ".json", "w"), indent=2)
with open(base + ".md", "w") as f:
    f.write(f"# Cost of the extrapolation signal ({stamp}, {commit}, load {load})\n\n`mld bench --replicas 3 --threads 1`, force evaluation, CPU ns per atom-step (each round), best with / best without.\n\n")
    f.write("| model | backend | with signal | without | ratio |\n|---|---|---|---|---|\n")
    for r in rows:
        f.write(f"| {r['model']} | {r['backend']} ({r['vectorBits']}-bit) | {', '.join(f'{x:.0f}' for x in r['cpuNsPerAtomStepWithSignal'])} | "
                f"{', '.join(f'{x:.0f}' for x in r['cpuNsPerAtomStepWithout'])} | {r['ratioOfBest']:.3f} |\n")
print(open(base + ".md").read())
PY
