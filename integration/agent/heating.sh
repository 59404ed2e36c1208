#!/usr/bin/env bash
# Heating of learned models under CP2K's own thermostat (global Nosé–Hoover chain, τ 100 fs) from a CP2K frame, and
# the antisymmetric part of their force Jacobian at that frame (jacobian.py). Writes integration/agent/results-YYYY-MM-DD.md.
#   integration/agent/heating.sh RUN FRAME STEPS MODEL...      (e.g. samples/water32-xtb -1 10000 agent.json accurate.json)
set -euo pipefail
cd "$(dirname "$0")/../.."
run=$1; frame=$2; steps=$3; shift 3
dotnet build src/MolecularLearning.Cli -c Release -nologo -v q >/dev/null
mld() { dotnet src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll "$@"; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
out=integration/agent/results-$(date -u +%Y-%m-%d).md
{
  echo "# Agent-mode heating under a global Nosé–Hoover chain (τ 100 fs, 300 K)"
  echo
  echo "Written by integration/agent/heating.sh on $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD): \`mld run MODEL --from $run --frame $frame --steps $steps --tau 100\` (0.5 fs),"
  echo "the start frame's velocities. Heating rate: least-squares slope of T(t) over the run, or up to 50 fs before it diverged."
  echo "Jacobian at the start frame (jacobian.py, central differences, h 1e-3 Å): ‖A‖/‖S‖ of K = −∂F/∂x = S + A, and the"
  echo "complex eigenvalue pairs of M^-½ K M^-½ (growing oscillations only the antisymmetric part makes)."
  echo
  echo "| model | mode | ran (ps) | diverged | heating rate (K/ps) | mean T (K) | ‖A‖/‖S‖ | complex pairs | fastest growth (1/ps) |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$work/table.md"
for model in "$@"; do
  echo "running $model" >&2
  diverged=no; rm -f "$work/log.csv"
  mld run "$model" --from "$run" --frame "$frame" --steps "$steps" --tau 100 --massive false --log "$work/log.csv" --log-every 20 --every 1000000 >"$work/run.out" 2>&1 || diverged=yes
  jac=$(/usr/bin/python3 integration/agent/jacobian.py "$run" "$frame" "$model")
  /usr/bin/python3 - "$work/log.csv" "$model" "$diverged" "$jac" >>"$work/table.md" <<'PY'
import csv, json, os, sys
import numpy as np
rows = [(float(r["time_fs"]), float(r["temperature_K"])) for r in (csv.DictReader(open(sys.argv[1])) if os.path.exists(sys.argv[1]) else [])] or [(0.0, float("nan"))]
t, T = np.array(rows).T
if sys.argv[3] == "yes" and (t <= t[-1] - 50).sum() >= 2:
    keep = t <= t[-1] - 50
    t, T = t[keep], T[keep]
rate = f"{np.polyfit(t / 1000, T, 1)[0]:+.0f}" if len(t) >= 2 else "–"
j = json.loads(sys.argv[4])
mode = json.load(open(sys.argv[2]))["mode"]
print(f"| {os.path.basename(sys.argv[2])} | {mode} | {rows[-1][0] / 1000:.2f} | {sys.argv[3]} | {rate} | {T.mean():.0f} | "
      f"{j['antisymmetric/symmetric (Frobenius)']:.3g} | {j['complex eigenvalue pairs']} | {j['fastest flutter growth (1/ps)']:.2f} |")
PY
done
{ cat "$work/table.md"; echo; echo "Machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)."; } >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"; echo "wrote $out"
