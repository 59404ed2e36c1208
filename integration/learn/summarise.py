#!/usr/bin/python3
"""Writes the results page (NOTE: a paragraph to add, e.g. which build measured) of integration/learn/measure.sh from its work folder (argument):
learn-round*.json (one `mld learn --json` per round), eval-{before,after}-350.json (`mld evaluate --json` on the hot run), measure.log."""
import glob, json, math, os, re, subprocess, sys

work = sys.argv[1]
files = sorted(glob.glob(os.path.join(work, "learn-round*.json")), key=lambda p: int(re.search(r"round(\d+)", p).group(1)))
rounds = [json.load(open(p))["rounds"][0] for p in files]
ev = {m: json.load(open(os.path.join(work, f"eval-{m}-350.json"))) for m in ("before", "after")}
log = open(os.path.join(work, "measure.log")).read().strip().splitlines()

def rel(report, s):
    if report is None: return "-"
    v = report["species"][s]["relRmse"]
    return "-" if v is None else f"{v:.3f}"

def all_atoms_rmse(report):
    """RMSE per component over all atoms (eV/Å) from the per-species RMSEs and atom counts."""
    num = sum(e["atoms"] * e["rmse"] ** 2 for e in report["species"].values())
    return math.sqrt(num / sum(e["atoms"] for e in report["species"].values()))

def worst_window(perframe, n=50):
    x = [f["forceRmse"] ** 2 for f in perframe]
    best, at = 0.0, 0
    for i in range(0, len(x) - n + 1):
        w = math.sqrt(sum(x[i:i + n]) / n)
        if w > best: best, at = w, i
    return best, at

commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
added = sum(r["framesAdded"] for r in rounds)
first, last = rounds[0], rounds[-1]
t0, t1 = first["temperatures"][0], last["temperatures"][0]
print(f"# mld learn at 350 K: {len(rounds)} rounds, {added} CP2K frames\n")
print(f"Written by integration/learn/summarise.py from integration/learn/measure.sh (work folder {work}; summarised at {commit}). Log:\n")
print("```"); print("\n".join(log)); print("```\n")
if os.environ.get("NOTE"): print(os.environ["NOTE"] + "\n")
print("Start: the default model (`mld fit samples/water32-xtb`) fitted on the shipped 300 K GFN1-xTB run. Each round "
      f"(one `mld learn` call) ran learned MD at 350 K ({t0['steps']} steps of 0.5 fs, a candidate every 10 steps), labelled "
      "the frames with the largest extrapolation signal, at least 100 steps apart, with CP2K 2023.1 single points "
      "(the shipped md.inp turned into RUN_TYPE ENERGY_FORCE) and refitted with the model's recipe on the sample's "
      "training frames plus every frame labelled so far.\n")
print("## Held-out force error, before and after\n")
print("| | O relRMSE | H relRMSE | all-atom RMSE (eV/Å) |")
print("|---|---|---|---|")
for name, rep in (("300 K held out (last 20% of the sample), before", first["holdoutBefore"]), ("300 K held out, after", last["holdoutAfter"]),
                  ("350 K hot run (800 frames, evaluation only), before", t0["testBefore"]), ("350 K hot run, after", t1["testAfter"])):
    print(f"| {name} | {rel(rep, 'O')} | {rel(rep, 'H')} | {all_atoms_rmse(rep):.4f} |")
print()
h300 = {"before": all_atoms_rmse(first["holdoutBefore"]), "after": all_atoms_rmse(last["holdoutAfter"])}
for m in ("before", "after"):
    w, at = worst_window(ev[m]["perFrame"])
    whole = all_atoms_rmse(ev[m])
    sp = ev[m].get("spearman")
    print(f"- {m}: 350 K whole run {whole:.4f} eV/Å = {whole / h300[m]:.2f}× the 300 K held-out error; worst 50-frame window "
          f"(frames {at}..{at + 49}) {w:.4f} eV/Å = {w / h300[m]:.2f}×; rank correlation of a frame's extrapolation with its force error "
          f"{'undefined' if sp is None else f'{sp:.3f}'}")
print("\n## Per round\n")
print("| round | candidates outside / all | largest extrapolation | frames added | O / H relRMSE on them before the refit | 350 K O / H after | 300 K held-out O / H after | CP2K s | s per frame | MD s | fit s |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rounds:
    t = r["temperatures"][0]
    ne = t["newFramesError"]
    mx = t["maxExtrapolation"]
    print(f"| {r['round'] if len(rounds) == 1 else rounds.index(r) + 1} | {t['outside']} / {t['candidates']}{'' if t['divergedAt'] is None else ' (diverged at ' + str(t['divergedAt']) + ')'} | "
          f"{'-' if mx is None else f'{mx:.2f}'} | {r['framesAdded']} | {rel(ne, 'O')} / {rel(ne, 'H')} | "
          f"{rel(t['testAfter'], 'O')} / {rel(t['testAfter'], 'H')} | {rel(r['holdoutAfter'], 'O')} / {rel(r['holdoutAfter'], 'H')} | "
          f"{r['cp2kSeconds']:.0f} | {r['cp2kSeconds'] / max(1, r['framesAdded']):.0f} | {r['mdSeconds']:.0f} | {r['fitSeconds']:.0f} |")
print("\nCP2K ran niced (nice 10) on a shared 2-core machine: its seconds per frame follow the load average in the log, "
      "not CP2K's cost on an idle machine.")
