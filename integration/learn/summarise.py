#!/usr/bin/python3
"""Writes the results page of integration/learn/measure.sh from its work folder (argument): learn.json, eval-*-350.json, measure.log."""
import json, math, os, subprocess, sys

work = sys.argv[1]
learn = json.load(open(os.path.join(work, "learn.json")))
ev = {m: json.load(open(os.path.join(work, f"eval-{m}-350.json"))) for m in ("before", "after")}
log = open(os.path.join(work, "measure.log")).read().strip().splitlines()
r = learn["rounds"][0]
t = r["temperatures"][0]

def rel(report, s):
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
print(f"# mld learn: one round at 350 K, budget {sum(x['picked'] for x in r['temperatures'])} CP2K frames\n")
print("Written by integration/learn/summarise.py from integration/learn/measure.sh "
      f"(work folder {work}, mld at {commit}). Log:\n")
print("```"); print("\n".join(log)); print("```\n")
print("Start: the default model (`mld fit samples/water32-xtb`, agent mode) fitted on the shipped 300 K GFN1-xTB run. "
      f"`mld learn` ran learned MD at 350 K ({t['steps']} steps of 0.5 fs, a candidate every 10 steps, picked frames at least "
      "100 steps apart), labelled the frames with the largest extrapolation signal with CP2K 2023.1 single points "
      "(the shipped md.inp, RUN_TYPE ENERGY_FORCE) and refitted with the model's recipe.\n")
print("| | O relRMSE | H relRMSE | all-atom RMSE (eV/Å) |")
print("|---|---|---|---|")
for name, rep in (("300 K held out (last 20% of the sample), before", r["holdoutBefore"]), ("300 K held out, after", r["holdoutAfter"]),
                  ("350 K hot run (evaluation only), before", t["testBefore"]), ("350 K hot run, after", t["testAfter"])):
    print(f"| {name} | {rel(rep, 'O')} | {rel(rep, 'H')} | {all_atoms_rmse(rep):.4f} |")
print()
h300b, h300a = all_atoms_rmse(r["holdoutBefore"]), all_atoms_rmse(r["holdoutAfter"])
for m in ("before", "after"):
    w, at = worst_window(ev[m]["perFrame"])
    h300 = h300b if m == "before" else h300a
    whole = all_atoms_rmse(ev[m])
    sp = ev[m].get("spearman")
    print(f"- {m}: 350 K whole run {whole:.4f} eV/Å = {whole / h300:.2f}x the 300 K held-out error; worst 50-frame window "
          f"(frames {at}..{at + 49}) {w:.4f} eV/Å = {w / h300:.2f}x; rank correlation of extrapolation with frame error "
          f"{'undefined' if sp is None else f'{sp:.3f}'}")
print()
ne = t["newFramesError"]
print(f"- Learned MD at 350 K: {t['outside']} of {t['candidates']} candidate frames outside the training range, largest "
      f"extrapolation {t['maxExtrapolation']} training spreads{'' if t['divergedAt'] is None else ', diverged at step ' + str(t['divergedAt'])}.")
print(f"- Labelled {r['framesAdded']} frames; the starting model's error on them (unseen): O {rel(ne, 'O') if ne else '-'}, H {rel(ne, 'H') if ne else '-'}.")
print(f"- Time: CP2K {r['cp2kSeconds']:.0f} s ({r['cp2kSeconds'] / max(1, r['framesAdded']):.1f} s per frame, niced, on a shared 2-core machine: see the load in the log), "
      f"learned MD {r['mdSeconds']:.0f} s, refit {r['fitSeconds']:.0f} s.")
