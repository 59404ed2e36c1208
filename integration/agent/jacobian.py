#!/usr/bin/python3
"""The force Jacobian of learned models at one frame, by central differences through `mld serve` (i-PI, ASE's
SocketIOCalculator). K = -dF/dx splits into a symmetric part S (a potential's Hessian) and an antisymmetric part A,
the curl of the force field: agent-mode forces F_i = -dL_i/dx_i have A != 0 and do net work around closed paths.
Linearised dynamics x'' = -M^-1 K x has complex eigenvalues only through A; a complex pair lam = a +- ib (a > 0) is
an oscillation that grows at Im sqrt(lam) per unit time ("flutter"), and a global thermostat, which scales all
velocities alike, cannot damp one mode.
    jacobian.py RUN FRAME MODEL... [--h 1e-3]   prints one JSON line per model"""
import argparse, glob, gzip, json, os, shlex, subprocess, uuid
import numpy as np
from ase.calculators.socketio import SocketIOCalculator
from ase.io import read

repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('run'); p.add_argument('frame', type=int); p.add_argument('models', nargs='+')
p.add_argument('--box', type=float, default=9.8528); p.add_argument('--h', type=float, default=1e-3)
a = p.parse_args()
mld = shlex.split(os.environ.get('MLD', f'dotnet {repo}/src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll'))
pos = sorted(glob.glob(os.path.join(a.run, '*-pos-1.xyz*')))[0]
tmp = f'/tmp/jac_{uuid.uuid4().hex[:8]}.xyz'
with (gzip.open if pos.endswith('.gz') else open)(pos, 'rt') as f:
    lines = f.readlines()
n = int(lines[0]); k = a.frame if a.frame >= 0 else len(lines) // (n + 2) + a.frame
open(tmp, 'w').writelines(lines[k * (n + 2):(k + 1) * (n + 2)])
atoms = read(tmp); atoms.cell = [a.box] * 3; atoms.pbc = True
x0 = atoms.get_positions().copy(); m = np.repeat(atoms.get_masses(), 3)
FS = 10.180505  # fs per sqrt(amu Å² / eV)
for model in a.models:
    name = 'jac_' + uuid.uuid4().hex[:8]
    with SocketIOCalculator(unixsocket=name) as calc:
        server = subprocess.Popen(mld + ['serve', model, '--template', tmp, '--ipi', f'unix:{name}', '--grpc', 'none'],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        atoms.calc = calc
        K = np.zeros((3 * n, 3 * n))
        for j in range(3 * n):
            cols = []
            for s in (1, -1):
                x = x0.copy(); x.flat[j] += s * a.h; atoms.set_positions(x)
                cols.append(atoms.get_forces().ravel())
            K[:, j] = -(cols[0] - cols[1]) / (2 * a.h)
        atoms.set_positions(x0)
    server.wait(timeout=60)
    S, A = (K + K.T) / 2, (K - K.T) / 2
    D = K / np.sqrt(np.outer(m, m))
    lam = np.linalg.eigvals(D)
    flutter = [l for l in lam if l.real > 0 and abs(l.imag) > 1e-6 * abs(l)]
    grow = max((np.sqrt(l + 0j).imag for l in flutter), default=0.0) / FS * 1000  # 1/ps
    print(json.dumps({'model': model, 'frame': k, 'antisymmetric/symmetric (Frobenius)': float(np.linalg.norm(A) / np.linalg.norm(S)),
                      'complex eigenvalue pairs': len(flutter) // 2, 'fastest flutter growth (1/ps)': float(grow)}), flush=True)
os.remove(tmp)
