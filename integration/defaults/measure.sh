#!/usr/bin/env bash
# Re-measures the choice of `mld fit`'s default: the recommended model (no --mode) against the paper's agent model
# (--mode agent), fitted on one CP2K run and scored on the held-out last 20 % of it and on any further runs given
# (data the fit never saw). Writes integration/defaults/results-YYYY-MM-DD.md.
#   integration/defaults/measure.sh [FIT_RUN] [UNSEEN_RUN...]     (default FIT_RUN: samples/water32-xtb)
set -euo pipefail
cd "$(dirname "$0")/../.."
. integration/common.sh
fit_run=${1:-samples/water32-xtb}
shift || true
unseen=("$@")
echo "building mld (Release)"
mld_temp
out=integration/defaults/results-$(date -u +%Y-%m-%d).md
{
  echo "# mld fit defaults: recommended (no --mode) against --mode agent"
  echo
  echo "Written by integration/defaults/measure.sh on $(date -u '+%Y-%m-%d %H:%M UTC'); fit on \`$fit_run\`."
  echo "Force error = relative RMSE |F_model − F_ref| / |F_ref| per species (lower is better)."
  echo
  echo "| model | fit s | held-out O | held-out H |$(for u in "${unseen[@]}"; do printf ' %s O | %s H |' "$(basename "$u")" "$(basename "$u")"; done)"
  echo "| --- | --- | --- | --- |$(for u in "${unseen[@]}"; do printf ' --- | --- |'; done)"
} >"$work/table.md"
for variant in default agent; do
  extra=(); [ "$variant" = agent ] && extra=(--mode agent)
  echo "fitting $variant on $fit_run"
  mld fit "$fit_run" -o "$work/$variant.json" --json "${extra[@]}" >"$work/$variant.fit.json"
  row=$(/usr/bin/python3 - "$work/$variant.fit.json" "$variant" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
h = r["holdout"]["species"]
print(f"| {sys.argv[2]} ({r['mode']}) | {r['seconds']:.1f} | {h['O']['relRmse']:.4f} | {h['H']['relRmse']:.4f} |", end="")
PY
)
  for u in "${unseen[@]}"; do
    echo "evaluating $variant on $u"
    mld evaluate "$work/$variant.json" "$u" --json >"$work/eval.json"
    row+=$(/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["species"]; print(" %.4f | %.4f |" % (s["O"]["relRmse"], s["H"]["relRmse"]), end="")' "$work/eval.json")
  done
  echo "$row" >>"$work/table.md"
done
{
  cat "$work/table.md"
  echo
  echo "Machine: $(nproc) cores; load average at the end $(cut -d' ' -f1-3 /proc/loadavg) (fit times are noisy under load)."
} >"$out"
cat "$out"
echo "wrote $out"
