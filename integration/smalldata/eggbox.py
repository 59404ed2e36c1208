#!/usr/bin/python3
"""The egg-box test of a CP2K run's forces: one frame recomputed by CP2K single points, as recorded (the control:
how closely a fresh SCF reproduces the recorded forces) and rigidly translated by SHIFT Å along (1,1,1) (a physical
force field gives the same forces). The rms change per species is force noise no invariant model can fit.
  eggbox.py prepare RUN FRAME SHIFT WORKDIR    writes WORKDIR/{orig,shift}.{xyz,inp}
  eggbox.py compare RUN FRAME WORKDIR          prints a markdown table from WORKDIR/{orig,shift}-forces.dat"""
import gzip, glob, math, os, re, sys

HARTREE_PER_BOHR = 27.211386245988 / 0.529177210903


def xyz_frame(path, k):
    with (gzip.open if path.endswith(".gz") else open)(path, "rt") as f:
        for _ in range(k + 1):
            n = int(f.readline())
            head = f.readline()
            atoms = [f.readline().split() for _ in range(n)]
    return head, atoms


def run_file(run, kind):
    found = sorted(glob.glob(os.path.join(run, f"*-{kind}-1.xyz*")))
    if not found:
        sys.exit(f"eggbox.py: {run}: no *-{kind}-1.xyz file")
    return found[0]


def prepare(run, k, shift, work):
    head, atoms = xyz_frame(run_file(run, "pos"), k)
    inp = open(os.path.join(run, "md.inp")).read()
    inp = re.sub(r"&EXT_RESTART.*?&END EXT_RESTART\n", "", inp, flags=re.S)
    inp = re.sub(r"&MOTION.*?&END MOTION\n", "", inp, flags=re.S)
    inp = inp.replace("RUN_TYPE MD", "RUN_TYPE ENERGY_FORCE").replace("dftd3.dat", "/usr/share/cp2k/dftd3.dat")
    for name, d in (("orig", 0.0), ("shift", shift)):
        with open(os.path.join(work, f"{name}.xyz"), "w") as o:
            o.write(f"{len(atoms)}\n{head}")
            for a in atoms:
                o.write(f"{a[0]} {float(a[1]) + d:.10f} {float(a[2]) + d:.10f} {float(a[3]) + d:.10f}\n")
        text = re.sub(r"PROJECT \S+", f"PROJECT {name}", inp)
        text = re.sub(r"COORD_FILE_NAME \S+", f"COORD_FILE_NAME {name}.xyz", text)
        text = text.replace("&FORCE_EVAL\n", f"&FORCE_EVAL\n  &PRINT\n    &FORCES ON\n      FILENAME ={name}-forces.dat\n    &END FORCES\n  &END PRINT\n", 1)
        open(os.path.join(work, f"{name}.inp"), "w").write(text)


def cp2k_forces(path):
    out = []
    for line in open(path):
        s = line.split()
        if len(s) == 6 and s[0].isdigit():
            out.append((s[2], [float(x) * HARTREE_PER_BOHR for x in s[3:6]]))
    return out


def compare(run, k, work):
    _, atoms = xyz_frame(run_file(run, "frc"), k)
    recorded = [(a[0], [float(x) * HARTREE_PER_BOHR for x in a[1:4]]) for a in atoms]
    print("| single point | rms \\|ΣF\\| (eV/Å) | O: rms change per component (eV/Å) / relative | H: rms change per component (eV/Å) / relative |")
    print("| --- | --- | --- | --- |")
    for name, label in (("orig", "as recorded (control)"), ("shift", "translated")):
        new = cp2k_forces(os.path.join(work, f"{name}-forces.dat"))
        d2, r2, n = {}, {}, {}
        for (s, a), (s2, b) in zip(recorded, new):
            assert s == s2, "atom order differs"
            d2[s] = d2.get(s, 0) + sum((x - y) ** 2 for x, y in zip(a, b))
            r2[s] = r2.get(s, 0) + sum(x * x for x in a)
            n[s] = n.get(s, 0) + 1
        net = math.sqrt(sum(sum(v[j] for _, v in new) ** 2 for j in range(3)))
        cell = lambda s: f"{math.sqrt(d2[s] / (3 * n[s])):.4f} / {math.sqrt(d2[s] / r2[s]):.4f}"
        print(f"| {label} | {net:.3f} | {cell('O')} | {cell('H')} |")


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    else:
        compare(sys.argv[2], int(sys.argv[3]), sys.argv[4])
