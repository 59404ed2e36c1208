#!/usr/bin/env bash
# The learned evaluator on atoms in two orders: the replicated box replica by replica (each replica's atoms together, as
# `mld bench` builds it) and shuffled (`--atom-order shuffled`: a seeded random order, as a liquid's file after its
# molecules have diffused). `mld bench --model AGENT --replicas R --threads 1 --atom-order replica|shuffled --json` per
# cell, the agent default (order 2) fitted once on the shipped sample; with --before DIR, the same cells for a CLI built
# from an earlier commit (it must know --atom-order), run alternately with this one so both see the same load.
# Writes integration/bench/order-<date>-<commit>.json (every bench report) and .md (CPU and best-batch wall ns per
# atom-step of the force evaluation and the MD step, and the ratios).
# Usage: integration/bench/order.sh [--before DIR] [--replicas 3,10,22] [--seconds 1]   (about 4 minutes a build)
set -euo pipefail
cd "$(dirname "$0")/../.."
. integration/common.sh
before=""; replicas=3,10,22; seconds=1
parse_options order.sh "before replicas seconds" "$@"
bench_setup integration/bench/order
base=integration/bench/order-$stamp-$commit
builds=(after)
[ -n "$before" ] && builds=(before after)
"${mld[@]}" fit "$data" --mode agent --order 2 -o "$work/agent.json" > /dev/null
for order in replica shuffled; do
  for build in "${builds[@]}"; do
    cli=("${mld[@]}")
    [ "$build" = before ] && cli=(dotnet "$before/mld.dll")
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "order.sh: $build $order (load $load)" >&2
    "${cli[@]}" bench --model "$work/agent.json" --replicas "$replicas" --threads 1 --seconds "$seconds" --atom-order "$order" --json \
      > "$work/$build-$order.json"
    echo "$load" > "$work/$build-$order.load"
  done
done
/usr/bin/python3 - "$work" "$base" "$commit" "$replicas" "$seconds" "${builds[*]}" "$before" <<'PY'
import json, os, sys, datetime
work, base, commit, replicas, seconds, builds, before = sys.argv[1:]
builds = builds.split()
runs, cell = {}, {}
for b in builds:
    for o in ["replica", "shuffled"]:
        report = json.load(open(os.path.join(work, f"{b}-{o}.json")))
        load = open(os.path.join(work, f"{b}-{o}.load")).read().split()
        runs[f"{b}/{o}"] = {"loadAverage": load, "report": report}
        for r in report["forceEval"]:
            if r["forceField"] == "learned" and r["threads"] == 1:
                cell[b, o, r["atoms"], "eval"] = (r["cpuNsPerAtomStep"], r["nsPerAtomStep"])
        for r in report["md"]:
            if r["forceField"] == "learned" and r["threads"] == 1:
                cell[b, o, r["atoms"], "md"] = (r["cpuNsPerAtomStep"], r["nsPerAtomStep"])
atoms = sorted({k[2] for k in cell})
out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "commit": commit,
       "before": before or None,
       "command": f"mld bench --model AGENT --replicas {replicas} --threads 1 --seconds {seconds} --atom-order replica|shuffled --json",
       "runs": runs}
tmp = base + ".json.tmp"
json.dump(out, open(tmp, "w"), indent=1)
os.replace(tmp, base + ".json")
def f(v): return "—" if v is None else f"{v:,.0f}"
names = {"before": f"before ({before})", "after": f"this commit ({commit})"}
lines = [f"# The learned evaluator by atom order ({out['date']}, commit {commit})", "",
         f"`integration/bench/order.sh`: `{out['command']}`, agent default (order 2) fitted on the shipped sample, one process per cell,"
         " the builds alternating per order. ns per atom-step, CPU (best-batch wall in brackets), of the force evaluation and of the MD step;"
         " shuffled / replica is the cost of an atom order unrelated to space.", "",
         "| build | atoms | eval, replica | eval, shuffled | shuffled / replica | MD, replica | MD, shuffled | shuffled / replica |",
         "|---|---|---|---|---|---|---|---|"]
for b in builds:
    for n in atoms:
        er, es = cell.get((b, "replica", n, "eval")), cell.get((b, "shuffled", n, "eval"))
        mr, ms = cell.get((b, "replica", n, "md")), cell.get((b, "shuffled", n, "md"))
        ratio = f"{es[0] / er[0]:.2f}" if er and es else "—"
        mratio = f"{ms[0] / mr[0]:.2f}" if mr and ms else "—"
        lines.append(f"| {names[b]} | {n:,} | {f(er and er[0])} ({f(er and er[1])}) | {f(es and es[0])} ({f(es and es[1])}) | {ratio}"
                     f" | {f(mr and mr[0])} ({f(mr and mr[1])}) | {f(ms and ms[0])} ({f(ms and ms[1])}) | {mratio} |")
if len(builds) == 2:
    lines += ["", "This commit / before, force evaluation CPU:", "", "| atoms | replica | shuffled |", "|---|---|---|"]
    for n in atoms:
        cols = []
        for o in ["replica", "shuffled"]:
            a, b = cell.get(("after", o, n, "eval")), cell.get(("before", o, n, "eval"))
            cols.append(f"{a[0] / b[0]:.2f}" if a and b else "—")
        lines.append(f"| {n:,} | {cols[0]} | {cols[1]} |")
lines += ["", "Loads (1 min): " + ", ".join(f"{k} {v['loadAverage'][0]}" for k, v in runs.items())]
open(base + ".md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
