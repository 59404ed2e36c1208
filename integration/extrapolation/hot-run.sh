#!/usr/bin/env bash
# Issue 18's long run: the default model (`mld fit` on the shipped 300 K run) for 1 ns at 350 K from the run's last
# frame, through `mld run` with its defaults (global Nosé–Hoover chain, τ 100 fs, for the conservative default), then
# a summary: finished or diverged, steps with an atom outside the training range, the furthest excursion, the
# temperature and the conserved quantity's drift.
#   integration/extrapolation/hot-run.sh [WORK]        (env: STEPS=2000000, TEMPERATURE=350, MODEL=a model file, MLD=a built mld)
# A WORK folder that already holds a finished run (run.err, thermo.csv) is summarised again without rerunning.
# Writes integration/extrapolation/hot-run-<date>.md.
set -uo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/mld-hot-run}
steps=${STEPS:-2000000}
temperature=${TEMPERATURE:-350}
mkdir -p "$work"
if [ -z "${MLD:-}" ]; then
  dotnet build src/MolecularLearning.Cli -c Release -v q -nologo -o "$work/bin" > /dev/null || exit 1
  MLD="$work/bin/mld"
fi
if ! grep -q "^steps .* in .* s:" "$work/run.out" 2>/dev/null; then
  model=${MODEL:-$work/default.json}
  [ -s "$model" ] || "$MLD" fit samples/water32-xtb -o "$model" > "$work/fit.txt" 2>&1 || { echo "fit failed" >&2; exit 1; }
  [ "$model" = "$work/default.json" ] || cp "$model" "$work/default.json"
  echo "start $(date -u +%FT%TZ): $(uptime)" > "$work/load.txt"
  /usr/bin/time -f "%e s wall, %M KiB peak" -o "$work/time.txt" "$MLD" run "$work/default.json" --from samples/water32-xtb --frame -1 \
    --steps "$steps" --temperature "$temperature" --seed 7 --log "$work/thermo.csv" --log-every 1000 \
    --trajectory "$work/traj.extxyz" --every 2000 --checkpoint-every 100000 > "$work/run.out" 2> "$work/run.err"
  echo "exit $?" >> "$work/time.txt"
  echo "end $(date -u +%FT%TZ): $(uptime)" >> "$work/load.txt"
fi
/usr/bin/python3 - "$work" "$temperature" > "integration/extrapolation/hot-run-$(date -u +%F).md" <<'PY'
import csv, statistics, sys
work, target = sys.argv[1], float(sys.argv[2])
rows = list(csv.DictReader(open(f"{work}/thermo.csv")))
t = [float(r["temperature_K"]) for r in rows]
fs = [float(r["time_fs"]) for r in rows]
cons = [float(r["conserved_eV"]) for r in rows]
half = len(t) // 2
n = len(fs)
mx, my = statistics.fmean(fs), statistics.fmean(cons)
slope = sum((x - mx) * (y - my) for x, y in zip(fs, cons)) / sum((x - mx) ** 2 for x in fs)
blocks = 10
size = (len(t) - half) // blocks
means = [statistics.fmean(t[half + b * size: half + (b + 1) * size]) for b in range(blocks)]
err = statistics.stdev(means) / blocks ** 0.5
out = open(f"{work}/run.out").read().split("\n")
errl = [l for l in open(f"{work}/run.err").read().split("\n") if l.strip()]
print(f"# 1 ns at {target:g} K with the default model (integration/extrapolation/hot-run.sh)\n")
print("Model: `mld fit samples/water32-xtb` (the shipped 300 K GFN1-xTB run; the default recipe). Run: `mld run` from the run's")
print("last frame, Maxwell–Boltzmann velocities at the target (seed 7), 0.5 fs steps, its default thermostat.\n")
print("```")
for l in [l for l in out if l.strip() and "ETA" not in l] + errl: print(l)
for extra in ("time.txt", "load.txt"):
    try: print(open(f"{work}/{extra}").read().strip())
    except FileNotFoundError: pass
print("```\n")
print(f"| simulated | mean T, second half (K) | block error (K) | T std (K) | conserved: least-squares drift (eV/ns) | conserved std (eV) |")
print("|---|---|---|---|---|---|")
print(f"| {fs[-1] / 1e6:.3f} ns | {statistics.fmean(t[half:]):.2f} | {err:.2f} | {statistics.pstdev(t[half:]):.1f} | {slope * 1e6:.4f} | {statistics.pstdev(cons):.4f} |")
PY
echo "wrote integration/extrapolation/hot-run-$(date -u +%F).md"
