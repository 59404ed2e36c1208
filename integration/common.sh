# Shell steps the measurement scripts under integration/ all repeated. Sourced, never run: each script changes to the
# repository root by its own path and sources it there (cd "$(dirname "$0")/../.."; . integration/common.sh), so it
# stays runnable alone from any directory. Defines functions only.

# parse_options NAME "KEY..." ARGS...: each `--KEY VALUE` in ARGS sets the shell variable KEY (set its default first);
# anything else is refused with "NAME: unknown argument ..." (exit 2).
parse_options() {
  local name=$1 keys=" $2 " key
  shift 2
  while [ $# -gt 0 ]; do
    key=${1#--}
    if [ "$1" = "--$key" ] && [[ $keys == *" $key "* ]]; then
      [ $# -ge 2 ] || { echo "$name: $1 needs a value" >&2; exit 2; }
      printf -v "$key" '%s' "$2"
      shift 2
    else
      echo "$name: unknown argument $1" >&2; exit 2
    fi
  done
}

# mld_temp (from the repository root): builds the CLI (Release, quietly), defines `mld ARGS...` to run it and makes
# work, a temporary directory removed on exit.
mld_temp() {
  dotnet build src/MolecularLearning.Cli -c Release -nologo -v q > /dev/null
  mld() { dotnet src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll "$@"; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
}

# bench_setup STEM (from the repository root): mld_temp, then sets mld (the command as an array, so
# `env VAR=1 "${mld[@]}" ...` works), commit, stamp (the UTC date), base (STEM-<stamp>-<commit>: the result files'
# name without extension) and data (the shipped 300 K sample run).
bench_setup() {
  mld_temp
  mld=(dotnet src/MolecularLearning.Cli/bin/Release/net10.0/mld.dll)
  commit=$(git rev-parse --short HEAD)
  stamp=$(date -u +%Y-%m-%d)
  base=$1-$stamp-$commit
  data=samples/water32-xtb
}

# mld_in_work (from the repository root, $work made): unless MLD names a built CLI, builds one into $work/bin
# (Release) and sets MLD to it; defines `log MESSAGE...`, which prints the message stamped with the UTC time and appends
# it to $work/measure.log. Exits when the build fails.
mld_in_work() {
  if [ -z "${MLD:-}" ]; then
    dotnet build src/MolecularLearning.Cli -c Release -v q -nologo -o "$work/bin" >/dev/null || exit 1
    MLD="$work/bin/mld"
  fi
  log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$work/measure.log"; }
}

# cpu_summary: the CPU's name, family and whether it has AVX-512, for result files (the same code runs at other widths there).
cpu_summary() {
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs), $(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || echo 'no AVX-512')"
}

# isa_env SETTING: sets the array envs to the environment of an instruction-set setting, for `env "${envs[@]}" ...`:
# plain (none: the widest vectors), noavx512 (DOTNET_EnableAVX512=0: what an AVX2-only CPU gets), noavx2
# (DOTNET_EnableAVX2=0: 128 bits, x86 SSE standing in for ARM NEON).
isa_env() {
  envs=()
  case $1 in
    noavx512) envs=(DOTNET_EnableAVX512=0) ;;
    noavx2) envs=(DOTNET_EnableAVX2=0) ;;
  esac
}
