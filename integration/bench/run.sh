#!/usr/bin/env bash
# Reproduces the README "Performance" table on this machine: LAMMPS SPC/Fw and CP2K references, then
# `mld bench` on the same boxes, then the markdown table. Needs dotnet, lmp, mpirun, cp2k.psmp and
# /usr/bin/python3. Usage: integration/bench/run.sh [--quick] [outdir]   (full: about an hour on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
quick=()
if [ "${1:-}" = "--quick" ]; then quick=(--quick); shift; fi
out=${1:-bench-out}
mkdir -p "$out"
dotnet build src/MolecularLearning.Cli -c Release -nologo -v q
/usr/bin/python3 integration/bench/references.py "${quick[@]}" > "$out/references.json"
dotnet src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll bench "${quick[@]}" --references "$out/references.json" --json > "$out/bench.json"
/usr/bin/python3 integration/bench/table.py "$out/bench.json" | tee "$out/table.md"
