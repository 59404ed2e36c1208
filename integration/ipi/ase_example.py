#!/usr/bin/env python3
"""Learned forces in ASE, in a few lines: ASE's SocketIOCalculator listens on a socket, `mld serve`
connects to it and answers every force request with the learned model (i-PI protocol).

    /usr/bin/python3 integration/ipi/ase_example.py model.json [--steps 100]

model.json comes from `mld fit samples/water32-xtb -o model.json`. The script starts `mld serve`
itself; set MLD to how mld is run here (default: dotnet run --project src/MolecularLearning.Cli -c Release --).
"""
import argparse
import os
import shlex
import subprocess
import tempfile
import uuid

from ase import units
from ase.calculators.socketio import SocketIOCalculator
from ase.io import read, write
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
from ase.md.verlet import VelocityVerlet

repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('model', help='learned model file (mld fit ... -o model.json)')
p.add_argument('--structure', default=os.path.join(repo, 'samples', 'water32-xtb', 'init.xyz'))
p.add_argument('--box', type=float, default=9.8528, help='cubic box (Å) of the structure')
p.add_argument('--steps', type=int, default=100)
args = p.parse_args()
mld = shlex.split(os.environ.get('MLD', f'dotnet run --project {repo}/src/MolecularLearning.Cli -c Release --'))

atoms = read(args.structure)
atoms.cell = [args.box] * 3
atoms.pbc = True
MaxwellBoltzmannDistribution(atoms, temperature_K=300)


def launch_mld(atoms, properties, port, unixsocket):
    """ASE calls this when the calculator first needs forces. The template, written from the very atoms, gives
    mld their species in ASE's order and their pbc (pbc=False with a box: evaluated as isolated). ASE watches the
    process: if mld serve stops, ASE raises instead of waiting for a client forever, and a second
    SocketIOCalculator later launches its own mld serve."""
    template = os.path.join(tempfile.mkdtemp(prefix='mld-ase-'), 'template.extxyz')
    write(template, atoms, format='extxyz')
    address = f'unix:{unixsocket}' if unixsocket else f'127.0.0.1:{port}'
    launched.append(subprocess.Popen(mld + ['serve', args.model, '--template', template, '--ipi', address]))
    return launched[-1]


launched = []
name = 'mld_' + uuid.uuid4().hex[:8]              # ASE listens on /tmp/ipi_<name>
with SocketIOCalculator(unixsocket=name, launch_client=launch_mld) as calc:
    # The learned model as an i-PI client: it connects, serves, and exits when ASE is done.
    # (The same command serves i-PI itself: point --ipi at i-PI's <ffsocket> address.)
    atoms.calc = calc
    dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    dyn.attach(lambda: print(f'step {dyn.nsteps:5d}  Epot {atoms.get_potential_energy():12.4f} eV  '
                             f'T {atoms.get_temperature():7.1f} K'), interval=10)
    dyn.run(args.steps)
print(f'mld serve exited with {launched[0].wait(timeout=60)}')
