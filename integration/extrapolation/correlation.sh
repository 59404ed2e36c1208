#!/usr/bin/env bash
# How well the extrapolation signal predicts the force error on hot data, and what capping the range walls changed.
# Fits the agent default, the conservative default and the accurate preset on the shipped 300 K run (samples/water32-xtb),
# evaluates each on the hot CP2K runs given (GFN1-xTB, same box, hotter) and on the 300 K run itself; for each model also
# the same file with the range-wall cap removed ("uncapped": the walls as fitted before the cap; nothing else differs).
# Reports per model: hot O/H force RMSE, the worst 50-frame window of O, Spearman's rank correlation between a frame's
# extrapolation and its force RMSE (all atoms; and O only), frames outside the range, and the 300 K held-out O/H RMSE
# (the fit's held-out block: the last 20% of the frames).
# Each model is fitted with a committee (--committee $COMMITTEE, default 8): Spearman against the frame's force RMSE of the
# committee deviation (largest atomic force std over the members, DeePMD's max_devi_f), of its RMS and of its mean over atoms,
# over all hot frames and per hot run; the fit's committee seconds against the whole fit; evaluate's seconds for the members' pass against
# the plain pass (forces, errors, signal) in the same process; and the wall time of `evaluate` with the committee against the
# uncapped file without it (the committee stripped; both include loading the data).
# Writes integration/extrapolation/results-<date>-<commit>.{json,md}.
# Usage: [COMMITTEE=K] integration/extrapolation/correlation.sh HOT_RUN [HOT_RUN...]   (some 10 minutes on 2 shared cores)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 HOT_RUN [HOT_RUN...] (CP2K run directories or prefixes with forces)" >&2; exit 2; }
hot=("$@")
cd "$(dirname "$0")/../.."
. integration/common.sh
bench_setup integration/extrapolation/results
committee=${COMMITTEE:-8}
"${mld[@]}" fit "$data" --mode agent --committee "$committee" -o "$work/agent.json" --json > "$work/agent-fit.json" 2> /dev/null
"${mld[@]}" fit "$data" --mode conservative --committee "$committee" -o "$work/conservative.json" --json > "$work/conservative-fit.json" 2> /dev/null
"${mld[@]}" fit "$data" --preset accurate --committee "$committee" -o "$work/accurate.json" --json > "$work/accurate-fit.json" 2> /dev/null
for m in agent conservative accurate; do
  /usr/bin/python3 - "$work/$m.json" "$work/$m-uncapped.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["parameters"].values():
    p.get("bounds", {}).pop("cap", None)
d.pop("committee", None)
json.dump(d, open(sys.argv[2], "w"))
PY
done
for m in agent conservative accurate; do
  for v in "$m" "$m-uncapped"; do
    echo "correlation.sh: $v (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    t0=$(date +%s.%N)
    for i in "${!hot[@]}"; do "${mld[@]}" evaluate "$work/$v.json" "${hot[$i]}" --json > "$work/$v-hot-$i.json"; done
    echo "$(date +%s.%N) - $t0" | bc > "$work/$v-hot.seconds"
    "${mld[@]}" evaluate "$work/$v.json" "$data" --json > "$work/$v-300.json"
  done
done
/usr/bin/python3 - "$work" "$base" "$commit" "$stamp" "$(cut -d' ' -f1-3 /proc/loadavg)" "$committee" "${hot[@]}" <<'PY'
import json, math, sys
work, base, commit, stamp, load, members, hot = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7:]

def rank(x):
    order = sorted(range(len(x)), key=lambda i: x[i])
    r = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r

def spearman(x, y):
    rx, ry = rank(x), rank(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx); syy = sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")

def rms(v):
    return math.sqrt(sum(x * x for x in v) / len(v))

