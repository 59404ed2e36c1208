#!/usr/bin/python3
"""Reference costs for `mld bench` on this machine, printed as JSON:
- LAMMPS (Debian `lmp`) running flexible SPC/Fw water with a plain cutoff (lj/cut/coul/cut), the
  shared 32-water box replicated k×k×k, on 1 MPI rank and on 2: nanoseconds per atom-step from
  LAMMPS's own "Loop time" of the timed run (a warm-up run comes first and is not counted);
- CP2K (Debian `cp2k.psmp`): seconds per MD step for the same 96-atom box with GFN1-xTB (live run of
  a few steps, median of the steps after the first two, from CP2K's own .ener UsedTime column) and
  with PBE-D3 (the median of the shared run's .ener, or a live run with --pbe-live).

Usage: references.py [--quick] [--cutoff 6.0] [--skin 1.0] [--repeat 2] [--pbe-live] [--no-cp2k] [--no-lammps]
                     [--data /work/shared/data] > references.json
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BOX = 9.8528
# replicas per axis -> atoms: 1:96, 2:768, 3:2592, 5:12000, 10:96000, 22:1022208
FULL_REPS = [1, 2, 3, 5, 10, 22]
QUICK_REPS = [1, 3, 5]


def steps_for(atoms):
    """Enough steps for about a second of LAMMPS time, at least 10."""
    return max(10, min(2000, int(2e6 / atoms)))


def lammps(data, rep, ranks, cutoff, skin, work, repeat):
    """Best of `repeat` runs (wall "Loop time"), with LAMMPS's own CPU-use percentage for CPU time."""
    atoms = 96 * rep ** 3
    steps = steps_for(atoms)
    best = None
    for attempt in range(repeat):
        out = os.path.join(work, "lammps-%d-%d-%d.out" % (rep, ranks, attempt))
        cmd = ["lmp", "-in", os.path.join(HERE, "in.spcfw"), "-log", "none", "-screen", out,
               "-var", "data", data, "-var", "nrep", str(rep), "-var", "rc", str(cutoff),
               "-var", "skin", str(skin), "-var", "steps", str(steps), "-var", "warm", str(max(5, steps // 10))]
        if ranks > 1:
            cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(ranks)] + cmd
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ, OMP_NUM_THREADS="1"))
        text = open(out).read()
        seconds, procs, nsteps, natoms = re.findall(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms", text)[-1]
        cpu = re.findall(r"([0-9.]+)% CPU use", text)
        seconds, nsteps, natoms = float(seconds), int(nsteps), int(natoms)
        row = {"atoms": natoms, "ranks": int(procs), "threads": 1, "steps": nsteps, "loopSeconds": seconds,
               "nsPerAtomStep": seconds / (nsteps * natoms) * 1e9, "stepsPerSecond": nsteps / seconds}
        if cpu:
            # CPU time of all ranks: the work done, whatever else runs on the machine.
            row["cpuNsPerAtomStep"] = row["nsPerAtomStep"] * float(cpu[-1]) / 100 * int(procs)
        if best is None or row["nsPerAtomStep"] < best["nsPerAtomStep"]:
            best = row
    return best


def ener_seconds(path):
    """CP2K's UsedTime column (last) per step from step 2 on: step 0 has none, step 1 includes the setup."""
    rows = [l.split() for l in open(path) if l.strip() and not l.lstrip().startswith("#")]
    return [float(r[-1]) for r in rows if int(r[0]) >= 2]


def cp2k_live(run_dir, steps, work, name):
    """Runs CP2K's own input from run_dir with STEPS replaced; returns the per-step seconds from step 2 on."""
    d = os.path.join(work, name)
    os.makedirs(d)
    inp = open(os.path.join(run_dir, "md.inp")).read()
    inp = re.sub(r"(?m)^(\s*STEPS\s+)\d+", lambda m: m.group(1) + str(steps), inp)
    # Start from the shared coordinates, not from another run's restart file.
    inp = re.sub(r"(?s)&EXT_RESTART.*?&END EXT_RESTART\s*", "", inp)
    open(os.path.join(d, "md.inp"), "w").write(inp)
    shutil.copy(os.path.join(run_dir, "init.xyz"), d)
    for f in ("dftd3.dat", "xTB_parameters"):  # CP2K looks next to the input first
        src = os.path.join("/usr/share/cp2k", f)
        if os.path.exists(src):
            shutil.copy(src, d)
    cmd = ["cp2k.psmp", "-i", "md.inp", "-o", "md.out"]
    subprocess.run(cmd, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   env=dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2")))
    ener = [f for f in os.listdir(d) if f.endswith(".ener")][0]
    return ener_seconds(os.path.join(d, ener))


def cp2k_recorded(run_dir):
    ener = [f for f in os.listdir(run_dir) if f.endswith(".ener")][0]
    return ener_seconds(os.path.join(run_dir, ener))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cutoff", type=float, default=6.0)
    ap.add_argument("--skin", type=float, default=1.0)
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--xtb-steps", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=2, help="LAMMPS runs per size (the best is kept)")
    ap.add_argument("--pbe-live", action="store_true")
    ap.add_argument("--no-cp2k", action="store_true")
    ap.add_argument("--no-lammps", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mld-bench-")
    result = {"cutoff": a.cutoff, "skin": a.skin, "timestepFs": 0.5, "lammps": [], "cp2k": {}}
    try:
        if not a.no_lammps:
            data = os.path.join(work, "water32.data")
            subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_lammps_data.py"),
                            os.path.join(a.data, "water32-xtb", "init.xyz"), str(BOX), data], check=True)
            for rep in (QUICK_REPS if a.quick else FULL_REPS):
                for ranks in (1, 2):
                    r = lammps(data, rep, ranks, a.cutoff, a.skin, work, a.repeat)
                    print("lammps %7d atoms %d ranks: %.1f ns/atom-step" % (r["atoms"], ranks, r["nsPerAtomStep"]), file=sys.stderr)
                    result["lammps"].append(r)
        if not a.no_cp2k:
            xtb = cp2k_live(os.path.join(a.data, "water32-xtb"), a.xtb_steps, work, "xtb")
            result["cp2k"]["xtb"] = {"atoms": 96, "secondsPerStep": statistics.median(xtb), "steps": len(xtb),
                                     "source": "live cp2k.psmp run, median of %d steps (step 2 on)" % len(xtb)}
            rec = cp2k_recorded(os.path.join(a.data, "water32-xtb"))
            result["cp2k"]["xtbRecorded"] = {"atoms": 96, "secondsPerStep": statistics.median(rec), "steps": len(rec),
                                             "source": "water32-xtb .ener UsedTime median (2 cores)"}
            if a.pbe_live:
                pbe = cp2k_live(os.path.join(a.data, "water32-pbe-sample"), 4, work, "pbe")
                src = "live cp2k.psmp run, median of %d steps (step 2 on)" % len(pbe)
            else:
                pbe = cp2k_recorded(os.path.join(a.data, "water32-pbe"))
                src = "water32-pbe .ener UsedTime median (2 cores, recorded, not live)"
            result["cp2k"]["pbe"] = {"atoms": 96, "secondsPerStep": statistics.median(pbe), "steps": len(pbe), "source": src}
            for k, v in result["cp2k"].items():
                print("cp2k %s: %.3f s/step (%s)" % (k, v["secondsPerStep"], v["source"]), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
