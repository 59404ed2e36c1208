#!/usr/bin/env bash
# Before/after of the fast kernel per instruction set, in CPU time, interleaved (for a loaded machine; isa.sh is the
# quiet-machine table). Each cell: task-clock of `probe model FILE 3 -400 1 traj` minus that of -100 calls, over 300
# calls x 2,592 atoms = CPU ns per atom-step along the bench trajectory (list rebuilds included). Cells run round-robin
# (every model x setting x build once per repeat), medians reported.
# Usage: integration/bench/isa-ab.sh BEFORE_DIR AFTER_DIR [repeats] [models] [settings]
#   BEFORE_DIR/AFTER_DIR: copies of src/MolecularLearning.Benchmarks/bin/Release/net10.0 (copy them out of the tree first)
#   models: model files' stems in $MODELS (default /tmp/isa: agent accurate); settings: plain noavx512 noavx2
#   LABELS="before = ..., after = ..." (optional) names the two builds in the result file; the CPU is recorded too.
# Writes integration/bench/isa-ab-<date>-<commit>.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
. integration/common.sh
before=$1; after=$2; reps=${3:-5}; models=${4:-"agent accurate"}; settings=${5:-"plain noavx2"}
dir=${MODELS:-/tmp/isa}
log=$(mktemp)
tc() { # setting bin model calls -> task-clock ms
  local envs; isa_env "$1"
  env "${envs[@]}" perf stat -x, -e task-clock dotnet "$2/MolecularLearning.Benchmarks.dll" probe model "$dir/$3.json" 3 -"$4" 1 traj 2>&1 >/dev/null | grep task-clock | cut -d, -f1
}
for r in $(seq "$reps"); do for m in $models; do for s in $settings; do for b in before after; do
  bin=$before; [ $b = after ] && bin=$after
  a=$(tc "$s" "$bin" "$m" 100); c=$(tc "$s" "$bin" "$m" 400)
  echo "$m $s $b $r $(python3 -c "print(round(($c-$a)*1e6/300/2592))") $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$log" >&2
done; done; done; done
out=integration/bench/isa-ab-$(date -u +%Y-%m-%d)-$(git rev-parse --short HEAD).md
cpu=$(cpu_summary)
python3 - "$log" "$out" "$reps" "${LABELS:-}" "$cpu" <<'PY'
import sys, statistics, collections
log, out, reps, labels, cpu = sys.argv[1:]
d, loads = collections.defaultdict(list), []
for line in open(log):
    m, s, b, r, ns, load = line.split(); d[m, s, b].append(int(ns)); loads.append(float(load))
lines = [f"# Fast kernel before/after by instruction set (interleaved, CPU time; {reps} repeats, load {min(loads):.1f}-{max(loads):.1f})", "",
         "`integration/bench/isa-ab.sh`: CPU ns per atom-step, (task-clock of 400 - 100 probe calls) / 300 / 2,592 atoms, median [all repeats].",
         f"CPU: {cpu}." + (f" Builds: {labels}." if labels else ""), "",
         "| model | setting | before | after | after/before |", "|---|---|---|---|---|"]
for (m, s) in sorted({(m, s) for m, s, _ in d}):
    b, a = d[m, s, "before"], d[m, s, "after"]
    lines.append(f"| {m} | {s} | {statistics.median(b):,.0f} {b} | {statistics.median(a):,.0f} {a} | {statistics.median(a)/statistics.median(b):.2f} |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
rm -f "$log"
