#!/usr/bin/env bash
# 10^6 atoms on 2 MPI ranks (issue 14): the 96-atom box replicated 22^3 = 1,022,208 atoms, NVE from 300 K for STEPS
# steps through `mld lammps`, each rank's peak resident memory (GNU time) and LAMMPS's loop time.
#   integration/lammps/million.sh [model.json]     (env: STEPS=3, RANKS=2, REP=22, WORK=a temp dir, EXTRA=more mld lammps options)
# Without a model, fits the recommended model on samples/water32-xtb. Writes million-<date>T<time>Z.md beside this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=${WORK:-$(mktemp -d /tmp/mld-lammps-million.XXXXXX)}
mkdir -p "$work"
steps=${STEPS:-3}; ranks=${RANKS:-2}; rep=${REP:-22}; extra=${EXTRA:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
dotnet build src/MolecularLearning.Cli -c Release -nologo -v q > /dev/null
mld_dll="$root/src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll"
model=${1:-}
if [ -z "$model" ]; then model="$work/model.json"; dotnet "$mld_dll" fit samples/water32-xtb -o "$model" > "$work/fit.txt"; fi
model=$(realpath "$model")
reach=$(cd "$work" && dotnet "$mld_dll" lammps "$model" -in /dev/null $extra | sed -n 's/.*ghosts needed to \([0-9.]*\) Å.*/\1/p')
comm=$(awk -v r="$reach" 'BEGIN {printf "%.2f", r + 2.0}')
cp integration/lammps/common.lammps integration/lammps/water96.data "$work/"
cat > "$work/in.million" <<'IN'
variable steps index 3
include common.lammps
velocity all create 300.0 4928459 mom yes rot yes dist gaussian
timestep 0.0005
fix integrate all nve
thermo 1
run ${steps}
IN
before=$(cut -d' ' -f1-3 /proc/loadavg)
(cd "$work" && rm -f rss-*.txt && mpirun --bind-to none -np "$ranks" sh -c '/usr/bin/time -f "%M %e" -o rss-$OMPI_COMM_WORLD_RANK.txt "$@"' rank \
   dotnet "$mld_dll" lammps "$model" -in in.million $extra -var rep "$rep" -var comm "$comm" -var steps "$steps" > lammps.log 2>&1)
after=$(cut -d' ' -f1-3 /proc/loadavg)
out="integration/lammps/million-$(date -u +%Y-%m-%dT%H%MZ).md"
{
  echo "# \`mld lammps\` with 10^6 atoms on $ranks ranks (integration/lammps/million.sh)"
  echo
  echo "Model: $model; commit $(git rev-parse --short HEAD); options: ${extra:-none}; comm_modify cutoff $comm Å; load average before: $before, after: $after."
  echo
  echo '```'
  grep -E "mld lammps|atoms$|Loop time|CPU use|^ +[0-9]+ +[-0-9.e]+ " "$work/lammps.log" | sed "s/\x1b\[?1h\x1b=//g" || true
  echo '```'
  echo
  echo "| rank | peak resident memory (MiB) | wall (s, whole process) |"
  echo "|---|---|---|"
  for f in "$work"/rss-*.txt; do r=${f##*rss-}; r=${r%.txt}; awk -v r="$r" '{printf "| %s | %.0f | %s |\n", r, $1 / 1024, $2}' "$f"; done
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
