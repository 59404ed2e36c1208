#!/usr/bin/env bash
# Where the mean temperature of a heating model sits under a global Nosé–Hoover chain (docs/thermostats.md, "Steady heat
# and the chain's offset"): each model runs from a CP2K frame with its velocities under a global chain (τ TAU fs, 300 K)
# once per chain length in CHAINS, the lengths of one model side by side on the two cores. Per run: mean T after the first
# ps with its standard error from 10 blocks, the heat the thermostat takes out (least-squares slope of the conserved
# quantity, eV/ps: the net work of agent-mode forces) and τP/(N_f k_B), the offset the chain of 3 would show if its links
# did not fluctuate. Writes integration/agent/chain-offset-YYYY-MM-DD-COMMIT[-TAG].md.
#   integration/agent/chain-offset.sh PS MODEL...   (e.g. 200 models/a.json models/b.json)
# Environment: CHAINS ("1 3"), TAU (100), RUN (samples/water32-xtb), FRAME (-1), TAG, MLD (a built CLI), PYTHON (with
# numpy; default /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
. integration/common.sh
ps=$1; shift
chains=${CHAINS:-1 3}; tau=${TAU:-100}; run=${RUN:-samples/water32-xtb}; frame=${FRAME:--1}; py=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mld_in_work
steps=$((ps * 2000))   # 0.5 fs
commit=$(git rev-parse --short HEAD)   # at the start: the runs are this commit's, whatever is committed meanwhile
out=integration/agent/chain-offset-$(date -u +%Y-%m-%d)-$commit${TAG:+-$TAG}.md
started=$(date -u '+%Y-%m-%d %H:%M UTC')
i=0
for model in "$@"; do
  for c in $chains; do
    log "model $model, chain of $c: $ps ps"
    ( "$MLD" run "$model" --from "$run" --frame "$frame" --steps "$steps" --tau "$tau" --massive false --chain "$c" \
        --log "$work/$i-$c.csv" --log-every 200 --every 100000000 >"$work/$i-$c.out" 2>&1 \
        && echo finished >"$work/$i-$c.status" || tail -n 1 "$work/$i-$c.out" >"$work/$i-$c.status" ) &
  done
  wait
  i=$((i + 1))
done
"$py" - "$work" "$tau" "$chains" "$@" >"$out" <<PY
import csv, os, sys
import numpy as np
work, tau, chains, models = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]
kB = 8.617333262e-5
print("# Mean temperature of heating models under a global Nosé–Hoover chain\n")
print(f"Written by integration/agent/chain-offset.sh, started $started at $commit.")
print(f"Each run: \`mld run MODEL --from $run --frame $frame --steps $steps --tau {tau:g} --massive false --chain C\` (0.5 fs, 300 K, the frame's velocities).")
print("T: mean after the first ps ± its standard error from 10 blocks. P: the heat the thermostat takes out, the slope of the conserved")
print("quantity (for agent-mode forces, the net work they do). τP/(N_f k_B): the offset a chain of 3 would show if its links did not fluctuate.\n")
print("| model | chain | ran (ps) | status | T (K) | T − 300 K | P (eV/ps) | τP/(N_f k_B) (K) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for i, model in enumerate(models):
    for c in chains:
        f = f"{work}/{i}-{c}.csv"
        status = open(f"{work}/{i}-{c}.status").read().strip()
        rows = [(float(r["time_fs"]), float(r["temperature_K"]), float(r["kinetic_eV"]), float(r["conserved_eV"]))
                for r in csv.DictReader(open(f)) if r.get("conserved_eV")] if os.path.exists(f) else []
        if len(rows) < 30:
            print(f"| {os.path.basename(model)} | {c} | – | {status} | – | – | – | – |"); continue
        t, T, K, H = np.array(rows).T
        late = t >= 1000
        blocks = [b.mean() for b in np.array_split(T[late], 10)]
        dof = np.median(2 * K[T > 0] / (kB * T[T > 0]))   # N_f as the run counts it (3N − 3)
        P = np.polyfit(t[late] / 1000, H[late], 1)[0]
        print(f"| {os.path.basename(model)} | {c} | {t[-1] / 1000:.0f} | {status} | {T[late].mean():.2f} ± {np.std(blocks, ddof=1) / np.sqrt(10):.2f} | "
              f"{T[late].mean() - 300:+.2f} | {P:.3f} | {tau * P / 1000 / (dof * kB):.2f} |")
PY
{ echo; echo "Machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)."; } >>"$out"
cat "$out"; echo "wrote $out"
