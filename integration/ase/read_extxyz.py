#!/usr/bin/python3
"""Reads an extended XYZ file with ASE and prints what ASE understood, as JSON on stdout.

usage: read_extxyz.py FILE STRIDE MASSES
  STRIDE  read every STRIDE-th frame (ASE index "::STRIDE")
  MASSES  element masses to use for the kinetic energy, e.g. "H=1.00794,O=15.9994"; "file" for the
          file's own masses column (written for masses not the periodic table's, e.g. D)

The file's `velocities` column is in Å/fs (MolecularLearning's convention). ASE 3.22 keeps it as a plain
array; ASE's velocity unit is Å per ASE time unit, so it becomes ASE velocities divided by ase.units.fs.
The kinetic energy printed is ASE's own, from those velocities, so it checks that convention.
"""
import json
import sys

import ase.io
from ase import units


def main():
    path, stride, masses_text = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    masses = None if masses_text == "file" else {k: float(v) for k, v in (kv.split("=") for kv in masses_text.split(","))}
    frames = []
    for index, atoms in zip(range(0, 10**9, stride), ase.io.read(path, index=f"::{stride}", format="extxyz")):
        calc = atoms.calc
        frame = {
            "index": index,
            "symbols": atoms.get_chemical_symbols(),
            "positions": atoms.get_positions().ravel().tolist(),
            "cell": atoms.cell.array.ravel().tolist() if atoms.pbc.any() else None,
            "pbc": atoms.pbc.tolist(),
            "energy": calc.results.get("energy") if calc is not None else None,
            "forces": calc.results["forces"].ravel().tolist() if calc is not None and "forces" in calc.results else None,
            "step": atoms.info.get("step"),
            "time": atoms.info.get("time"),
            "velocities": None,
            "kinetic": None,
            "masses": atoms.arrays["masses"].tolist() if "masses" in atoms.arrays else None,
        }
        if "velocities" in atoms.arrays:
            v = atoms.arrays["velocities"]
            frame["velocities"] = v.ravel().tolist()
            if masses is not None:
                atoms.set_masses([masses[s] for s in atoms.get_chemical_symbols()])
            atoms.set_velocities(v / units.fs)
            frame["kinetic"] = atoms.get_kinetic_energy()
        frames.append(frame)
    json.dump(frames, sys.stdout, default=lambda o: o.item())  # numpy scalars (step) as Python numbers


if __name__ == "__main__":
    main()
