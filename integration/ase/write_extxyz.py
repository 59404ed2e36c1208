#!/usr/bin/python3
"""Writes an extended XYZ file with ASE (energies and forces through a SinglePointCalculator, a
triclinic cell, a `velocities` array in Å/fs) and prints the values it wrote as JSON on stdout.

usage: write_extxyz.py FILE
"""
import json
import sys

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
import ase.io


def main():
    path = sys.argv[1]
    rng = np.random.default_rng(2026)
    cell = np.array([[9.1, 0.0, 0.0], [0.7, 8.9, 0.0], [-0.4, 0.3, 10.2]])
    images, truth = [], []
    for step in range(3):
        atoms = Atoms("OH2OH2", positions=rng.uniform(0, 9, (6, 3)), cell=cell, pbc=True)
        energy = float(rng.normal(-470.0, 1.0))
        forces = rng.normal(0, 1.5, (6, 3))
        velocities = rng.normal(0, 0.01, (6, 3))
        atoms.new_array("velocities", velocities)
        atoms.info["step"] = step * 10
        atoms.info["time"] = step * 5.0
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
        images.append(atoms)
        truth.append({
            "symbols": atoms.get_chemical_symbols(),
            "positions": atoms.get_positions().ravel().tolist(),
            "cell": cell.ravel().tolist(),
            "energy": energy,
            "forces": forces.ravel().tolist(),
            "velocities": velocities.ravel().tolist(),
            "step": step * 10,
            "time": step * 5.0,
        })
    ase.io.write(path, images, format="extxyz")
    json.dump(truth, sys.stdout)


if __name__ == "__main__":
    main()
