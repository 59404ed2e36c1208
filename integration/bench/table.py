#!/usr/bin/python3
"""Markdown tables for README "Performance" from `mld bench --json` output and references.py output.
Usage: table.py bench.json [references.json]   (references default to the ones inside bench.json)"""
import json, sys

bench = json.load(open(sys.argv[1]))
refs = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else bench.get("references", {})
lammps = {(r["atoms"], r["ranks"]): r for r in refs.get("lammps", [])}
cp2k = refs.get("cp2k", {})


def fmt(x, digits=0):
    return "—" if x is None else ("{:,.%df}" % digits).format(x)


def label(r):
    if r["forceField"] != "learned":
        return "pair reference (SPC/Fw nonbonded, C#)"
    return "learned, %s, order %s" % (r["mode"], r["order"])


rows = bench["forceEval"]
sizes = sorted({r["atoms"] for r in rows})
print("### Force evaluation, ns per atom-step (best batch wall time / process CPU time)\n")
print("| model | threads | " + " | ".join(fmt(n) for n in sizes) + " |")
print("|---|---|" + "---|" * len(sizes))
for key in sorted({(label(r), r["threads"]) for r in rows}):
    cells = []
    for n in sizes:
        m = [r for r in rows if (label(r), r["threads"]) == key and r["atoms"] == n]
        cells.append("%s / %s" % (fmt(m[0]["nsPerAtomStep"]), fmt(m[0]["cpuNsPerAtomStep"])) if m else "")
    print("| %s | %d | %s |" % (key[0], key[1], " | ".join(cells)))
print("| LAMMPS SPC/Fw, lj/cut/coul/cut, whole MD step | 1 rank | " + " | ".join(
    "%s / %s" % (fmt(lammps[(n, 1)]["nsPerAtomStep"]), fmt(lammps[(n, 1)].get("cpuNsPerAtomStep"))) if (n, 1) in lammps else "" for n in sizes) + " |")
print("| LAMMPS SPC/Fw, lj/cut/coul/cut, whole MD step | 2 ranks | " + " | ".join(
    "%s / %s" % (fmt(lammps[(n, 2)]["nsPerAtomStep"]), fmt(lammps[(n, 2)].get("cpuNsPerAtomStep"))) if (n, 2) in lammps else "" for n in sizes) + " |")

print("\n### Learned (agent, order 2) against LAMMPS per atom-step, 1 thread / 1 rank (CPU time; wall time in brackets)\n")
print("| atoms | learned force eval | learned MD step | LAMMPS MD step | ratio force eval | ratio MD step |")
print("|---|---|---|---|---|---|")
md = bench.get("md", [])
for n in sizes:
    fe = [r for r in rows if r["forceField"] == "learned" and r["mode"] == "agent" and r["order"] == 2 and r["threads"] == 1 and r["atoms"] == n]
    mm = [r for r in md if r["forceField"] == "learned" and r["mode"] == "agent" and r["order"] == 2 and r["threads"] == 1 and r["atoms"] == n]
    lm = lammps.get((n, 1))
    if not fe:
        continue
    f, l = fe[0], lm
    ratio_fe = f["cpuNsPerAtomStep"] / l["cpuNsPerAtomStep"] if l and l.get("cpuNsPerAtomStep") else None
    ratio_md = mm[0]["cpuNsPerAtomStep"] / l["cpuNsPerAtomStep"] if (mm and l and l.get("cpuNsPerAtomStep")) else None
    print("| %s | %s (%s) | %s | %s (%s) | %s | %s |" % (
        fmt(n), fmt(f["cpuNsPerAtomStep"]), fmt(f["nsPerAtomStep"]),
        fmt(mm[0]["cpuNsPerAtomStep"]) if mm else "—",
        fmt(l.get("cpuNsPerAtomStep")) if l else "—", fmt(l["nsPerAtomStep"]) if l else "—",
        fmt(ratio_fe, 2), fmt(ratio_md, 2)))

flat = [r for r in rows if r["forceField"] == "learned" and r["mode"] == "agent" and r["order"] == 2 and r["threads"] == 1 and r["atoms"] >= 1000]
if len(flat) > 1:
    for key, name in (("nsPerAtomStep", "wall"), ("cpuNsPerAtomStep", "CPU")):
        v = [r[key] for r in flat]
        print("\nFlatness (agent, order 2, 1 thread, %s–%s atoms, %s): max/min %.2f" % (fmt(min(r["atoms"] for r in flat)), fmt(max(r["atoms"] for r in flat)), name, max(v) / min(v)), end="")
    print()

