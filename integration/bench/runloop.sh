#!/usr/bin/env bash
# `mld run`'s loop against the engine's MD row (issue 19): `mld bench` at 96 and 96,000 atoms, 1 and 2 threads,
# the agent and conservative defaults, then a dated markdown file with the ratios, each within one run, and the load.
# Usage: [MODEL=model.json] integration/bench/runloop.sh [--quick] [outdir]
#   --quick: 96 atoms only, 0.3 s per measurement; MODEL: measure that model file instead of fitting the two defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."
replicas=1,10; seconds=2
if [ "${1:-}" = "--quick" ]; then replicas=1; seconds=0.3; shift; fi
out=${1:-integration/bench}
mkdir -p "$out"
stamp=$(date -u +%Y-%m-%d)
dotnet build src/MolecularLearning.Cli -c Release -nologo -v q
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
dotnet src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll bench --replicas "$replicas" --threads 1,2 --seconds "$seconds" \
  $([ -n "${MODEL:-}" ] && echo "--model $MODEL" || echo "--models agent:2,conservative:2") --json > "$out/runloop-$stamp.json"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/python3 - "$out/runloop-$stamp.json" "$load_before" "$load_after" > "$out/runloop-$stamp.md" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
md = {(r["mode"], r["order"], r["atoms"], r["threads"]): r for r in report["md"]}
print(f"# `mld run` loop vs engine MD row ({sys.argv[1]})\n")
print(f"Load average (1, 5, 15 min) before: {sys.argv[2]}; after: {sys.argv[3]}. Steps/s are the best batch of each measurement.\n")
print("| model | atoms | threads | run-loop variant | run loop steps/s | engine MD steps/s | run / engine time | share of agent-default step |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
loops = report.get("runLoop", [])
by = {}
for r in loops: by.setdefault((r["mode"], r["order"], r["atoms"], r["threads"]), []).append(r)
for key, rows in by.items():
    engine = md.get(key)
    base = next((r for r in rows if r["variant"].startswith("NVE")), None)
    agent = next((r for r in rows if r["variant"].startswith("massive chain, τ 10 fs (")), None)
    for r in rows:
        sps = r["stepsPerSecond"]
        ratio = f'{engine["stepsPerSecond"] / sps:.3f}' if engine and sps else "-"
        share = "-"
        if agent and agent["stepsPerSecond"] and sps:
            t_agent = 1 / agent["stepsPerSecond"]
            if r["variant"].startswith("massive chain, τ 10 fs (") and base and base["stepsPerSecond"]:
                share = f'thermostat {100 * (t_agent - 1 / base["stepsPerSecond"]) / t_agent:.1f} %'
            elif "trajectory" in r["variant"]:
                share = f'output {100 * (1 / sps - t_agent) / t_agent:.1f} %'
        print(f'| {key[0]}:{key[1]} | {key[2]} | {key[3]} | {r["variant"]} | {sps} | {engine["stepsPerSecond"] if engine else "-"} | {ratio} | {share} |')
PY
echo "wrote $out/runloop-$stamp.md"
