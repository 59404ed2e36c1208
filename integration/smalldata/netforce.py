#!/usr/bin/python3
"""Net force per frame of a CP2K -frc- file (eV/Å). A translation-invariant potential has sum_i F_i = 0; a plane-wave
grid breaks the invariance (the egg-box effect), so |sum F| measures force noise that no invariant model can fit.
With independent noise e_i per atom, E|sum F|^2 = sum_i E|e_i|^2: the per-component noise averaged over atoms is
rms|sum F| / sqrt(3N). Prints JSON: frames, atoms, rmsNetForce, noisePerComponent, rmsForce per species."""
import gzip, json, math, sys

HARTREE_PER_BOHR = 27.211386245988 / 0.529177210903
path = sys.argv[1]
opener = gzip.open if path.endswith(".gz") else open
net2, frames, atoms = 0.0, 0, 0
ref2, count = {}, {}
with opener(path, "rt") as f:
    while True:
        line = f.readline()
        if not line.strip():
            break
        n = int(line)
        f.readline()
        total = [0.0, 0.0, 0.0]
        for _ in range(n):
            parts = f.readline().split()
            sym, v = parts[0], [float(x) * HARTREE_PER_BOHR for x in parts[1:4]]
            for c in range(3):
                total[c] += v[c]
            ref2[sym] = ref2.get(sym, 0.0) + sum(x * x for x in v)
            count[sym] = count.get(sym, 0) + 1
        net2 += sum(x * x for x in total)
        frames += 1
        atoms = n
rms_net = math.sqrt(net2 / frames)
print(json.dumps({
    "frames": frames, "atoms": atoms, "rmsNetForce": rms_net,
    "noisePerComponent": rms_net / math.sqrt(3 * atoms),
    "rmsForce": {s: math.sqrt(ref2[s] / (3 * count[s])) for s in ref2},
    "atomsPerFrame": {s: count[s] // frames for s in count},
}))
