#!/usr/bin/env bash
# How noisy a CP2K run's forces are: recomputes one frame with CP2K as recorded and rigidly translated (eggbox.py) and
# writes integration/smalldata/eggbox-YYYY-MM-DD.md. Two DFT single points: ~15 min each on one loaded core for the
# 96-atom PBE run. Outputs already in WORKDIR are reused (same inputs), so a finished run is not repeated.
#   integration/smalldata/eggbox.sh [RUN] [FRAME] [SHIFT_Å] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
run=${1:-/work/shared/data/water32-pbe}; frame=${2:-130}; shift_a=${3:-0.048}; work=${4:-$(mktemp -d)}
mkdir -p "$work"
/usr/bin/python3 integration/smalldata/eggbox.py prepare "$run" "$frame" "$shift_a" "$work"
for name in orig shift; do
  if [ -s "$work/$name-forces.dat" ]; then echo "reusing $work/$name-forces.dat"; continue; fi
  echo "cp2k single point: $name"
  (cd "$work" && OMP_NUM_THREADS=1 cp2k.psmp -i "$name.inp" -o "$name.out")
done
out=integration/smalldata/eggbox-$(date -u +%Y-%m-%d).md
{
  echo "# Egg-box test of \`$run\`, frame $frame"
  echo
  echo "Written by integration/smalldata/eggbox.sh on $(date -u '+%Y-%m-%d %H:%M UTC'). CP2K single points of the frame as"
  echo "recorded and translated rigidly by $shift_a Å along x, y and z, against the run's recorded forces. A physical"
  echo "force field's forces do not change under translation; the change is the plane-wave grid's noise (cutoff: $(grep -m1 ' CUTOFF' "$run/md.inp" | awk '{print $2}') Ry)."
  echo
  /usr/bin/python3 integration/smalldata/eggbox.py compare "$run" "$frame" "$work"
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
echo "wrote $out"
