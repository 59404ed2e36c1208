#!/usr/bin/env bash
# CP2K in the loop (issue 18): one round of `mld learn` at 350 K with a budget of BUDGET CP2K frames, starting from the
# default model fitted on samples/water32-xtb (300 K). Held-out error at 300 K: the sample's last 20%, which fit and
# learn both hold out; at 350 K: HOT, an independent CP2K GFN1-xTB 350 K run, used only for evaluation.
#   integration/learn/measure.sh [WORKDIR]   (BUDGET=50, STEPS=10000, HOT=/work/hotdata/T350, MLD=a built mld)
# Then summarise.py writes integration/learn/results-<date>.md.
set -uo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/mld-learn-measure}
hot=${HOT:-/work/hotdata/T350}
budget=${BUDGET:-50}
steps=${STEPS:-10000}
data=samples/water32-xtb
mkdir -p "$work"
if [ -z "${MLD:-}" ]; then
  dotnet build src/MolecularLearning.Cli -c Release -v q -nologo -o "$work/bin" >/dev/null || exit 1
  MLD="$work/bin/mld"
fi
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$work/measure.log"; }
log "start at $(git rev-parse --short HEAD): $(uptime)"
[ -s "$work/before.json" ] || "$MLD" fit "$data" -o "$work/before.json" --json > "$work/fit.json" 2> "$work/fit.log" || { log "fit failed"; exit 1; }
log "fit done: $(uptime)"
"$MLD" learn "$data/md.inp" --model "$work/before.json" --data "$data" -o "$work/after.json" --work-dir "$work/learn" \
  --temperatures 350 --rounds 1 --budget "$budget" --steps "$steps" --test "350=$hot" --json > "$work/learn.json" 2> "$work/learn.log" \
  || { log "learn failed: $(tail -1 "$work/learn.log")"; exit 1; }
log "learn done: $(uptime)"
for m in before after; do
  "$MLD" evaluate "$work/$m.json" "$hot" --json > "$work/eval-$m-350.json" 2>> "$work/eval.log" || log "evaluate $m failed"
done
log "done: $(uptime)"
/usr/bin/python3 integration/learn/summarise.py "$work" > "integration/learn/results-$(date -u +%F).md"
log "wrote integration/learn/results-$(date -u +%F).md"
