#!/usr/bin/python3
"""Writes a LAMMPS data file (atom_style full) for the shared 32-water box: each H bonded to its
nearest O (minimum image), molecules written unwrapped so `replicate` keeps bonds intact.
Usage: make_lammps_data.py init.xyz box_length out.data"""
import sys

def main(xyz, box, out):
    box = float(box)
    lines = open(xyz).read().split("\n")
    n = int(lines[0])
    atoms = [(l.split()[0], [float(v) for v in l.split()[1:4]]) for l in lines[2:2 + n]]
    oxygens = [i for i, (s, _) in enumerate(atoms) if s == "O"]
    hydrogens = [i for i, (s, _) in enumerate(atoms) if s == "H"]

    def mic(d):
        return [x - box * round(x / box) for x in d]

    members = {o: [] for o in oxygens}
    for h in hydrogens:
        best = min(oxygens, key=lambda o: sum(x * x for x in mic([a - b for a, b in zip(atoms[h][1], atoms[o][1])])))
        members[best].append(h)
    if any(len(m) != 2 for m in members.values()):
        sys.exit("error: %s: cannot assign two H to every O" % xyz)

    rows, bonds, angles = [], [], []
    for mol, o in enumerate(oxygens, start=1):
        po = atoms[o][1]
        ids = [len(rows) + 1]
        rows.append((ids[0], mol, 1, -0.82, po))
        for h in members[o]:
            d = mic([a - b for a, b in zip(atoms[h][1], po)])
            ids.append(len(rows) + 1)
            rows.append((ids[-1], mol, 2, 0.41, [a + b for a, b in zip(po, d)]))
        bonds += [(ids[0], ids[1]), (ids[0], ids[2])]
        angles.append((ids[1], ids[0], ids[2]))

    with open(out, "w") as f:
        f.write("SPC/Fw water from %s (%d atoms)\n\n" % (xyz, n))
        f.write("%d atoms\n%d bonds\n%d angles\n2 atom types\n1 bond types\n1 angle types\n\n" % (len(rows), len(bonds), len(angles)))
        f.write("0 %.6f xlo xhi\n0 %.6f ylo yhi\n0 %.6f zlo zhi\n\n" % (box, box, box))
        f.write("Masses\n\n1 15.9994\n2 1.00794\n\nAtoms # full\n\n")
        for i, mol, t, q, p in rows:
            f.write("%d %d %d %.2f %.6f %.6f %.6f\n" % (i, mol, t, q, *p))
        f.write("\nBonds\n\n")
        for k, (a, b) in enumerate(bonds, start=1):
            f.write("%d 1 %d %d\n" % (k, a, b))
        f.write("\nAngles\n\n")
        for k, (a, b, c) in enumerate(angles, start=1):
            f.write("%d 1 %d %d %d\n" % (k, a, b, c))

if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
