#!/usr/bin/env python3
"""Table of measure.sh's runs: VDOS peaks (H spectrum) and D_O against CP2K's run.
   summarise.py [WORKDIR] -> integration/fidelity/results-<UTC date>.md and .json"""
import datetime, glob, json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
work = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "work")
ORDER = ["agent-massive-tau10", "agent-massive-tau100", "agent-global-tau25", "agent-global-tau100",
         "conservative-nve", "conservative-global-tau100", "accurate-nve", "accurate-global-tau100"]


def side(doc):
    h = (doc.get("vdos") or {}).get("H") or {}
    o = (doc.get("diffusion") or {}).get("O") or {}
    return {"frames": doc.get("analysedFrames"), "spanFs": (doc.get("endFs") or 0) - (doc.get("startFs") or 0),
            "temperature": (doc.get("temperature") or {}).get("mean"),
            "stretchCm1": h.get("stretchCm1"), "bendCm1": h.get("bendCm1"),
            "diffusionO": o.get("value"), "diffusionOError": o.get("error"),
            "fitFs": [o.get("fitFromFs"), o.get("fitToFs")], "errorFrom": o.get("errorFrom"),
            "velocitySource": (doc.get("dynamics") or {}).get("velocitySource"), "note": (doc.get("dynamics") or {}).get("note")}


def load(path):
    with open(path) as f:
        return json.load(f)


rows, ref = [], None
cp2k = os.path.join(work, "cp2k.analysis.json")
if os.path.exists(cp2k):
    ref = side(load(cp2k)["trajectory"])
for name in ORDER:
    done = os.path.join(work, name + ".done")
    if not os.path.exists(done):
        continue
    info = dict(kv.split("=", 1) for kv in open(done).read().split(" options=")[0].split())
    info["options"] = open(done).read().split(" options=", 1)[1].strip()
    row = {"run": name, "rc": int(info["rc"]), "seconds": int(info["seconds"]), "options": info["options"]}
    path = os.path.join(work, name + ".analysis.json")
    if os.path.exists(path) and os.path.getsize(path) > 0:
        row.update(side(load(path)["trajectory"]))
    rows.append(row)


def pct(v, r):
    return "" if v is None or r in (None, 0) else f" ({(v - r) / r * 100:+.1f}%)"


def dag(side):
    return "†" if side.get("errorFrom") == "molecule groups" else ""


def num(v, f):
    return "n/a" if v is None else format(v, f)


now = datetime.datetime.now(datetime.timezone.utc)
lines = [f"# Dynamics fidelity, {now:%Y-%m-%d %H:%M} UTC", "",
         "Written by integration/fidelity/summarise.py from integration/fidelity/measure.sh's runs "
         "(models fitted by `mld fit` on CP2K's xTB run; learned runs from its first frame, 0.5 fs steps, "
         "a frame every 2 fs; statistics after 200 fs). Peaks: H vibrational density of states; "
         "D_O: Einstein fit of the O MSD over 0.5–1 ps lags, ± standard error over 4–5 independent 2 ps stretches of the run, "
         "or, marked †, over 4 groups of oxygens when the run is too short for that (a lower bound: it leaves out correlations along the run).", "",
         "| run | options | exit | length (ps) | T (K) | O–H stretch (cm⁻¹) | H–O–H bend (cm⁻¹) | D_O (Å²/ps) |",
         "| --- | --- | --- | --- | --- | --- | --- | --- |"]
if ref:
    lines.append(f"| CP2K GFN1-xTB (global chain, τ 100 fs) | reference | — | {ref['spanFs'] / 1000:.2f} | {num(ref['temperature'], '.1f')} | "
                 f"{num(ref['stretchCm1'], '.0f')} | {num(ref['bendCm1'], '.0f')} | {num(ref['diffusionO'], '.3f')} ± {num(ref['diffusionOError'], '.3f')}{dag(ref)} |")
for r in rows:
    if "stretchCm1" not in r:
        lines.append(f"| {r['run']} | `{r['options']}` | {r['rc']} | n/a | | | | |")
        continue
    lines.append(f"| {r['run']} | `{r['options']}` | {r['rc']} | {r['spanFs'] / 1000:.2f} | {num(r['temperature'], '.1f')} | "
                 f"{num(r['stretchCm1'], '.0f')}{pct(r['stretchCm1'], ref and ref['stretchCm1'])} | "
                 f"{num(r['bendCm1'], '.0f')}{pct(r['bendCm1'], ref and ref['bendCm1'])} | "
                 f"{num(r['diffusionO'], '.3f')} ± {num(r['diffusionOError'], '.3f')}{dag(r)}{pct(r['diffusionO'], ref and ref['diffusionO'])} |")
pieces = {}
for name in ORDER:
    docs = [side(load(p)["trajectory"]) for p in sorted(glob.glob(os.path.join(work, name + ".piece*.analysis.json"))) if os.path.getsize(p) > 0]
    if len(docs) > 1:
        def ms(key):
            v = [d[key] for d in docs if d[key] is not None]
            m = sum(v) / len(v)
            return m, (sum((x - m) ** 2 for x in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else None
        pieces[name] = {k: ms(k) for k in ("stretchCm1", "bendCm1", "diffusionO")} | {"count": len(docs)}
if pieces:
    lines += ["", "Scatter over 2 ps pieces (CP2K's length) of 10 ps runs, 2–10 ps, each analysed alone: mean ± standard deviation.", "",
              "| run | pieces | O–H stretch (cm⁻¹) | H–O–H bend (cm⁻¹) | D_O (Å²/ps) |", "| --- | --- | --- | --- | --- |"]
    for name, p in pieces.items():
        lines.append(f"| {name} | {p['count']} | {p['stretchCm1'][0]:.0f} ± {p['stretchCm1'][1]:.0f} | {p['bendCm1'][0]:.0f} ± {p['bendCm1'][1]:.0f} | "
                     f"{p['diffusionO'][0]:.3f} ± {p['diffusionO'][1]:.3f} |")
notes = [f"- {r['run']}: {r['note']}" for r in rows if r.get("note")]
for r in rows:  # a run that stopped: mld run's own error line
    if r["rc"] != 0:
        err = [l.strip() for l in open(os.path.join(work, r["run"] + ".run.txt"), errors="replace") if l.startswith("error:")]
        notes.append(f"- {r['run']} stopped (exit {r['rc']}): {err[-1] if err else 'see its .run.txt'}; analysed up to there")
if ref and ref.get("note"):
    notes.insert(0, f"- CP2K: {ref['note']}")
if notes:
    lines += ["", "Notes:"] + notes
lines += ["", f"Load average when summarised: {os.getloadavg()[0]:.1f} (the machine is shared)."]
stem = os.path.join(here, f"results-{now:%Y-%m-%d}")
for ext, text in ((".md", "\n".join(lines) + "\n"), (".json", json.dumps({"reference": ref, "runs": rows, "pieces": pieces}, indent=1) + "\n")):
    tmp = stem + ext + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, stem + ext)
print("\n".join(lines))
