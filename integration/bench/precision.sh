#!/usr/bin/env bash
# --precision mixed against double, in one run: for the agent default (order 2), the conservative default (order 2) and
# the accurate preset, fitted once on samples/water32-xtb,
#   - speed: `mld bench --threads 1` at 2,592 atoms, double then mixed back to back (so both see the same load), under
#     each instruction set: plain (widest vectors), DOTNET_EnableAVX512=0 (256 bits), DOTNET_EnableAVX2=0 (128 bits);
#     ROUNDS (default 2) alternations per cell, the best of each kept;
#   - accuracy: the mixed bench's "precision" rows (force difference from double over the rms force, energy, virial);
#   - NVE drift (the two conservative models): `mld run --thermostat none` from the sample's first frame (96 atoms), PS
#     picoseconds (default 5) at 0.5 fs, double and mixed, the conserved energy's drift per ps (least-squares slope) and its rms wobble.
# Writes integration/bench/precision-<date>-<commit>.json (every report) and .md (the tables), temp file + rename.
# Usage: integration/bench/precision.sh [--seconds S] [--rounds N] [--ps PS]   (~15 minutes on 2 shared cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
. integration/common.sh
seconds=1; rounds=2; ps=5
parse_options precision.sh "seconds rounds ps" "$@"
bench_setup integration/bench/precision
"${mld[@]}" fit "$data" --mode agent --order 2 -o "$work/agent.json" > /dev/null
"${mld[@]}" fit "$data" --mode conservative --order 2 -o "$work/conservative.json" > /dev/null
"${mld[@]}" fit "$data" --preset accurate -o "$work/accurate.json" > /dev/null
steps=$(awk -v p="$ps" 'BEGIN {printf "%d", p * 2000}')
for model in conservative accurate; do
  for precision in double mixed; do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "precision.sh: NVE $model $precision, $steps steps (load $load)" >&2
    "${mld[@]}" run "$work/$model.json" --from "$data" --steps "$steps" --timestep 0.5 --thermostat none \
      --log "$work/nve-$model-$precision.csv" --log-every 20 --precision "$precision" > /dev/null 2>&1
  done
done
for model in agent conservative accurate; do
  for setting in plain noavx512 noavx2; do
    isa_env "$setting"
    for round in $(seq 1 "$rounds"); do
      for precision in double mixed; do
        load=$(cut -d' ' -f1-3 /proc/loadavg)
        echo "precision.sh: bench $model $setting $precision round $round (load $load)" >&2
        env "${envs[@]}" "${mld[@]}" bench --model "$work/$model.json" --replicas 3 --threads 1 --seconds "$seconds" \
          --precision "$precision" --json > "$work/$model-$setting-$precision-$round.json"
        echo "$load" > "$work/$model-$setting-$precision-$round.load"
      done
    done
  done
done
/usr/bin/python3 - "$work" "$base" "$commit" "$seconds" "$rounds" "$ps" <<'PY'
import csv, json, os, sys, datetime
work, base, commit, seconds, rounds, ps = sys.argv[1:]
rounds = int(rounds)
models, settings, precisions = ["agent", "conservative", "accurate"], ["plain", "noavx512", "noavx2"], ["double", "mixed"]
env = {"plain": "(none)", "noavx512": "DOTNET_EnableAVX512=0", "noavx2": "DOTNET_EnableAVX2=0"}
runs, speed, accuracy = {}, {}, {}
for m in models:
    for s in settings:
        for p in precisions:
            best = None
            for r in range(1, rounds + 1):
                report = json.load(open(os.path.join(work, f"{m}-{s}-{p}-{r}.json")))
                load = open(os.path.join(work, f"{m}-{s}-{p}-{r}.load")).read().split()
                runs[f"{m}/{s}/{p}/{r}"] = {"environment": env[s], "loadAverage": load, "report": report}
                row = max((x for x in report["forceEval"] if x["forceField"] == "learned" and x["threads"] == 1), key=lambda x: x["atoms"])
                assert row["precision"] == p, (m, s, p, row["precision"])
                cell = (row["nsPerAtomStep"], row["cpuNsPerAtomStep"], row["vectorBits"], row["atoms"], float(load[0]))
                best = cell if best is None or cell[1] < best[1] else best
                for x in report.get("precision", []):
                    accuracy[m, s] = x
            speed[m, s, p] = best
