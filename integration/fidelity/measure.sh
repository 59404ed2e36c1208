#!/usr/bin/env bash
# Dynamics fidelity (issue 16): VDOS peaks and the O self-diffusion coefficient of CP2K's shipped
# xTB run against learned MD (agent default under massive and weaker chains; conservative default
# and accurate preset in NVE and under CP2K's global chain, tau 100 fs). Models are fitted here with
# `mld fit`; every run starts from the CP2K run's first frame with its velocities, 0.5 fs steps,
# a frame every 4 steps (2 fs: Nyquist 8339 cm^-1, above the O-H stretch).
#   integration/fidelity/measure.sh [WORKDIR]   (PS=10 ps per run; MLD=a built mld; SKIP_ANALYZE=1: fits and runs only)
# Then summarise.py writes integration/fidelity/results-<date>.md/.json.
set -uo pipefail
cd "$(dirname "$0")/../.."
. integration/common.sh
data=${MLD_DATA:-/work/shared/data/water32-xtb}
work=${1:-integration/fidelity/work}
ps=${PS:-10}
steps=$((ps * 2000))
mkdir -p "$work"
mld_in_work
log "start: $(uptime)"

fit() { # name, options...
  local name=$1; shift
  [ -s "$work/$name.json" ] && return
  log "fit $name: $*"
  "$MLD" fit "$data" -o "$work/$name.json" "$@" > "$work/$name.fit.txt" 2>&1 || log "fit $name failed (see $name.fit.txt)"
}
fit agent
fit conservative --mode conservative
fit accurate --preset accurate

run() { # name, model, run options...
  local name=$1 model=$2; shift 2
  if [ ! -f "$work/$name.done" ]; then
    log "run $name ($model, $ps ps): $*"
    rm -f "$work/$name.extxyz" "$work/$name.csv"
    local start=$SECONDS
    "$MLD" run "$work/$model.json" --from "$data" --steps "$steps" --trajectory "$work/$name.extxyz" --every 4 \
      --log "$work/$name.csv" --log-every 20 "$@" > "$work/$name.run.txt" 2>&1
    echo "rc=$? seconds=$((SECONDS - start)) options=$*" > "$work/$name.done"
    log "run $name: $(cat "$work/$name.done")"
  fi
  [ -n "${SKIP_ANALYZE:-}" ] && return
  if [ ! -s "$work/$name.analysis.json" ] && [ -s "$work/$name.extxyz" ]; then
    "$MLD" analyze "$work/$name.extxyz" --skip 200 --json > "$work/$name.analysis.json" 2> "$work/$name.analysis.err" \
      || log "analyze $name failed (see $name.analysis.err)"
  fi
}
# The reference once (summarise.py sets every run beside it).
[ -n "${SKIP_ANALYZE:-}" ] || [ -s "$work/cp2k.analysis.json" ] || "$MLD" analyze "$data" --skip 200 --json > "$work/cp2k.analysis.json" 2> "$work/cp2k.analysis.err"
run agent-massive-tau10 agent --massive --tau 10
run agent-massive-tau100 agent --massive --tau 100
run agent-global-tau25 agent --tau 25
run agent-global-tau100 agent --tau 100
run conservative-nve conservative --thermostat none
run conservative-global-tau100 conservative --tau 100
run accurate-nve accurate --thermostat none
run accurate-global-tau100 accurate --tau 100
# Two HTML reports with the spectra overlaid on CP2K's.
if [ -z "${SKIP_ANALYZE:-}" ]; then
  for name in agent-massive-tau10 conservative-global-tau100; do
    [ -s "$work/$name.html" ] || "$MLD" analyze "$work/$name.extxyz" --reference "$data" --skip 200 --title "$name vs CP2K" \
      --report "$work/$name.html" > /dev/null 2>> "$work/$name.analysis.err" || log "report $name failed"
  done
fi
# Scatter of 2 ps pieces (CP2K's length) of two 10 ps runs: how far peaks and D_O move from piece to piece.
if [ -z "${SKIP_ANALYZE:-}" ]; then
  for name in agent-massive-tau10 conservative-global-tau100; do
    lines=$(( $(head -1 "$work/$name.extxyz") + 2 ))
    for piece in 1 2 3 4; do  # frames 1000k+1 .. 1000(k+1)+1 (2 fs apart), after the first piece's start
      out="$work/$name.piece$piece.analysis.json"
      [ -s "$out" ] && continue
      tail -n +$(( piece * 1000 * lines + 1 )) "$work/$name.extxyz" | head -n $(( 1001 * lines )) > "$work/piece.extxyz"
      "$MLD" analyze "$work/piece.extxyz" --json > "$out" 2>> "$work/$name.analysis.err" || log "piece $piece of $name failed"
    done
  done
  rm -f "$work/piece.extxyz"
fi
log "done: $(uptime)"
