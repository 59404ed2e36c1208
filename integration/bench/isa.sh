#!/usr/bin/env bash
# The fast kernel at each instruction set: `mld bench` (2,592 atoms, 1 thread) of the agent and conservative defaults
# and the accurate preset, each run plainly (the widest vectors the CPU has), with DOTNET_EnableAVX512=0 (what an
# AVX2-only CPU gets: 256 bits) and with DOTNET_EnableAVX2=0 (128 bits, x86 SSE standing in for ARM NEON), the
# settings back to back per model so they see the same load; and, with the CPU's own instruction set, the kernel forced
# to 128 bits by `--vector-bits 128` (VEX encoding and FMA, as ARM NEON has FMA: DOTNET_EnableAVX2=0 takes FMA away too,
# so that row is the pessimistic stand-in and this one the closer). Writes integration/bench/isa-<date>-<commit>.json
# (every bench report) and .md (ns per atom-step and the ratios to the plain run).
# Usage: integration/bench/isa.sh [--seconds S] [--replicas K]   (about 10 minutes on 2 shared cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
. integration/common.sh
seconds=1; replicas=3
parse_options isa.sh "seconds replicas" "$@"
bench_setup integration/bench/isa
# The three models fitted once (the fit does not depend on the evaluator), then benchmarked from their files.
"${mld[@]}" fit "$data" --mode agent --order 2 -o "$work/agent.json" > /dev/null
"${mld[@]}" fit "$data" --mode conservative --order 2 -o "$work/conservative.json" > /dev/null
"${mld[@]}" fit "$data" --preset accurate -o "$work/accurate.json" > /dev/null
for model in agent conservative accurate; do
  for setting in plain noavx512 noavx2 fma128; do
    width=()
    if [ "$setting" = fma128 ]; then isa_env plain; width=(--vector-bits 128); else isa_env "$setting"; fi
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "isa.sh: $model $setting (load $load)" >&2
    env "${envs[@]}" "${mld[@]}" bench --model "$work/$model.json" --replicas "$replicas" --threads 1 --seconds "$seconds" --json "${width[@]}" \
      > "$work/$model-$setting.json"
    echo "$load" > "$work/$model-$setting.load"
  done
done
cpu=$(cpu_summary)
/usr/bin/python3 - "$work" "$base" "$commit" "$replicas" "$seconds" "$cpu" <<'PY'
import json, os, sys, datetime
work, base, commit, replicas, seconds, cpu = sys.argv[1:]
models, settings = ["agent", "conservative", "accurate"], ["plain", "noavx512", "noavx2", "fma128"]
env = {"plain": "(none)", "noavx512": "DOTNET_EnableAVX512=0", "noavx2": "DOTNET_EnableAVX2=0", "fma128": "--vector-bits 128 (FMA)"}
runs, table = {}, {}
for m in models:
    for s in settings:
        report = json.load(open(os.path.join(work, f"{m}-{s}.json")))
        load = open(os.path.join(work, f"{m}-{s}.load")).read().split()
        rows = [r for r in report["forceEval"] if r["forceField"] == "learned" and r["threads"] == 1]
        row = max(rows, key=lambda r: r["atoms"])
        runs[f"{m}/{s}"] = {"environment": env[s], "loadAverage": load, "report": report}
        pair = [r for r in report["forceEval"] if r["forceField"] == "pair" and r["threads"] == 1 and r["atoms"] == row["atoms"]]
        table[m, s] = (row["nsPerAtomStep"], row["cpuNsPerAtomStep"], pair[0]["cpuNsPerAtomStep"] if pair else float("nan"),
                       row.get("vectorBits") or "-", row["atoms"], load[0])
out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "commit": commit,
       "command": f"mld bench --model MODEL --replicas {replicas} --threads 1 --seconds {seconds} --json", "runs": runs}
tmp = base + ".json.tmp"
json.dump(out, open(tmp, "w"), indent=1)
os.replace(tmp, base + ".json")
lines = [f"# Fast kernel by instruction set ({out['date']}, commit {commit})", "",
         f"`integration/bench/isa.sh`: `{out['command']}`, one process per cell, the four settings back to back per model. CPU: {cpu}.",
         "ns per atom-step of the learned force evaluation, wall and CPU (the process's CPU time: the steadier figure when",
         "the machine is loaded); ratio = setting / plain. The C# SPC/Fw pair reference (no kernel) is the noise control.", "",
         "| model | setting | kernel vectorBits (bench row) | atoms | wall ns/atom-step | ratio | CPU ns/atom-step | ratio | pair CPU ns (control) | load (1 min) |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for m in models:
    plain, plainCpu = table[m, "plain"][0], table[m, "plain"][1]
    for s in settings:
        ns, cpu, pair, bits, atoms, load = table[m, s]
        lines.append(f"| {m} | {env[s]} | {bits} | {atoms} | {ns:,.0f} | {ns / plain:.2f} | {cpu:,.0f} | {cpu / plainCpu:.2f} | {pair:,.0f} | {load} |")
tmp = base + ".md.tmp"
open(tmp, "w").write("\n".join(lines) + "\n")
os.replace(tmp, base + ".md")
print("\n".join(lines))
PY
