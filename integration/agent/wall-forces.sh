#!/usr/bin/env bash
# Range walls as each agent's own push or as the gradient of a sum over agents (docs/agent-mode.md, "Range walls as a
# gradient"): one agent model run with its range walls off, on with agent wall forces, and on with gradient wall forces
# (range-walls.py places them from the model's training ranges), each STEPS steps under CP2K's thermostat (global chain,
# τ 100 fs, --massive false) from a CP2K frame with its velocities; T, drift, and the structure (`mld analyze`) against
# the CP2K run. Writes integration/agent/wall-forces-YYYY-MM-DD-COMMIT[-TAG].md.
#   integration/agent/wall-forces.sh MODEL RUN FRAME STEPS STRENGTH [VARIANT...]
#   (e.g. models/walk-mu1000-j0.1-pairwalls-round2.json samples/water32-xtb -1 10000 0.02; variants: off agent gradient)
# Environment: TAG; PYTHON (with numpy; default /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$1; run=$2; frame=$3; steps=$4; strength=$5; shift 5
variants=("$@"); [ ${#variants[@]} -eq 0 ] && variants=(off agent gradient)
py=${PYTHON:-/usr/bin/python3}
dotnet build src/MolecularLearning.Cli -c Release -nologo -v q >/dev/null
bin=$(mktemp -d); cp -r src/MolecularLearning.Cli/bin/Release/net10.0/. "$bin/"
work=$(mktemp -d); trap 'rm -rf "$work" "$bin"' EXIT
commit=$(git rev-parse --short HEAD)
out=integration/agent/wall-forces-$(date -u +%Y-%m-%d)-$commit${TAG:+-$TAG}.md
{
  echo "# Range walls: off, agent wall forces, gradient wall forces"
  echo
  echo "Written by integration/agent/wall-forces.sh, started $(date -u '+%Y-%m-%d %H:%M UTC') at $commit. Model: \`$model\`; range walls"
  echo "from its training ranges at strength $strength eV (range-walls.py). Each: \`mld run M --from $run --frame $frame --steps $steps"
  echo "--tau 100 --massive false\` (0.5 fs, the frame's velocities), trajectory every 100 steps; T statistics after the first ps"
  echo "(drift: least-squares slope over that span); structure by \`mld analyze TRAJ --reference $run --skip 10\` (from 1 ps)."
  echo "\"outside\": the share of steps \`mld run\` reports outside the training range (some agent's extrapolation signal > 0);"
  echo "\"largest\": the run's largest signal (training spreads beyond the range, any agent and invariant)."
  echo
  echo "| range walls | ran (ps) | T mean ± std (K) | drift (K/ns) | min / max T (K) | outside | largest (spreads) | O–H (Å) | H–O–H (°) | g_OO peak (Å, height) | g_HH peak (Å, height) |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$work/table.md"
for v in "${variants[@]}"; do
  case $v in
    off) "$py" integration/agent/range-walls.py "$model" "$work/m-$v.json" 0 agent ;;
    agent|gradient) "$py" integration/agent/range-walls.py "$model" "$work/m-$v.json" "$strength" "$v" ;;
    *) echo "unknown variant $v (off, agent, gradient)" >&2; exit 2 ;;
  esac
  echo "running $v" >&2
  status=finished
  dotnet "$bin/mld.dll" run "$work/m-$v.json" --from "$run" --frame "$frame" --steps "$steps" --tau 100 --massive false \
    --log "$work/log-$v.csv" --log-every 20 --trajectory "$work/traj-$v.extxyz" --every 100 >"$work/run-$v.out" 2>&1 || status=diverged
  dotnet "$bin/mld.dll" analyze "$work/traj-$v.extxyz" --reference "$run" --skip 10 >"$work/analyze-$v.txt" 2>&1 || true
  "$py" - "$work/log-$v.csv" "$work/analyze-$v.txt" "$v" "$status" "$work/run-$v.out" >>"$work/table.md" <<'PY'
import csv, os, re, sys
import numpy as np
log, analyze, v, status, runout = sys.argv[1:]
rows = list(csv.DictReader(open(log))) if os.path.exists(log) else []
t = np.array([float(r["time_fs"]) for r in rows]); T = np.array([float(r["temperature_K"]) for r in rows])
m = re.search(r"extrapolation: (\d+) of (\d+) steps", open(runout).read()) if os.path.exists(runout) else None
inside = re.search(r"extrapolation: all (\d+) steps inside", open(runout).read()) if os.path.exists(runout) else None
outside = f"{int(m.group(1)) / int(m.group(2)):.2f}" if m else "0.00" if inside else "–"
big = re.search(r"largest ([0-9.]+) training spreads", open(runout).read()) if os.path.exists(runout) else None
largest = big.group(1) if big else "–"
late = t >= 1000
ran = f"{t[-1] / 1000:.2f}" + (", diverged" if status != "finished" else "") if len(t) else "0"
if late.sum() >= 2:
    mean = f"{T[late].mean():.1f} ± {T[late].std():.1f}"; drift = f"{np.polyfit(t[late] / 1e6, T[late], 1)[0]:+.0f}"
else: mean = drift = "–"
mm = f"{T.min():.0f} / {T.max():.0f}" if len(T) else "–"
text = open(analyze).read() if os.path.exists(analyze) else ""
def first(label):
    m = re.search(re.escape(label) + r"\s+(.+?)\s{2,}", text)
    return m.group(1).strip() if m else "–"
print(f"| {v} | {ran} | {mean} | {drift} | {mm} | {outside} | {largest} | {first('O–H bond (Å)')} | {first('H–O–H angle (°)')} | "
      f"{first('g_OO first peak (Å, height)')} | {first('g_HH first peak (Å, height)')} |")
PY
done
{ cat "$work/table.md"; echo
  ref=$(ls "$work"/analyze-*.txt | head -1)
  echo "CP2K's column of \`mld analyze\` (the run started from):"; echo; echo '```'; head -11 "$ref"; echo '```'; echo
  for v in "${variants[@]}"; do echo "\`$v\`, last lines of \`mld run\`:"; echo; echo '```'; tail -4 "$work/run-$v.out"; echo '```'; echo; done
  echo "Machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)."; } >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"; echo "wrote $out"
