#!/usr/bin/env bash
# CP2K in the loop (issue 18): `mld learn` at 350 K from the default model fitted on samples/water32-xtb (300 K),
# PER_ROUND CP2K frames per round, one `mld learn` call per round (each continues the labelled data set of the last),
# until BUDGET frames are labelled or no round can start before DEADLINE (so a loaded machine still leaves results).
# Held-out error at 300 K: the sample's last 20%, which fit and learn both hold out; at 350 K: HOT, an independent
# CP2K GFN1-xTB 350 K run, used only for evaluation.
#   integration/learn/measure.sh [WORKDIR]
#   (BUDGET=50, PER_ROUND=5, STEPS=10000, DEADLINE=epoch seconds (default: now + 60 min), HOT=/work/hotdata/T350, MLD=a built mld)
# Then summarise.py writes integration/learn/results-<date>-<commit measured>.md.
set -uo pipefail
cd "$(dirname "$0")/../.."
. integration/common.sh
work=${1:-/tmp/mld-learn-measure}
hot=${HOT:-/work/hotdata/T350}
budget=${BUDGET:-50}
per_round=${PER_ROUND:-5}
steps=${STEPS:-10000}
deadline=${DEADLINE:-$(( $(date +%s) + 3600 ))}
data=samples/water32-xtb
mkdir -p "$work"
mld_in_work
log "start at $(git rev-parse --short HEAD): $(uptime)"
[ -s "$work/before.json" ] || "$MLD" fit "$data" -o "$work/before.json" --json > "$work/fit.json" 2> "$work/fit.log" || { log "fit failed"; exit 1; }
log "fit done: $(uptime)"
model="$work/before.json"
labelled=0
round=0
while [ "$labelled" -lt "$budget" ] && [ "$(date +%s)" -lt "$deadline" ]; do
  round=$((round + 1))
  n=$(( budget - labelled < per_round ? budget - labelled : per_round ))
  "$MLD" learn "$data/md.inp" --model "$model" --data "$data" -o "$work/round$round.json" --work-dir "$work/learn" \
    --dataset "$work/labelled.extxyz" --temperatures 350 --budget "$n" --steps "$steps" --seed "$round" --test "350=$hot" --json \
    > "$work/learn-round$round.json" 2> "$work/learn-round$round.log" \
    || { log "round $round failed: $(tail -1 "$work/learn-round$round.log")"; exit 1; }
  added=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rounds'][0]['framesAdded'])" "$work/learn-round$round.json")
  labelled=$((labelled + added))
  model="$work/round$round.json"
  log "round $round: $added frames labelled ($labelled in all): $(uptime)"
  [ "$added" -gt 0 ] || break
done
cp "$model" "$work/after.json"
for m in before after; do
  "$MLD" evaluate "$work/$m.json" "$hot" --json > "$work/eval-$m-350.json" 2>> "$work/eval.log" || log "evaluate $m failed"
done
log "done: $(uptime)"
out="integration/learn/results-$(date -u +%F)-$(git rev-parse --short HEAD).md"
/usr/bin/python3 integration/learn/summarise.py "$work" > "$out"
log "wrote $out"
