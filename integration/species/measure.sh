#!/usr/bin/env bash
# Held-out force relRMSE per species of the built-in bases on data with species other than O and H: as before
# (BEFORE, a build of the commit before the bonded terms) and with the bonded terms the fit derives (AFTER).
#   integration/species/measure.sh DATA [BEFORE_DLL] [AFTER_DLL]   (an empty DLL argument skips that side)
# MODES (default "accurate conservative agent") picks the bases; one line per fit goes to stdout and a table row to
# results-$(date +%F).md here. Fits of a 38-atom, 4-species run take minutes each on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${1:?data}
before=${2:-}
after=${3-$here/../../src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$here/results-$(date +%F).md
for mode in ${MODES:-accurate conservative agent}; do
  case $mode in accurate) args=();; *) args=(--mode "$mode");; esac
  for which in before after; do
    dll=${!which}
    [ -n "$dll" ] || continue
    start=$(date +%s)
    dotnet "$dll" fit "$data" -o "$work/$mode-$which.json" "${args[@]}" --json > "$work/$mode-$which.out" 2> "$work/$mode-$which.err"
    secs=$(( $(date +%s) - start ))
    row=$(python3 - "$work/$mode-$which.out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
h = r["holdout"]["species"]
print(" | ".join(f"{s} {h[s]['relRmse']:.3f}" for s in sorted(h)), "|", r["invariants"], "|", r["parameters"])
PY
)
    echo "| $(basename "$data") | $mode | $which | $row | $secs |" | tee -a "$out"
    grep -h "^note: the basis\|^note: the built-in" "$work/$mode-$which.err" | cut -c1-400 || true
  done
done
