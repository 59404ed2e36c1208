#!/usr/bin/env bash
# How well the extrapolation signal predicts the force error on hot data, and what capping the range walls changed.
# Fits the agent default, the conservative default and the accurate preset on the shipped 300 K run (samples/water32-xtb),
# evaluates each on the hot CP2K runs given (GFN1-xTB, same box, hotter) and on the 300 K run itself; for each model also
# the same file with the range-wall cap removed ("uncapped": the walls as fitted before the cap; nothing else differs).
# Reports per model: hot O/H force RMSE, the worst 50-frame window of O, Spearman's rank correlation between a frame's
# extrapolation and its force RMSE (all atoms; and O only), frames outside the range, and the 300 K held-out O/H RMSE
# (the fit's held-out block: the last 20% of the frames).
# Writes integration/extrapolation/results-<date>-<commit>.{json,md}.
# Usage: integration/extrapolation/correlation.sh HOT_RUN [HOT_RUN...]   (a few minutes on 2 shared cores)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 HOT_RUN [HOT_RUN...] (CP2K run directories or prefixes with forces)" >&2; exit 2; }
hot=("$@")
cd "$(dirname "$0")/../.."
dotnet build src/MolecularLearning.Cli -c Release -nologo -v q > /dev/null
mld=(dotnet src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll)
commit=$(git rev-parse --short HEAD)
stamp=$(date -u +%Y-%m-%d)
base=integration/extrapolation/results-$stamp-$commit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data=samples/water32-xtb
"${mld[@]}" fit "$data" -o "$work/agent.json" > /dev/null
"${mld[@]}" fit "$data" --mode conservative -o "$work/conservative.json" > /dev/null
"${mld[@]}" fit "$data" --preset accurate -o "$work/accurate.json" > /dev/null
for m in agent conservative accurate; do
  /usr/bin/python3 - "$work/$m.json" "$work/$m-uncapped.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["parameters"].values():
    p.get("bounds", {}).pop("cap", None)
json.dump(d, open(sys.argv[2], "w"))
PY
done
for m in agent conservative accurate; do
  for v in "$m" "$m-uncapped"; do
    echo "correlation.sh: $v (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    "${mld[@]}" evaluate "$work/$v.json" "${hot[@]}" --json > "$work/$v-hot.json"
    "${mld[@]}" evaluate "$work/$v.json" "$data" --json > "$work/$v-300.json"
  done
done
/usr/bin/python3 - "$work" "$base" "$commit" "$stamp" "$(cut -d' ' -f1-3 /proc/loadavg)" "${hot[@]}" <<'PY'
import json, math, sys
work, base, commit, stamp, load, hot = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]

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
        h = json.load(open(f"{work}/{v}-hot.json"))
        c = json.load(open(f"{work}/{v}-300.json"))
        pf = h["perFrame"]
        ext = [p["extrapolation"] for p in pf]
        o = [p["rmse"]["O"] for p in pf]
        windows = [rms(o[a:a + 50]) for a in range(0, max(1, len(o) - 49))]
        held = c["perFrame"][len(c["perFrame"]) - round(0.2 * len(c["perFrame"])):]
        rows.append({
            "model": v,
            "hotFrames": len(pf),
            "hotRmse": {s: e["rmse"] for s, e in h["species"].items()},
            "worst50FrameWindowO": max(windows),
            "spearman": spearman(ext, [p["forceRmse"] for p in pf]),
            "spearmanO": spearman(ext, o),
            "framesOutside": sum(1 for e in ext if e > 0),
            "largestExtrapolation": max(ext),
            "mostFrequentInvariant": max(set(p.get("invariant") for p in pf), key=lambda s: sum(1 for p in pf if p.get("invariant") == s)),
            "heldout300Rmse": {s: rms([p["rmse"][s] for p in held]) for s in h["species"]},
        })
json.dump({"date": stamp, "commit": commit, "load": load, "hot": hot, "training": "samples/water32-xtb", "models": rows},
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
print(open(base + ".md").read())
PY
