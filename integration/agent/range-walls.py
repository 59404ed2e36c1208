#!/usr/bin/env python3
"""Turns range walls on in a model file from its recorded training ranges, as `mld fit --range-walls S` would place them
(ModelFitter.WithRanges: from min - 0.5 scale to max + 0.5 scale, scale = the training std floored at 0.01, 1 for an
invariant that never varied; cap 1 scale; at order 2 only invariants with a non-zero row of C), and sets "wallForces".
    range-walls.py MODEL OUT STRENGTH agent|gradient        (STRENGTH 0: no range walls, the ranges kept)
Setting only the wall forces of a model that has walls needs no script: add "wallForces": "gradient" beside "mode"."""
import json, sys

model, out, strength, forces = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
if forces not in ("agent", "gradient"): sys.exit(f"wall forces: agent or gradient, not '{forces}'")
m = json.load(open(model))
MARGIN, MIN_SCALE, CAP = 0.5, 0.01, 1.0
for sym, p in m["parameters"].items():
    p.pop("bounds", None)
    if strength <= 0: continue
    if "range" not in p: sys.exit(f"{model}: parameters.{sym} has no training range to place walls on")
    r = p["range"]; k = len(r["min"])
    walled = [True] * k
    if m["order"] == 2:  # the upper triangle row by row: C[a][b] for b >= a
        c, rows, i = p["cUpper"], [False] * k, 0
        for a in range(k):
            for b in range(a, k):
                if c[i] != 0: rows[a] = rows[b] = True
                i += 1
        walled = rows
    scale = [max(s, MIN_SCALE) if s > 1e-12 else 1.0 for s in r["std"]]
    big = 1.7976931348623157e308
    p["bounds"] = {"strength": strength, "cap": CAP,
                   "min": [lo - MARGIN * s if w else -big for lo, s, w in zip(r["min"], scale, walled)],
                   "max": [hi + MARGIN * s if w else big for hi, s, w in zip(r["max"], scale, walled)],
                   "scale": scale}
# "wallForces" beside "mode" (absent means agent: every older file).
m = {key: val for key, val in m.items() if key != "wallForces"}
ordered = {}
for key, val in m.items():
    ordered[key] = val
    if key == "mode" and forces == "gradient": ordered["wallForces"] = "gradient"
# the parameters' order as the writer has it: b, cUpper, bounds, range
for p in ordered["parameters"].values():
    keys = [x for x in ("b", "cUpper", "bounds", "range") if x in p] + [x for x in p if x not in ("b", "cUpper", "bounds", "range")]
    p_items = {x: p[x] for x in keys}; p.clear(); p.update(p_items)
json.dump(ordered, open(out, "w"), indent=2)
