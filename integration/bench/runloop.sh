#!/usr/bin/env bash
# `mld run`'s loop against the engine's MD row (issue 19): `mld bench` at 96 and 96,000 atoms, 1 and 2 threads,
# the agent and conservative defaults, then a markdown file named by date and commit with the ratios, each within one
# run, and the load. Each run-loop row's ratio is to its reference timed in alternating batches (same load); the
# thermostat and output shares come from one profiled batch (`mld run --profile`'s timers).
# Usage: [MODEL=model.json] integration/bench/runloop.sh [--quick] [outdir]
#   --quick: 96 atoms only, 0.3 s per measurement; MODEL: measure that model file instead of fitting the two defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."
replicas=1,10; seconds=2
if [ "${1:-}" = "--quick" ]; then replicas=1; seconds=0.3; shift; fi
out=${1:-integration/bench}
mkdir -p "$out"
stamp=$(date -u +%Y-%m-%d)-$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo -dirty)
dotnet build src/MolecularLearning.Cli -c Release -nologo -v q
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
dotnet src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll bench --replicas "$replicas" --threads 1,2 --seconds "$seconds" \
  $([ -n "${MODEL:-}" ] && echo "--model $MODEL" || echo "--models agent:2,conservative:2") --json > "$out/runloop-$stamp.json"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/python3 - "$out/runloop-$stamp.json" "$load_before" "$load_after" > "$out/runloop-$stamp.md" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
md = {(r["mode"], r["order"], r["atoms"], r["threads"]): r for r in report["md"]}
print(f"# `mld run` loop vs engine ({sys.argv[1]})\n")
print(f"Load average (1, 5, 15 min) before: {sys.argv[2]}; after: {sys.argv[3]}. Steps/s are the best batch of each measurement.\n")
print("- *run / reference*: best batch of the run loop over best batch of its reference, timed in alternating batches "
      "from the same start: the bare integrator with the same settings (the engine), or for the output row the run loop without output.")
print("- *thermostat*, *output*: that phase's share of the step in the least disturbed of three profiled batches of the row (`mld run --profile`'s timers).")
print("- *engine MD row*: `mld bench`'s own MD row (global chain, τ 100 fs, measured separately, other start velocities).\n")
print("| model | atoms | threads | run-loop variant | run loop steps/s | reference | reference steps/s | run / reference time | thermostat | output | engine MD row steps/s | run / engine MD row time |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
def pct(x): return "-" if x is None else f"{100 * x:.1f} %"
for r in report.get("runLoop", []):
    key = (r["mode"], r["order"], r["atoms"], r["threads"])
    engine = md.get(key)
    sps = r["stepsPerSecond"]
    shares = r.get("profileShares", {})
    over = r.get("overReference")
    ratio = f'{engine["stepsPerSecond"] / sps:.3f}' if engine and sps and r["variant"].startswith("engine settings") else "-"
    print(f'| {key[0]}:{key[1]} | {key[2]} | {key[3]} | {r["variant"]} | {sps} | {r.get("reference", "-")} | {r.get("referenceStepsPerSecond", "-")} | '
          f'{"-" if over is None else f"{over:.3f}"} | {pct(shares.get("thermostat"))} | {pct(shares.get("output"))} | '
          f'{engine["stepsPerSecond"] if engine else "-"} | {ratio} |')
PY
echo "wrote $out/runloop-$stamp.md"
