#!/usr/bin/env bash
# The curl penalty's scan (docs/agent-mode.md, "A curl penalty"): for each μ, `mld fit RUN --mode agent --curl-penalty μ`
# (held-out force relRMSE, the sampled curl before/after on training and held-out frames), the force Jacobian at the start
# frame (jacobian.py) and a run under CP2K's thermostat (global Nosé–Hoover chain, τ 100 fs, 300 K) from that frame.
# Writes integration/agent/curl-scan-YYYY-MM-DD.md.
#   integration/agent/curl-scan.sh RUN FRAME STEPS MU[@FRAMES:PAIRS:JITTER]...   (e.g. samples/water32-xtb -1 10000 plain 10 100@16:400:0.1)
# "plain" is the fit without the penalty; @... passes --curl-sample (default 16:400:0).
# FIT_OPTS (environment) is passed to every fit (e.g. FIT_OPTS="--range-walls 0"); TAG names the result file
# (integration/agent/curl-scan-YYYY-MM-DD-COMMIT[-TAG].md).
set -euo pipefail
cd "$(dirname "$0")/../.."
run=$1; frame=$2; steps=$3; shift 3
dotnet build src/MolecularLearning.Cli -c Release -nologo -v q >/dev/null
bin=$(mktemp -d); cp -r src/MolecularLearning.Cli/bin/Release/net10.0/. "$bin/"   # the scan's own copy: builds elsewhere cannot swap it
mld() { dotnet "$bin/mld.dll" "$@"; }
export MLD="dotnet $bin/mld.dll"
work=$(mktemp -d); trap 'rm -rf "$work" "$bin"' EXIT
fitopts=${FIT_OPTS:-}
out=integration/agent/curl-scan-$(date -u +%Y-%m-%d)-$(git rev-parse --short HEAD)${TAG:+-$TAG}.md
{
  echo "# Curl penalty scan: agent default fitted with --curl-penalty μ"
  echo
  echo "Written by integration/agent/curl-scan.sh on $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD)."
  echo "Fit: \`mld fit $run --mode agent $fitopts --curl-penalty μ\` (held out: the last 20 %). Curl: RMS of A_{iα,jβ} (eV/Å²) over the"
  echo "sampled neighbour pairs, plain fit → penalised, on the training sample (jittered if asked) and on pairs sampled on the held-out frames (as they are)."
  echo "Jacobian at the start frame (jacobian.py, h 1e-3 Å). Run: \`mld run MODEL --from $run --frame $frame --steps $steps --tau 100 --massive false\`"
  echo "(global chain, 0.5 fs, the frame's velocities); T slope by least squares (up to 50 fs before a divergence), T mean/std after the first ps."
  echo
  echo "| μ (Å²) @ frames:pairs:jitter (Å) | held-out relRMSE O | H | curl train (eV/Å²) | curl held-out | ‖A‖/‖S‖ | complex pairs | fastest growth (1/ps) | ran (ps) | diverged | T slope (K/ps) | T mean ± std (K) |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$work/table.md"
for spec in "$@"; do
  echo "μ = $spec" >&2
  mu=${spec%@*}; sample=16:400:0; [ "$spec" != "$mu" ] && sample=${spec#*@}
  model="$work/model.json"
  # shellcheck disable=SC2086
  if [ "$mu" = plain ]; then mld fit "$run" --mode agent $fitopts -o "$model" --json >"$work/fit.json" 2>"$work/fit.err"
  else mld fit "$run" --mode agent $fitopts --curl-penalty "$mu" --curl-sample "$sample" -o "$model" --json >"$work/fit.json" 2>"$work/fit.err"; fi
  diverged=no; rm -f "$work/log.csv"
  mld run "$model" --from "$run" --frame "$frame" --steps "$steps" --tau 100 --massive false --log "$work/log.csv" --log-every 20 --every 1000000 >"$work/run.out" 2>&1 || diverged=yes
  jac=$(/usr/bin/python3 integration/agent/jacobian.py "$run" "$frame" "$model")
  /usr/bin/python3 - "$work/fit.json" "$work/log.csv" "$diverged" "$jac" "$spec" >>"$work/table.md" <<'PY'
import csv, json, os, sys
import numpy as np
fit = json.load(open(sys.argv[1])); j = json.loads(sys.argv[4]); mu = sys.argv[5]
rows = [(float(r["time_fs"]), float(r["temperature_K"])) for r in (csv.DictReader(open(sys.argv[2])) if os.path.exists(sys.argv[2]) else [])] or [(0.0, float("nan"))]
t, T = np.array(rows).T
ran = t[-1]
if sys.argv[3] == "yes" and (t <= t[-1] - 50).sum() >= 2:
    keep = t <= t[-1] - 50; t, T = t[keep], T[keep]
slope = f"{np.polyfit(t / 1000, T, 1)[0]:+.1f}" if len(t) >= 2 else "–"
late = T[t >= 1000]
stats = f"{late.mean():.1f} ± {late.std():.1f}" if len(late) else "–"
h = fit["holdout"] if "holdout" in fit else fit["heldOut"]
rel = {s: v["relRmse"] for s, v in h["species"].items()} if "species" in h else {s: v["relRmse"] for s, v in h.items()}
c = fit.get("curl")
curl = (f"{c['rmsBefore']:.3g} → {c['rmsAfter']:.3g}", f"{c.get('heldOutBefore', float('nan')):.3g} → {c.get('heldOutAfter', float('nan')):.3g}") if c else ("–", "–")
print(f"| {mu} | {rel['O']:.4f} | {rel['H']:.4f} | {curl[0]} | {curl[1]} | {j['antisymmetric/symmetric (Frobenius)']:.3g} | "
      f"{j['complex eigenvalue pairs']} | {j['fastest flutter growth (1/ps)']:.2f} | {ran / 1000:.2f} | {sys.argv[3]} | {slope} | {stats} |")
PY
  tail -1 "$work/table.md" >&2
done
{ cat "$work/table.md"; echo; echo "Machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)."; } >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"; echo "wrote $out"
