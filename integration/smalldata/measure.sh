#!/usr/bin/env bash
# Measures fits on a short DFT run: train, held-out (last 20 %) and block cross-validated relRMSE per species for the
# recipes `mld fit` can take, what the small-data fit chose, and the reference's own force noise (its net force).
# The long run checks that the small-data change leaves ordinary fits alone. Writes integration/smalldata/results-YYYY-MM-DD.md.
#   integration/smalldata/measure.sh [SHORT_RUN] [LONG_RUN]   (defaults: /work/shared/data/water32-pbe, samples/water32-xtb)
set -euo pipefail
cd "$(dirname "$0")/../.."
. integration/common.sh
short=${1:-/work/shared/data/water32-pbe}
long=${2:-samples/water32-xtb}
echo "building mld (Release)"
mld_temp
out=integration/smalldata/results-$(date -u +%Y-%m-%d).md
head=$(git rev-parse --short HEAD)

row() { # row RUN LABEL ARGS... : fits and prints one table row
  local run=$1 label=$2; shift 2
  echo "fitting $label on $run: mld fit $*" >&2
  local t0=$(date +%s.%N)
  mld fit "$run" -o "${MODEL_OUT:-$work/m.json}" --json "$@" >"$work/fit.json" 2>"$work/fit.err"
  local t1=$(date +%s.%N)
  /usr/bin/python3 - "$work/fit.json" "$label" "$*" "$(echo "$t1 - $t0" | bc)" "$work/fit.err" "$work/long.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t, h, cv = r["train"]["species"], r["holdout"]["species"], r.get("crossValidation", {})
f = lambda d, s: f"{d[s]['relRmse']:.3f}"
c = lambda s: f"{cv[s]:.3f}" if s in cv else "–"
warned = "yes" if any(l.startswith("warning: few data") for l in open(sys.argv[5])) else "no"
ridge = "/".join(f"{v:.0e}" for v in r["ridge"].values())
print(f"| {sys.argv[2]} | `{sys.argv[3] or '(none)'}` | {r['mode']} | {r['parameters']} | {f(t,'O')} / {f(t,'H')} | "
      f"**{f(h,'O')} / {f(h,'H')}** | {c('O')} / {c('H')} | {ridge} | {warned} | {float(sys.argv[4]):.0f} |")
if r.get("recipe"):
    print(f"|   ↳ recipe: {r['recipe']} |||||||||")
PY
}

# The long run's accurate model, the prior of the offset fit below; its row is printed in the long-run table.
MODEL_OUT=$work/long.json row "$long" "accurate" --preset accurate >"$work/long-row.md"
{
  echo "# Small DFT data: fits on a short run"
  echo
  echo "Written by integration/smalldata/measure.sh on $(date -u '+%Y-%m-%d %H:%M UTC') at $head."
  echo "relRMSE = |F_model − F_ref| / |F_ref| per species; held out = the last 20 % of the frames (a contiguous block);"
  echo "CV = the chosen ridge's relRMSE pooled over the left-out blocks of the training frames (small-data fits)."
  echo "\`--folds 1\` fits as before the small-data recipe (the ridge on the last validation block, the recipe's basis)."
  echo
  echo "## Short run: \`$short\`"
  echo
  echo "| fit | options | mode | parameters | train O / H | held-out O / H | CV O / H | ridge | few-data warning | s |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  row "$short" "plain" 
  row "$short" "accurate, before" --preset accurate --folds 1
  row "$short" "accurate, small data" --preset accurate
  row "$short" "agent, before" --mode agent --folds 1
  row "$short" "agent, small data" --mode agent
  row "$short" "conservative, small data" --mode conservative
  row "$short" "accurate, order 1" --preset accurate --order 1
  row "$short" "accurate, radial + angular linear" --preset accurate --linear angular,radial
  row "$short" "accurate, offset from the long run's accurate model" --preset accurate --prior "$work/long.json"
  echo
  echo "## Long run (not small data: must be unchanged): \`$long\`"
  echo
  echo "| fit | options | mode | parameters | train O / H | held-out O / H | CV O / H | ridge | few-data warning | s |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  cat "$work/long-row.md"
  row "$long" "agent" --mode agent
  echo
  echo "## The references' own force noise"
  echo
  echo "A translation-invariant potential gives Σ_i F_i = 0 in every frame; CP2K's plane-wave grid (the egg-box effect) does"
  echo "not. With independent noise e_i per atom, E|ΣF|² = Σ_i E|e_i|²: spread evenly, the noise per component is"
  echo "rms|ΣF| / √(3N); on O alone (eggbox.sh: a rigid translation changes the PBE run's O forces and barely its H forces)"
  echo "it is rms|ΣF| / √(3 N_O). Relative to the species' rms force, a floor under any invariant model's error on that species."
  echo
  echo "| run | frames | rms \\|ΣF\\| (eV/Å) | rms force O / H (eV/Å) | spread evenly: noise (eV/Å), relative O / H | on O alone: noise (eV/Å), relative |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for run in "$short" "$long"; do
    frc=$(ls "$run"/*-frc-1.xyz* | head -1)
    /usr/bin/python3 integration/smalldata/netforce.py "$frc" | /usr/bin/python3 -c '
import json, math, sys
r = json.load(sys.stdin); n = r["noisePerComponent"]; o, h = r["rmsForce"]["O"], r["rmsForce"]["H"]
no = r["rmsNetForce"] / math.sqrt(3 * r["atomsPerFrame"]["O"])
print("| %s | %d | %.3g | %.3f / %.3f | %.3g, %.3f / %.3f | %.3g, %.3f |" % (sys.argv[1], r["frames"], r["rmsNetForce"], o, h, n, n / o, n / h, no, no / o))' "$(basename "$run")"
  done
  echo
  echo "Machine: $(nproc) cores; load average at the end $(cut -d' ' -f1-3 /proc/loadavg) (fit times are noisy under load)."
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
echo "wrote $out"
