#!/usr/bin/env bash
# The whole test suite: installs the real peers the integration tests talk to (ASE, grpcio, CP2K,
# LAMMPS, Chromium, Node) when missing and run as root, then runs every test project.
set -euo pipefail
cd "$(dirname "$0")"

apt_packages=(python3-ase python3-grpcio python3-protobuf protobuf-compiler cp2k lammps chromium)
# Node may come from elsewhere (with npm bundled); only ask Debian for it when there is none.
command -v node >/dev/null && command -v npm >/dev/null || apt_packages+=(nodejs npm)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "warning: not root, cannot install ${missing[*]}; the tests that need them will fail" >&2
  fi
fi
# Node's gRPC client for the gRPC interoperability tests.
if [ -f integration/node/package.json ] && [ ! -d integration/node/node_modules/@grpc/grpc-js ] && command -v npm >/dev/null; then
  (cd integration/node && npm install --no-audit --no-fund --silent) || echo "warning: npm install failed" >&2
fi

dotnet build MolecularLearning.sln -c Release -warnaserror -nologo -v q
log=$(mktemp)
status=0
dotnet test MolecularLearning.sln -c Release --no-build -nologo 2>&1 | tee "$log" || status=$?
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
