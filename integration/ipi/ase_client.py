#!/usr/bin/env python3
"""ASE's SocketClient (an i-PI *client*) serving a Lennard-Jones calculator to an i-PI server,
e.g. `mld run ... --forces ipi:unix:NAME`. Logs, per request, the positions and cell it received
and what it computed (eV, eV/Å, eV/Å^3) as JSON when the server sends EXIT or closes.
Used by the integration tests; run with Debian's /usr/bin/python3.
"""
import argparse
import json

import ase.io
import ase.units
from ase.calculators.lj import LennardJones
from ase.calculators.socketio import SocketClient

p = argparse.ArgumentParser(description=__doc__)
g = p.add_mutually_exclusive_group(required=True)
g.add_argument('--unix', help='socket name: connects to /tmp/ipi_NAME')
g.add_argument('--port', type=int, help='TCP port on localhost')
p.add_argument('--template', required=True, help='structure with the atoms in the server\'s order')
p.add_argument('--bohr', type=float)
p.add_argument('--hartree', type=float)
p.add_argument('--out', required=True)
args = p.parse_args()
if args.bohr:
    ase.units.Bohr = args.bohr
if args.hartree:
    ase.units.Ha = args.hartree

atoms = ase.io.read(args.template)
atoms.cell = [10.0, 10.0, 10.0]  # overwritten by every POSDATA
atoms.pbc = True
# Soft enough for water geometries (O-H 0.97 Å sits inside sigma: repulsive but finite).
atoms.calc = LennardJones(sigma=1.4, epsilon=0.005, rc=4.0)

log = []
client = SocketClient(unixsocket=args.unix, port=args.port)
for _ in client.irun(atoms, use_stress=True):
    log.append(dict(
        positions=atoms.positions.tolist(),
        cell=atoms.cell.array.tolist(),
        energy=atoms.get_potential_energy(),
        forces=atoms.get_forces().tolist(),
        stress=atoms.get_stress(voigt=False).tolist(),
    ))
    with open(args.out, 'w') as f:  # rewritten each step: a killed client still leaves its log
        json.dump(log, f)
print(f'served {len(log)} requests')
