#!/usr/bin/env bash
# Curl-penalised agent models beside the global chain (curl-scan.sh): NVE (how fast they heat with no thermostat) and the
# massive chain at τ 100 fs (whether the penalty helps a weaker massive setting than the paper's τ 10 fs). Writes
# integration/agent/curl-checks-YYYY-MM-DD.md.
#   integration/agent/curl-checks.sh RUN FRAME      (e.g. samples/water32-xtb -1)
set -euo pipefail
cd "$(dirname "$0")/../.."
run=$1; frame=$2
dotnet build src/MolecularLearning.Cli -c Release -nologo -v q >/dev/null
bin=$(mktemp -d); cp -r src/MolecularLearning.Cli/bin/Release/net10.0/. "$bin/"
mld() { dotnet "$bin/mld.dll" "$@"; }
work=$(mktemp -d); trap 'rm -rf "$work" "$bin"' EXIT
out=integration/agent/curl-checks-$(date -u +%Y-%m-%d).md
# label | extra fit options
specs=(
  "plain|"
  "μ 100, jitter 0.1 Å|--curl-penalty 100 --curl-sample 16:400:0.1"
  "μ 1000, jitter 0.1 Å|--curl-penalty 1000 --curl-sample 16:400:0.1"
  "μ 1000, jitter 0.1 Å, no range walls|--curl-penalty 1000 --curl-sample 16:400:0.1 --range-walls 0"
  "μ 1e5, jitter 0.1 Å|--curl-penalty 100000 --curl-sample 16:400:0.1"
)
{
  echo "# Curl-penalised agent models: NVE and the massive chain at τ 100 fs"
  echo
  echo "Written by integration/agent/curl-checks.sh on $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD). Models: \`mld fit $run --mode agent OPTIONS\`."
  echo "NVE: \`mld run MODEL --from $run --frame $frame --steps 2000 --thermostat none\` (1 ps at 0.5 fs, the frame's velocities)."
  echo "Massive: \`mld run MODEL --from $run --frame $frame --steps 10000 --tau 100 --massive true\` (5 ps, one chain per atom); T mean ± std and slope after the first ps."
  echo
  echo "| model | NVE: ran (ps) | NVE: T at end or divergence (K) | massive τ 100: ran (ps) | T mean ± std (K) | T slope (K/ps) |"
  echo "| --- | --- | --- | --- | --- | --- |"
} >"$work/table.md"
for spec in "${specs[@]}"; do
  label=${spec%%|*}; opts=${spec#*|}
  echo "$label" >&2
  # shellcheck disable=SC2086
  mld fit "$run" --mode agent $opts -o "$work/model.json" >/dev/null 2>"$work/fit.err"
  rm -f "$work/nve.csv" "$work/massive.csv"
  mld run "$work/model.json" --from "$run" --frame "$frame" --steps 2000 --thermostat none --log "$work/nve.csv" --log-every 20 --every 1000000 >/dev/null 2>&1 || true
  mld run "$work/model.json" --from "$run" --frame "$frame" --steps 10000 --tau 100 --massive true --log "$work/massive.csv" --log-every 20 --every 1000000 >/dev/null 2>&1 || true
  /usr/bin/python3 - "$label" "$work/nve.csv" "$work/massive.csv" >>"$work/table.md" <<'PY'
import csv, os, sys
import numpy as np
def load(path):
    rows = [(float(r["time_fs"]), float(r["temperature_K"])) for r in (csv.DictReader(open(path)) if os.path.exists(path) else [])]
    return np.array(rows).T if rows else (np.array([0.0]), np.array([np.nan]))
t, T = load(sys.argv[2])
m_t, m_T = load(sys.argv[3])
late = m_t >= 1000
stats = (f"{m_T[late].mean():.1f} ± {m_T[late].std():.1f}", f"{np.polyfit(m_t[late] / 1000, m_T[late], 1)[0]:+.1f}") if late.sum() >= 2 else ("–", "–")
print(f"| {sys.argv[1]} | {t[-1] / 1000:.2f} | {T[-1]:.0f} | {m_t[-1] / 1000:.2f} | {stats[0]} | {stats[1]} |")
PY
  tail -1 "$work/table.md" >&2
done
{ cat "$work/table.md"; echo; echo "Machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)."; } >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"; echo "wrote $out"
