"""An i-PI client from ASE (Debian's python3-ase 3.22) for `mld run --forces ipi:unix:NAME`.

usage: ase_lj_client.py STRUCTURE.xyz SOCKET_NAME CELL_LENGTH
Prints the Lennard-Jones energy (eV) of the structure as read, then serves forces until mld sends EXIT.
A soft Lennard-Jones keeps a 10-step test run gentle; what is tested is the driver and the protocol.
"""
import sys
import time

from ase.calculators.lj import LennardJones
from ase.calculators.socketio import SocketClient
from ase.io import read

structure, name, length = sys.argv[1], sys.argv[2], float(sys.argv[3])
atoms = read(structure, index=0)
atoms.cell = [length, length, length]
atoms.pbc = True
atoms.calc = LennardJones(sigma=1.2, epsilon=0.01, rc=4.0)
print(repr(atoms.get_potential_energy()), flush=True)
# mld may not be listening yet (a loaded machine starts it slowly): retry the connect for up to 60 s.
deadline = time.monotonic() + 60
while True:
    try:
        client = SocketClient(unixsocket=name, timeout=60)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.2)
client.run(atoms)