print("\n### CP2K against the learned model, one MD step of the 96-atom box\n")
print("| CP2K method | CP2K s/step | source | learned MD step (s) | CP2K / learned |")
print("|---|---|---|---|---|")
step96 = [r for r in md if r["forceField"] == "learned" and r["mode"] == "agent" and r["order"] == 2 and r["atoms"] == 96]
best96 = min((r["nsPerAtomStep"] * 96e-9 for r in step96), default=None)
for name, c in cp2k.items():
    print("| %s | %.3f | %s | %s | %s |" % (name, c["secondsPerStep"], c["source"], "%.2e" % best96 if best96 else "—",
                                        "%.2e" % (c["secondsPerStep"] / best96) if best96 else "—"))
# The classical bar on the same scale: how much cheaper than CP2K LAMMPS SPC/Fw is per 96-atom step.
l96 = lammps.get((96, 1))
if l96:
    lstep = l96["nsPerAtomStep"] * 96e-9
    print("\nLAMMPS SPC/Fw, 96 atoms, 1 rank: %.2e s per MD step; CP2K / LAMMPS: %s" % (lstep, ", ".join(
        "%s %.2e" % (name, c["secondsPerStep"] / lstep) for name, c in cp2k.items())))

scaling = bench.get("threadScaling", [])
if scaling:
    print("\n### Threads: alternating 1- and 2-thread batches on one evaluator (best batch each; median of the rounds' ratios)\n")
    print("| atoms | model | rounds × calls | 1 thread ns/atom-step | 2 threads | speed-up (best) | speed-up (median of rounds) |")
    print("|---|---|---|---|---|---|---|")
    for r in scaling:
        print("| %s | %s | %d × %d | %s | %s | %.2f | %.2f |" % (fmt(r["atoms"]), label(r), r["rounds"], r["callsPerBatch"],
              fmt(r["nsPerAtomStep"][0]), fmt(r["nsPerAtomStep"][-1]), r["speedup"], r["medianRoundSpeedup"]))

print("\n### Threads: 2 threads against 1 from the separate measurements above (best wall time), learned agent order 2\n")
print("| atoms | 1 thread ns/atom-step | 2 threads | speed-up | CPU time ratio (2 threads / 1) |")
print("|---|---|---|---|---|")
for n in sizes:
    a = [r for r in rows if r["forceField"] == "learned" and r["mode"] == "agent" and r["order"] == 2 and r["atoms"] == n]
    one = [r for r in a if r["threads"] == 1]; two = [r for r in a if r["threads"] == 2]
    if one and two:
        print("| %s | %s | %s | %.2f | %.2f |" % (fmt(n), fmt(one[0]["nsPerAtomStep"]), fmt(two[0]["nsPerAtomStep"]),
              one[0]["nsPerAtomStep"] / two[0]["nsPerAtomStep"], two[0]["cpuNsPerAtomStep"] / one[0]["cpuNsPerAtomStep"]))

print("\n### Memory and allocations\n")
print("| atoms | model | threads | allocated B/step (force eval) | allocated B/step (MD) | peak working set (MiB) |")
print("|---|---|---|---|---|---|")
for r in rows:
    if r["forceField"] != "learned" or r["mode"] != "agent" or r["order"] != 2:
        continue
    m = [x for x in md if x["atoms"] == r["atoms"] and x["threads"] == r["threads"] and x["forceField"] == "learned" and x["mode"] == "agent" and x["order"] == 2]
    print("| %s | %s | %d | %d | %s | %s |" % (fmt(r["atoms"]), label(r), r["threads"], r["allocatedBytesPerStep"],
          m[0]["allocatedBytesPerStep"] if m else "—", fmt(r["peakWorkingSetBytes"] / 2 ** 20)))
print("\nPeak working set of the whole run: %s MiB" % fmt(bench["machine"]["peakWorkingSetBytes"] / 2 ** 20))

print("\n### Neighbour list (cutoff %s Å + skin %s Å), 1 thread\n" % (bench["neighbourList"][0]["cutoff"], bench["neighbourList"][0]["skin"]))
print("| atoms | storage | entries/atom | build ns/atom (wall / CPU) | refresh ns/atom | bytes/atom |")
print("|---|---|---|---|---|---|")
for r in bench["neighbourList"]:
    if r["threads"] != 1:
        continue
    print("| %s | %s | %.1f | %s / %s | %s | %s |" % (fmt(r["atoms"]), r["storage"], r["entriesPerAtom"], fmt(r["buildNsPerAtom"]),
          fmt(r["buildCpuNsPerAtom"]), fmt(r["refreshNsPerAtom"], 1), fmt(r["bytesPerAtom"])))
if bench.get("fits"):
    print("\n### Fits (FitOptions.Default, %s)\n" % "samples/water32-xtb")
    print("| mode | order | frames | seconds |")
    print("|---|---|---|---|")
    for f in bench["fits"]:
        print("| %s | %s | %s | %.1f |" % (f["mode"], f["order"], f["frames"], f["seconds"]))
