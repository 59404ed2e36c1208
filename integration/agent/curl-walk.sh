#!/usr/bin/env bash
# The curl penalty sampled on the model's own trajectories (docs/agent-mode.md, "Own-trajectory sampling"): round 0 is
# `mld fit RUN --mode agent --curl-penalty MU --curl-sample SAMPLE`; each round then runs the model under CP2K's thermostat
# (global Nosé–Hoover chain, τ 100 fs, 300 K, 5 ps) from the start frame, adds up to NEW frames the run reached (those
# at T ≤ KEEP_T, evenly spaced) to the curl sample (--curl-frames, accumulated over rounds) and refits. The fit's force
# rows are the same every round: only curl rows are added. Per round: held-out force relRMSE, the sampled curl (training,
# held-out, visited frames), the force Jacobian at the start frame (jacobian.py) and that round's run.
# Writes integration/agent/curl-walk-YYYY-MM-DD-COMMIT[-TAG].md.
#   integration/agent/curl-walk.sh RUN FRAME STEPS MU SAMPLE ROUNDS   (e.g. samples/water32-xtb -1 10000 1000 16:400:0 4)
# Environment: FIT_OPTS (passed to every fit, e.g. "--range-walls 0"), TAG, NEW (frames added a round, 16), KEEP_T (K, 450),
# PYTHON (with numpy and ASE; default /usr/bin/python3), SAMPLE_RUN: global (default: the frames of the measured run) or
# massive (the frames of a second run of STEPS under a massive chain, τ 100 fs, which holds: the model's own thermal configurations).
# MODEL_OUT: keep the last round's model there.
set -euo pipefail
cd "$(dirname "$0")/../.."
run=$1; frame=$2; steps=$3; mu=$4; sample=$5; rounds=$6
fitopts=${FIT_OPTS:-}; sampler=${SAMPLE_RUN:-global}; new=${NEW:-16}; keep=${KEEP_T:-450}; py=${PYTHON:-/usr/bin/python3}
dotnet build src/MolecularLearning.Cli -c Release -nologo -v q >/dev/null
bin=$(mktemp -d); cp -r src/MolecularLearning.Cli/bin/Release/net10.0/. "$bin/"   # the walk's own copy: builds elsewhere cannot swap it
mld() { dotnet "$bin/mld.dll" "$@"; }
export MLD="dotnet $bin/mld.dll"
work=$(mktemp -d); trap 'rm -rf "$work" "$bin"' EXIT
out=integration/agent/curl-walk-$(date -u +%Y-%m-%d)-$(git rev-parse --short HEAD)${TAG:+-$TAG}.md
visited="$work/visited.extxyz"; : >"$visited"
{
  echo "# Curl penalty sampled on the model's own trajectories"
  echo
  echo "Written by integration/agent/curl-walk.sh on $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD)."
  echo "Fit: \`mld fit $run --mode agent $fitopts --curl-penalty $mu --curl-sample $sample [--curl-frames VISITED]\` (held out: the last 20 %);"
  echo "VISITED: up to $new frames a round from that round's $sampler-chain run (T ≤ $keep K, evenly spaced), accumulated over rounds."
  echo "Curl: RMS of A_{iα,jβ} (eV/Å²) over sampled neighbour pairs, plain fit → penalised: training sample, held-out frames, visited frames."
  echo "Jacobian at the start frame (jacobian.py, h 1e-3 Å). Run: \`mld run MODEL --from $run --frame $frame --steps $steps --tau 100 --massive false\`"
  echo "(global chain, 0.5 fs, the frame's velocities; trajectory and log every 20 steps); T slope by least squares (up to 50 fs before a divergence), T mean/std after the first ps."
  echo
  echo "| round | visited frames in the sample | held-out relRMSE O | H | curl train (eV/Å²) | curl held-out | curl visited | ‖A‖/‖S‖ | complex pairs | fastest growth (1/ps) | ran (ps) | diverged | T slope (K/ps) | T mean ± std (K) |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$work/table.md"
for ((round = 0; round <= rounds; round++)); do
  nvisited=$(grep -c 'step=' "$visited" || true)
  echo "round $round: $nvisited visited frames" >&2
  model="$work/model.json"
  extra=(); [ "$nvisited" -gt 0 ] && extra=(--curl-frames "$visited")
  # shellcheck disable=SC2086
  mld fit "$run" --mode agent $fitopts --curl-penalty "$mu" --curl-sample "$sample" "${extra[@]}" -o "$model" --json >"$work/fit.json" 2>"$work/fit.err"
  diverged=no; rm -f "$work/log.csv" "$work/traj.extxyz"
  mld run "$model" --from "$run" --frame "$frame" --steps "$steps" --tau 100 --massive false --log "$work/log.csv" --log-every 20 \
    --trajectory "$work/traj.extxyz" --every 20 >"$work/run.out" 2>&1 || diverged=yes
  jac=$("$py" integration/agent/jacobian.py "$run" "$frame" "$model")
  "$py" - "$work/fit.json" "$work/log.csv" "$diverged" "$jac" "$round" "$nvisited" >>"$work/table.md" <<'PY'
import csv, json, os, sys
import numpy as np
fit = json.load(open(sys.argv[1])); j = json.loads(sys.argv[4])
rows = [(float(r["time_fs"]), float(r["temperature_K"])) for r in (csv.DictReader(open(sys.argv[2])) if os.path.exists(sys.argv[2]) else [])] or [(0.0, float("nan"))]
t, T = np.array(rows).T
ran = t[-1]
if sys.argv[3] == "yes" and (t <= t[-1] - 50).sum() >= 2:
    keep = t <= t[-1] - 50; t, T = t[keep], T[keep]
slope = f"{np.polyfit(t / 1000, T, 1)[0]:+.1f}" if len(t) >= 2 else "–"
late = T[t >= 1000]
stats = f"{late.mean():.1f} ± {late.std():.1f}" if len(late) else "–"
h = fit["holdout"]
rel = {s: v["relRmse"] for s, v in h["species"].items()}
c = fit["curl"]
pair = lambda a, b: f"{c[a]:.3g} → {c[b]:.3g}" if a in c else "–"
print(f"| {sys.argv[5]} | {sys.argv[6]} | {rel['O']:.4f} | {rel['H']:.4f} | {pair('rmsBefore', 'rmsAfter')} | {pair('heldOutBefore', 'heldOutAfter')} | "
      f"{pair('extraBefore', 'extraAfter')} | {j['antisymmetric/symmetric (Frobenius)']:.3g} | {j['complex eigenvalue pairs']} | "
      f"{j['fastest flutter growth (1/ps)']:.2f} | {ran / 1000:.2f} | {sys.argv[3]} | {slope} | {stats} |")
PY
  tail -1 "$work/table.md" >&2
  [ -n "${MODEL_OUT:-}" ] && cp "$model" "$MODEL_OUT"
  cp "$work/log.csv" "$work/log-$round.csv" 2>/dev/null || true
  [ "$round" -eq "$rounds" ] && break
  if [ "$sampler" = massive ]; then
    rm -f "$work/log.csv" "$work/traj.extxyz"
    mld run "$model" --from "$run" --frame "$frame" --steps "$steps" --tau 100 --massive true --log "$work/log.csv" --log-every 20 \
      --trajectory "$work/traj.extxyz" --every 20 >"$work/run.out" 2>&1 || true
  fi
  # The frames this run reached below KEEP_T (by the log's T at the frame's step), up to NEW of them evenly spaced.
  "$py" - "$work/traj.extxyz" "$work/log.csv" "$keep" "$new" >>"$visited" <<'PY'
import csv, os, re, sys
path, log, keep, new = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
if not (os.path.exists(path) and os.path.exists(log)): sys.exit(0)
temp = {int(r["step"]): float(r["temperature_K"]) for r in csv.DictReader(open(log))}
lines = open(path).read().splitlines(keepends=True)
frames, k = [], 0
while k < len(lines) and lines[k].strip():
    n = int(lines[k]); block = lines[k:k + n + 2]; k += n + 2
    if len(block) < n + 2: break   # a frame cut short by the divergence
    m = re.search(r"\bstep=(\d+)", block[1])
    if m and temp.get(int(m.group(1)), float("inf")) <= keep and "nan" not in "".join(block).lower(): frames.append(block)
pick = [frames[int((x + 0.5) * len(frames) / new)] for x in range(new)] if len(frames) > new else frames
sys.stdout.write("".join("".join(b) for b in pick))
PY
done
{ cat "$work/table.md"; echo; echo "Machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)."; } >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"; echo "wrote $out"
