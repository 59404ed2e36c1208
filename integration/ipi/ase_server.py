#!/usr/bin/env python3
"""ASE's SocketIOCalculator (the i-PI *server* side) evaluating frames of a trajectory through
whatever i-PI client connects, e.g. `mld serve MODEL --template init.xyz --ipi unix:NAME`.
Writes, per frame, the positions and cell that were sent and the energy/forces/stress that came
back (eV, eV/Å, eV/Å^3) as JSON. Used by the integration tests; run with Debian's /usr/bin/python3.
"""
import argparse
import gzip
import itertools
import json

import numpy as np
import ase.units
from ase import Atoms
from ase.calculators.socketio import SocketIOCalculator

p = argparse.ArgumentParser(description=__doc__)
g = p.add_mutually_exclusive_group(required=True)
g.add_argument('--unix', help='socket name: ASE listens on /tmp/ipi_NAME')
g.add_argument('--port', type=int, help='TCP port to listen on')
p.add_argument('--frames', required=True, help='xyz trajectory (may be .gz)')
p.add_argument('--every', type=int, default=1, help='use every n-th frame')
p.add_argument('--count', type=int, default=10, help='number of frames')
p.add_argument('--box', type=float, required=True, help='cubic box length (Å)')
p.add_argument('--triclinic', action='store_true', help='shear the box (tests the cell convention)')
p.add_argument('--no-pbc', action='store_true', help='pbc=False with the box still set (ASE sends the box anyway)')
p.add_argument('--bohr', type=float, help='Bohr in Å to use instead of ASE\'s CODATA 2014 value')
p.add_argument('--hartree', type=float, help='Hartree in eV to use instead of ASE\'s CODATA 2014 value')
p.add_argument('--timeout', type=float, default=120, help='seconds to wait for the client')
p.add_argument('--out', required=True)
args = p.parse_args()

# The protocol is in atomic units: the two peers' constants set the last ~1e-8 of agreement.
# The tests pass the client's constants so that they can compare at 1e-10.
if args.bohr:
    ase.units.Bohr = args.bohr
if args.hartree:
    ase.units.Ha = args.hartree



def read_xyz(path, every, count):
    """Every n-th frame of a plain xyz file, stopping after `count` (ase.io.read parses all of it: slow)."""
    frames = []
    with (gzip.open if path.endswith('.gz') else open)(path, 'rt') as f:
        for index in itertools.count():
            header = f.readline()
            if not header.strip() or len(frames) == count:
                break
            f.readline()
            lines = [f.readline().split() for _ in range(int(header))]
            if index % every == 0:
                frames.append(Atoms([l[0] for l in lines], positions=[[float(x) for x in l[1:4]] for l in lines]))
    return frames


frames = read_xyz(args.frames, args.every, args.count)
a = args.box
cell = np.diag([a, a, a])
if args.triclinic:
    cell = np.array([[a, 0, 0], [0.9, a, 0], [-0.7, 0.6, a]])

atoms = frames[0].copy()
atoms.cell = cell
atoms.pbc = not args.no_pbc
results = []
with SocketIOCalculator(unixsocket=args.unix, port=args.port, timeout=args.timeout) as calc:
    atoms.calc = calc
    for frame in frames:
        atoms.positions = frame.positions
        results.append(dict(
            symbols=atoms.get_chemical_symbols(),
            positions=atoms.positions.tolist(),
            cell=atoms.cell.array.tolist(),
            energy=atoms.get_potential_energy(),
            forces=atoms.get_forces().tolist(),
            pbc=bool(atoms.pbc.any()),
            stress=atoms.get_stress(voigt=False).tolist() if atoms.pbc.any() else None,
        ))
with open(args.out, 'w') as f:
    json.dump(results, f)
print(f'{len(results)} frames evaluated through the i-PI client')