rows = []
for m in ["agent", "conservative", "accurate"]:
    for v in [m, m + "-uncapped"]:
        runs = [json.load(open(f"{work}/{v}-hot-{i}.json")) for i in range(len(hot))]
        c = json.load(open(f"{work}/{v}-300.json"))
        pf = [p for h in runs for p in h["perFrame"]]
        runFrames = [len(h["perFrame"]) for h in runs]
        ext = [p["extrapolation"] for p in pf]
        o = [p["rmse"]["O"] for p in pf]
        windows = [rms(o[a:a + 50]) for a in range(0, max(1, len(o) - 49))]
        held = c["perFrame"][len(c["perFrame"]) - round(0.2 * len(c["perFrame"])):]
        rows.append({
            "model": v,
            "hotFrames": len(pf),
            "hotRmse": {s: rms([p["rmse"][s] for p in pf]) for s in runs[0]["species"]},
            "worst50FrameWindowO": max(windows),
            "spearman": spearman(ext, [p["forceRmse"] for p in pf]),
            "spearmanO": spearman(ext, o),
            "framesOutside": sum(1 for e in ext if e > 0),
            "largestExtrapolation": max(ext),
            "mostFrequentInvariant": max(set(p.get("invariant") for p in pf), key=lambda s: sum(1 for p in pf if p.get("invariant") == s)),
            "heldout300Rmse": {s: rms([p["rmse"][s] for p in held]) for s in runs[0]["species"]},
            "evaluateSeconds": float(open(f"{work}/{v}-hot.seconds").read()),
        })
        if "committee" in pf[0]:
            fit = json.load(open(f"{work}/{m}-fit.json"))
            com = [p["committee"] for p in pf]
            crms = [p["committeeRms"] for p in pf]
            cmean = [p["committeeMean"] for p in pf]
            err = [p["forceRmse"] for p in pf]
            starts = [sum(runFrames[:i]) for i in range(len(runFrames) + 1)]
            rows[-1].update({
                "committee": members,
                "spearmanCommittee": spearman(com, err),
                "spearmanCommitteeRms": spearman(crms, err),
                "spearmanCommitteeMean": spearman(cmean, err),
                "spearmanCommitteeO": spearman(com, o),
                "perRun": [{"run": hot[i], "frames": runFrames[i],
                            "spearmanCommittee": spearman(com[starts[i]:starts[i + 1]], err[starts[i]:starts[i + 1]]),
                            "spearmanCommitteeRms": spearman(crms[starts[i]:starts[i + 1]], err[starts[i]:starts[i + 1]]),
                            "spearmanCommitteeMean": spearman(cmean[starts[i]:starts[i + 1]], err[starts[i]:starts[i + 1]]),
                            "spearman": spearman(ext[starts[i]:starts[i + 1]], err[starts[i]:starts[i + 1]])} for i in range(len(hot))],
                "evaluateForceSeconds": sum(h["seconds"]["forces"] for h in runs),
                "evaluateCommitteeSeconds": sum(h["seconds"]["committee"] for h in runs),
                "committeeMedian": sorted(com)[len(com) // 2],
                "committeeLargest": max(com),
                "fitSeconds": fit["seconds"],
                "committeeFitSeconds": fit["committeeSeconds"],
                "committeeHeldout300Spearman": spearman([p["committee"] for p in held], [p["forceRmse"] for p in held]),
                "committeeRmsHeldout300Spearman": spearman([p["committeeRms"] for p in held], [p["forceRmse"] for p in held]),
                "committeeMeanHeldout300Spearman": spearman([p["committeeMean"] for p in held], [p["forceRmse"] for p in held]),
            })
for r in rows:
    if "committee" in r:
        plain = next(x for x in rows if x["model"] == r["model"] + "-uncapped")
        r["evaluateSecondsRatio"] = r["evaluateSeconds"] / plain["evaluateSeconds"]
json.dump({"date": stamp, "commit": commit, "load": load, "hot": hot, "training": "samples/water32-xtb", "committee": members, "models": rows},
          open(base + ".json", "w"), indent=2)
with open(base + ".md", "w") as f:
    f.write(f"# Extrapolation signal against force error ({stamp}, {commit}, load {load})\n\n")
    f.write(f"Fitted on samples/water32-xtb (300 K); hot data: {' '.join(hot)}. RMSE per force component, eV/Å. "
            "Spearman: rank correlation over hot frames between the frame's extrapolation and its force RMSE (all atoms; O atoms).\n\n")
    f.write("| model | hot O | hot H | worst 50-frame O | Spearman | Spearman (O) | frames outside | largest | 300 K held-out O | H |\n|---|---|---|---|---|---|---|---|---|---|\n")
    for r in rows:
        f.write(f"| {r['model']} | {r['hotRmse']['O']:.4f} | {r['hotRmse']['H']:.4f} | {r['worst50FrameWindowO']:.3f} | {r['spearman']:.3f} | "
                f"{r['spearmanO']:.3f} | {r['framesOutside']}/{r['hotFrames']} | {r['largestExtrapolation']:.2f} | "
                f"{r['heldout300Rmse']['O']:.4f} | {r['heldout300Rmse']['H']:.4f} |\n")
    f.write(f"\nCommittee of {members} members (bootstrap resamples of blocks of the training frames), the models above without \"-uncapped\". "
            "Spearman against the frame's force RMSE of: the committee deviation (max: largest atomic force std over members, eV/Å; "
            "RMS: its RMS over atoms; mean: its mean over atoms) and the extrapolation signal; over all hot frames, then per hot run; and on the 300 K held-out block.\n\n")
    f.write("| model | max | RMS | mean | extrapolation | " + " | ".join(f"run {i + 1} max / RMS / mean / extrapolation" for i in range(len(hot)))
            + " | 300 K held-out max / RMS / mean | committee median / largest (eV/Å) |\n|" + "---|" * (7 + len(hot)) + "\n")
    for r in rows:
        if "committee" not in r: continue
        f.write(f"| {r['model']} | {r['spearmanCommittee']:.3f} | {r['spearmanCommitteeRms']:.3f} | {r['spearmanCommitteeMean']:.3f} | {r['spearman']:.3f} | "
                + " | ".join(f"{x['spearmanCommittee']:.3f} / {x['spearmanCommitteeRms']:.3f} / {x['spearmanCommitteeMean']:.3f} / {x['spearman']:.3f}" for x in r["perRun"])
                + f" | {r['committeeHeldout300Spearman']:.3f} / {r['committeeRmsHeldout300Spearman']:.3f} / {r['committeeMeanHeldout300Spearman']:.3f} | {r['committeeMedian']:.4f} / {r['committeeLargest']:.4f} |\n")
    f.write("\nCost. fit: whole fit and the committee's part (seconds); evaluate, in one process: the plain pass (forces, errors, signal) "
            "and the members' pass over the hot frames (seconds, ratio); evaluate wall time with the committee against the same model "
            "without it (the uncapped file), both including loading the data.\n\n")
    f.write("| model | fit s (committee s) | plain / members pass s (ratio) | evaluate wall s with / without (ratio) |\n|---|---|---|---|\n")
    for r in rows:
        if "committee" not in r: continue
        plain = next(x for x in rows if x["model"] == r["model"] + "-uncapped")
        f.write(f"| {r['model']} | {r['fitSeconds']:.1f} ({r['committeeFitSeconds']:.1f}) | {r['evaluateForceSeconds']:.1f} / {r['evaluateCommitteeSeconds']:.1f} "
                f"({r['evaluateCommitteeSeconds'] / r['evaluateForceSeconds']:.2f}) | {r['evaluateSeconds']:.1f} / {plain['evaluateSeconds']:.1f} ({r['evaluateSecondsRatio']:.2f}) |\n")
print(open(base + ".md").read())
PY
