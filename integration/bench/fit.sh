#!/usr/bin/env bash
# How long `mld fit` takes: the shipped water sample (2 species) and the shipped 4-species sample (samples/mix38-xtb,
# 5300 parameters in conservative mode), agent and conservative defaults, wall and CPU seconds of the whole process
# (/usr/bin/time). With --before DIR (a CLI built from an earlier commit), the same fits with it, alternating with this
# build so both see the same load, and each pair's models compared: ridge per species and the largest parameter
# difference relative to the largest parameter.
# Writes integration/bench/fit-<date>-<commit>.json (every timing and comparison) and .md.
# Usage: integration/bench/fit.sh [--before DIR] [--rounds 1]   (a few minutes a round and build)
set -euo pipefail
cd "$(dirname "$0")/../.."
. integration/common.sh
before=""; rounds=1
parse_options fit.sh "before rounds" "$@"
bench_setup integration/bench/fit
builds=(after)
[ -n "$before" ] && builds=(before after)
cases=("water32-xtb agent" "water32-xtb conservative" "mix38-xtb agent" "mix38-xtb conservative")
for round in $(seq 1 "$rounds"); do
  for c in "${cases[@]}"; do
    read -r sample mode <<< "$c"
    for build in "${builds[@]}"; do
      cli=("${mld[@]}")
      [ "$build" = before ] && cli=(dotnet "$before/mld.dll")
      load=$(cut -d' ' -f1 /proc/loadavg)
      echo "fit.sh: round $round $build $sample $mode (load $load)" >&2
      name="$build-$sample-$mode-$round"
      /usr/bin/time -f "%e %U %S" -o "$work/$name.time" "${cli[@]}" fit "samples/$sample" --mode "$mode" -o "$work/$name.json" \
        > /dev/null 2> "$work/$name.err"
      echo "$load" > "$work/$name.load"
    done
  done
done
/usr/bin/python3 - "$work" "$base" "$commit" "$rounds" "${builds[*]}" "$before" <<'PY'
import json, os, sys, datetime
work, base, commit, rounds, builds, before = sys.argv[1:]
builds, rounds = builds.split(), int(rounds)
cases = [("water32-xtb", "agent"), ("water32-xtb", "conservative"), ("mix38-xtb", "agent"), ("mix38-xtb", "conservative")]
runs = []
for r in range(1, rounds + 1):
    for sample, mode in cases:
        for b in builds:
            name = f"{b}-{sample}-{mode}-{r}"
            wall, user, system = map(float, open(os.path.join(work, name + ".time")).read().split()[-3:])
            model = json.load(open(os.path.join(work, name + ".json")))
            p = model["parameters"]
            runs.append({"build": b, "sample": sample, "mode": mode, "round": r, "wallS": wall, "cpuS": user + system,
                         "load": float(open(os.path.join(work, name + ".load")).read()),
                         "parameters": sum(len(v["b"]) + len(v.get("cUpper", [])) for v in p.values()),
                         "ridge": model["training"]["ridge"],
                         "holdoutRelRmse": {s: v["relRmse"] for s, v in model["training"]["holdout"]["species"].items()},
                         "theta": {s: v["b"] + v.get("cUpper", []) for s, v in p.items()}})
def best(b, sample, mode, key):
    xs = [x[key] for x in runs if (x["build"], x["sample"], x["mode"]) == (b, sample, mode)]
    return min(xs) if xs else None
compare = {}
if "before" in builds:
    for sample, mode in cases:
        a = next(x for x in runs if (x["build"], x["sample"], x["mode"], x["round"]) == ("before", sample, mode, 1))
        b = next(x for x in runs if (x["build"], x["sample"], x["mode"], x["round"]) == ("after", sample, mode, 1))
        worst = max(max(abs(u - v) for u, v in zip(a["theta"][s], b["theta"][s])) / max(abs(v) for v in a["theta"][s]) for s in a["theta"])
        compare[f"{sample} {mode}"] = {"sameRidge": a["ridge"] == b["ridge"], "maxRelParameterDifference": worst,
                                       "holdoutBefore": a["holdoutRelRmse"], "holdoutAfter": b["holdoutRelRmse"]}
for x in runs: del x["theta"]
out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "commit": commit, "before": before or None,
       "command": "mld fit samples/SAMPLE --mode MODE -o MODEL (defaults otherwise)", "runs": runs, "compare": compare}
tmp = base + ".json.tmp"
json.dump(out, open(tmp, "w"), indent=1)
os.replace(tmp, base + ".json")
lines = [f"# `mld fit` times ({out['date']}, commit {commit})", "",
         f"`integration/bench/fit.sh`: `{out['command']}`, {rounds} round(s), the builds alternating per fit; seconds of the whole"
         " process, the best round (wall / CPU = user + system). Raw: the .json beside this file.", "",
         "| sample | mode | parameters | " + " | ".join(f"{b} wall / CPU (s)" for b in builds) + (" | after / before (wall) |" if "before" in builds else " |"),
         "|---|---|---|" + "---|" * len(builds) + ("---|" if "before" in builds else "")]
for sample, mode in cases:
    par = next(x["parameters"] for x in runs if (x["sample"], x["mode"]) == (sample, mode))
    cells = [f"{best(b, sample, mode, 'wallS'):.1f} / {best(b, sample, mode, 'cpuS'):.1f}" for b in builds]
    ratio = f" | {best('after', sample, mode, 'wallS') / best('before', sample, mode, 'wallS'):.2f} |" if "before" in builds else " |"
    lines.append(f"| {sample} | {mode} | {par:,} | " + " | ".join(cells) + ratio)
if compare:
    lines += ["", f"Before: `{before}`. The models of the two builds (round 1):", "",
              "| sample | mode | same ridge | largest parameter difference / largest parameter |", "|---|---|---|---|"]
    for k, v in compare.items():
        s, m = k.split()
        lines.append(f"| {s} | {m} | {'yes' if v['sameRidge'] else 'no'} | {v['maxRelParameterDifference']:.1e} |")
lines += ["", f"Load average (1 min) at the start of each fit: {min(x['load'] for x in runs):.1f}–{max(x['load'] for x in runs):.1f}."]
tmp = base + ".md.tmp"
open(tmp, "w").write("\n".join(lines) + "\n")
os.replace(tmp, base + ".md")
print("\n".join(lines))
PY
