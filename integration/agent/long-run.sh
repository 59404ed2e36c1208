#!/usr/bin/env bash
# A long run of one model under CP2K's thermostat (global Nosé–Hoover chain, τ 100 fs, 300 K) from a CP2K frame with its
# velocities: mean T, its drift and block means (docs/agent-mode.md, "Own-trajectory sampling"). The log is read as far as
# it got, so a run stopped early (or diverged) still reports. Writes integration/agent/long-run-YYYY-MM-DD-COMMIT[-TAG].md.
#   integration/agent/long-run.sh MODEL RUN FRAME STEPS   (e.g. m.json samples/water32-xtb -1 2000000: 1 ns at 0.5 fs)
# Environment: TAG; LOG (keep the thermo CSV there; default a temporary file); TRAJ (also write the trajectory there, a
# frame every TRAJ_EVERY steps, default 2000, for `mld analyze`); PYTHON (with numpy; default /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$1; run=$2; frame=$3; steps=$4; py=${PYTHON:-/usr/bin/python3}
dotnet build src/MolecularLearning.Cli -c Release -nologo -v q >/dev/null
bin=$(mktemp -d); cp -r src/MolecularLearning.Cli/bin/Release/net10.0/. "$bin/"
work=$(mktemp -d); trap 'rm -rf "$work" "$bin"' EXIT
log=${LOG:-$work/log.csv}; rm -f "$log"
commit=$(git rev-parse --short HEAD)   # at the start: the run is this commit's, whatever is committed meanwhile
out=integration/agent/long-run-$(date -u +%Y-%m-%d)-$commit${TAG:+-$TAG}.md
started=$(date -u '+%Y-%m-%d %H:%M UTC')
status=finished
traj=(--every 100000000)
[ -n "${TRAJ:-}" ] && traj=(--trajectory "$TRAJ" --every "${TRAJ_EVERY:-2000}")
dotnet "$bin/mld.dll" run "$model" --from "$run" --frame "$frame" --steps "$steps" --tau 100 --massive false \
  --log "$log" --log-every 200 "${traj[@]}" >"$work/run.out" 2>&1 || status="stopped ($(tail -1 "$work/run.out"))"
"$py" - "$log" "$status" "$model" "$run" "$frame" "$steps" "$started" "$commit" >"$out.tmp" <<'PY'
import csv, sys
import numpy as np
log, status, model, run, frame, steps, started, commit = sys.argv[1:]
rows = [(float(r["time_fs"]), float(r["temperature_K"])) for r in csv.DictReader(open(log))]
t, T = np.array(rows).T
print("# A long run under CP2K's thermostat (global chain, τ 100 fs)\n")
print(f"Written by integration/agent/long-run.sh, started {started} at {commit}. Model: `{model}`.")
print(f"Run: `mld run MODEL --from {run} --frame {frame} --steps {steps} --tau 100 --massive false` (0.5 fs, the frame's velocities, thermo every 200 steps): {status}.")
print(f"T statistics after the first ps; drift: least-squares slope of T over that span.\n")
late = t >= 1000
tl, Tl = t[late] / 1000, T[late]
print("| ran (ps) | T mean ± std (K) | drift (K/ns) | min / max T (K) |")
print("| --- | --- | --- | --- |")
drift = np.polyfit(tl, Tl, 1)[0] * 1000 if len(tl) >= 2 else float("nan")
print(f"| {t[-1] / 1000:.1f} | {Tl.mean():.2f} ± {Tl.std():.1f} | {drift:+.2f} | {T.min():.0f} / {T.max():.0f} |\n")
nb = 10 if tl[-1] - tl[0] >= 10 else max(1, len(tl) // 50)
edges = np.linspace(tl[0], tl[-1], nb + 1)
print("| block (ps) | T mean (K) |")
print("| --- | --- |")
for a, b in zip(edges[:-1], edges[1:]):
    m = (tl >= a) & (tl <= b)
    print(f"| {a:.0f}–{b:.0f} | {Tl[m].mean():.2f} |")
means = [Tl[(tl >= a) & (tl <= b)].mean() for a, b in zip(edges[:-1], edges[1:])]
if nb > 1: print(f"\nBlock means: spread (std) {np.std(means, ddof=1):.2f} K, so the mean's standard error ≈ {np.std(means, ddof=1) / np.sqrt(nb):.2f} K.")
PY
{ cat "$out.tmp"; echo; echo "Machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)."
  if [ -n "${TRAJ:-}" ]; then # the structure the model holds T with, against the run it started from
    echo; echo "Structure of the trajectory against the CP2K run (\`mld analyze TRAJ --reference $run --skip 1\`):"; echo
    echo '```'; dotnet "$bin/mld.dll" analyze "$TRAJ" --reference "$run" --skip 1 2>&1 | head -11; echo '```'
  fi; } >"$out"
rm -f "$out.tmp"
cat "$out"; echo "wrote $out"
