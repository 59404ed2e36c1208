#!/usr/bin/env bash
# The whole test suite. Installs the real peers the integration tests talk to when missing and run as root
# (say what and why first; --no-install or MLD_NO_INSTALL=1 skips it), builds with warnings as errors, runs
# the unit tests three times (plain, then with AVX-512 and with AVX2 switched off, so every SIMD path the
# kernels have runs somewhere) and the integration tests once.
set -euo pipefail
cd "$(dirname "$0")"

install=1
for arg in "$@"; do
  case "$arg" in
    --no-install) install=0 ;;
    -h|--help) echo "usage: ./test.sh [--no-install]   (MLD_NO_INSTALL=1 also skips installing)"; exit 0 ;;
    *) echo "test.sh: unknown argument '$arg' (expected --no-install)" >&2; exit 2 ;;
  esac
done
[ "${MLD_NO_INSTALL:-0}" = 1 ] && install=0

# Debian package -> why the tests need it.
declare -A why=(
  [python3-ase]="ASE reads/writes our extended XYZ and drives mld over i-PI"
  [python3-grpcio]="the Python gRPC client of the gRPC interoperability tests"
  [python3-protobuf]="protobuf runtime for that Python client"
  [protobuf-compiler]="protoc, to generate the Python client from protos/"
  [cp2k]="CP2K itself, for the i-PI and reference-force tests"
  [lammps]="LAMMPS (lmp), to run exported learned models"
  [chromium]="headless Chromium, to render and check report.html"
)
apt_packages=(python3-ase python3-grpcio python3-protobuf protobuf-compiler cp2k lammps chromium)
# Node may come from elsewhere (with npm bundled); only ask Debian for it when there is none.
if ! { command -v node >/dev/null && command -v npm >/dev/null; }; then
  apt_packages+=(nodejs npm)
  why[nodejs]="Node.js, for the @grpc/grpc-js interoperability tests"
  why[npm]="npm, to install @grpc/grpc-js in integration/node"
fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$install" = 0 ]; then
    echo "not installing (--no-install): ${missing[*]}; the tests that need them report SKIPPED or fail" >&2
  elif [ "$(id -u)" != 0 ]; then
    echo "not root, so not installing: ${missing[*]}" >&2
    echo "  install them yourself (sudo apt-get install ${missing[*]}) or run ./test.sh --no-install" >&2
  else
    echo "test.sh will install these Debian packages (skip with --no-install or MLD_NO_INSTALL=1):"
    for p in "${missing[@]}"; do printf '  %-18s %s\n' "$p" "${why[$p]}"; done
    aptlog=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$aptlog" 2>&1; then
      cat "$aptlog" >&2
      echo "test.sh: apt-get failed (output above); install the packages yourself or run ./test.sh --no-install" >&2
      rm -f "$aptlog"
      exit 1
    fi
    rm -f "$aptlog"
  fi
fi
# Node's gRPC client for the gRPC interoperability tests.
if [ "$install" = 1 ] && [ -f integration/node/package.json ] && [ ! -d integration/node/node_modules/@grpc/grpc-js ] && command -v npm >/dev/null; then
  echo "test.sh will run npm install in integration/node (@grpc/grpc-js, @grpc/proto-loader: the Node gRPC client)"
  (cd integration/node && npm install --no-audit --no-fund --silent) || echo "warning: npm install failed; the Node gRPC tests will fail" >&2
fi

echo "building (Release, warnings as errors)"
dotnet build MolecularLearning.sln -c Release -warnaserror -nologo -v q

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# name | environment | projects. Every unit-test project runs plain; the SIMD variants run the two that hold
# the vectorised kernels (neighbour lists, invariants and forces), which keeps the suite short.
unit=$(for p in tests/*/*.csproj; do printf '%s ' "$(dirname "$p")"; done)
runs=(
  "plain||$unit"
  "AVX-512 off|DOTNET_EnableAVX512=0|tests/MolecularLearning.Core.Tests tests/MolecularLearning.Learning.Tests"
  "AVX2 off|DOTNET_EnableAVX2=0|tests/MolecularLearning.Core.Tests tests/MolecularLearning.Learning.Tests"
  "integration||integration/MolecularLearning.Integration.Tests"
)
for run in "${runs[@]}"; do
  IFS='|' read -r name envs projects <<<"$run"
  for project in $projects; do
    echo "== $name: $project"
    env $envs dotnet test "$project" -c Release --no-build -nologo 2>&1 | tee -a "$log" || status=$?
  done
done
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "tests: $passed passed, $failed failed, $skipped skipped (unit tests plain and under two SIMD widths, integration once)"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