drift = {}
for m in ["conservative", "accurate"]:
    for p in precisions:
        rows = list(csv.DictReader(open(os.path.join(work, f"nve-{m}-{p}.csv"))))
        t = [float(r["time_fs"]) / 1000 for r in rows]
        e = [float(r["conserved_eV"]) for r in rows]
        n = len(t); mt = sum(t) / n; me = sum(e) / n
        slope = sum((a - mt) * (b - me) for a, b in zip(t, e)) / sum((a - mt) ** 2 for a in t)
        wobble = (sum((b - me - slope * (a - mt)) ** 2 for a, b in zip(t, e)) / n) ** 0.5
        drift[m, p] = (slope, wobble, t[-1], e[0], e[-1])
out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "commit": commit,
       "command": f"mld bench --model MODEL --replicas 3 --threads 1 --seconds {seconds} --precision double|mixed --json, best CPU of {rounds} alternations",
       "nve": {f"{m}/{p}": {"driftEvPerPs": v[0], "rmsWobbleEv": v[1], "ps": v[2], "first": v[3], "last": v[4]} for (m, p), v in drift.items()},
       "runs": runs}
tmp = base + ".json.tmp"
json.dump(out, open(tmp, "w"), indent=1)
os.replace(tmp, base + ".json")
lines = [f"# Mixed against double precision ({out['date']}, commit {commit})", "",
         "`integration/bench/precision.sh`. Speed: " + f"`{out['command']}`" + "; double and mixed back to back per cell,",
         "so a ratio compares runs under the same load (the load average is the 1-minute figure of the mixed run).", "",
         "| model | setting | vectorBits | atoms | double CPU ns/atom-step | mixed CPU ns/atom-step | mixed / double (CPU) | mixed / double (wall, best batch) | load |",
         "|---|---|---|---|---|---|---|---|---|"]
for m in models:
    for s in settings:
        d, x = speed[m, s, "double"], speed[m, s, "mixed"]
        lines.append(f"| {m} | {env[s]} | {x[2]} | {x[3]} | {d[1]:,.0f} | {x[1]:,.0f} | {x[1] / d[1]:.3f} | {x[0] / d[0]:.3f} | {x[4]:.1f} |")
lines += ["", "Accuracy of mixed (the mixed bench's `precision` rows, 2,592 atoms): difference from double.", "",
          "| model | setting | rms ΔF / rms F | max ΔF / rms F | ΔE per atom (eV) | max ΔW / max W |", "|---|---|---|---|---|---|"]
for m in models:
    for s in settings:
        a = accuracy.get((m, s))
        if a: lines.append(f"| {m} | {env[s]} | {a['forceRmsDifferenceOverRmsForce']:.2e} | {a['forceMaxDifferenceOverRmsForce']:.2e} | {a['energyDifferencePerAtomEv']:.1e} | {a['virialMaxDifferenceOverMaxVirial']:.1e} |")
lines += ["", f"NVE (`mld run MODEL --from samples/water32-xtb --thermostat none --timestep 0.5`, 96 atoms, {ps} ps, widest vectors):",
          "drift of the conserved energy (least-squares slope) and its rms wobble about the line. The conservative models only:",
          "agent-mode forces are not a gradient, so NVE with them heats up (the agent default passes 3000 K within 1 ps).", "",
          "| model | precision | drift (eV/ps) | drift per atom (µeV/ps) | rms wobble (eV) |", "|---|---|---|---|---|"]
for m in ["conservative", "accurate"]:
    for p in precisions:
        slope, wobble, _, _, _ = drift[m, p]
        lines.append(f"| {m} | {p} | {slope:.2e} | {slope / 96 * 1e6:.2f} | {wobble:.2e} |")
tmp = base + ".md.tmp"
open(tmp, "w").write("\n".join(lines) + "\n")
os.replace(tmp, base + ".md")
print("\n".join(lines))
PY
