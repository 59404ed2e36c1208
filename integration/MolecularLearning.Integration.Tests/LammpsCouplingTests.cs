using System.Globalization;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Learning;
using MolecularLearning.Learning.Export;

namespace MolecularLearning.Integration.Tests;

/// <summary>The agent default, the conservative default and the accurate preset, fitted quickly on the shipped water run.</summary>
public sealed class CoupledModels : IDisposable
{
    public CoupledModels()
    {
        Directory.CreateDirectory(Dir);
        var frames = FrameSource.Load(FittedWaterModels.DataPath);
        foreach (var (name, options) in new[] { ("agent", FitOptions.Default), ("conservative", FitOptions.DefaultConservative), ("accurate", FitOptions.Accurate) })
            ModelFitter.Fit(frames, options with { Stride = 200, Source = FittedWaterModels.DataPath }).Model.Save(ModelPath(name));
    }

    public string Dir { get; } = Path.Combine(Path.GetTempPath(), $"mld-lammps-coupling-{Guid.NewGuid():N}");
    public string ModelPath(string name) => Path.Combine(Dir, name + ".json");
    public void Dispose() { if (Directory.Exists(Dir)) Directory.Delete(Dir, true); }
}

/// <summary>
/// `mld lammps`: the model inside Debian's LAMMPS through fix external, 1 and 2 MPI ranks, against the in-process
/// evaluation; and its refusals, each one line, non-zero exit and no hang (every process has a time limit).
/// </summary>
public sealed class LammpsCouplingTests(CoupledModels models) : IClassFixture<CoupledModels>
{
    /// <summary>LAMMPS metal units: pressure (bar) = virial (eV) / volume (Å³) × nktv2p.</summary>
    private const double Nktv2p = 1.6021765e6;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(300);

    private static readonly Dictionary<string, string> MpiEnvironment = new()
    {
        ["OMPI_ALLOW_RUN_AS_ROOT"] = "1", ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1", ["OMPI_MCA_rmaps_base_oversubscribe"] = "1",
    };

    /// <summary>mpirun -np <paramref name="ranks"/> mld lammps ARGS in <paramref name="dir"/>.</summary>
    internal static Peers.Result MldLammps(string dir, int ranks, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var env = new Dictionary<string, string>(MpiEnvironment);
        if (environment is not null) foreach (var (k, v) in environment) env[k] = v;
        var all = new List<string> { "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(CultureInfo.InvariantCulture) };
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) all.AddRange(["-x", k]);
        all.AddRange(["dotnet", Peers.MldDll, "lammps"]);
        all.AddRange(args);
        return Peers.Run("mpirun", all, Timeout, dir, env);
    }

    /// <summary>The single-point input: the box, the fix, the comm cutoff, forces dumped and pe + virial printed at full precision.</summary>
    internal static string SinglePoint(string data, double commCutoff, string fix = "fix mld all external pf/callback 1 1") => $"""
        units           metal
        atom_style      atomic
        boundary        p p p
        read_data       {data}
        comm_modify     cutoff {commCutoff.ToString("R", CultureInfo.InvariantCulture)}
        {fix}
        fix_modify      mld energy yes virial yes
        compute         w all pressure NULL virial
        thermo_style    custom step pe c_w[1] c_w[2] c_w[3] c_w[4] c_w[5] c_w[6]
        dump            f all custom 1 forces.dump id fx fy fz
        dump_modify     f sort id format float %.17g
        run             0
        print           "$(pe:%.17g) $(c_w[1]:%.17g) $(c_w[2]:%.17g) $(c_w[3]:%.17g) $(c_w[4]:%.17g) $(c_w[5]:%.17g) $(c_w[6]:%.17g) $(vol:%.17g)" file sp.txt
        """;

    public static IEnumerable<object[]> Cases()
    {
        foreach (var model in new[] { "agent", "conservative", "accurate" })
            foreach (int replica in new[] { 1, 4 })
                yield return [model, replica];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForcesEnergyAndVirialThroughLammpsEqualTheInProcessEvaluation(string name, int replica)
    {
        var model = LearnedModel.Load(models.ModelPath(name));
        var forceField = model.CreateForceField(0.5);
        var box = LammpsDriver.WaterBox();
        var frame = replica == 1 ? box : FrameReplica.Replicate(box, replica, replica, replica);
        var want = forceField.Compute(frame);
        var dir = Directory.CreateTempSubdirectory("mld-lammps-sp-").FullName;
        try
        {
            var data = LammpsDataFile.Write(Path.Combine(dir, "box.data"), frame, model.Species);
            // Default metal skin 2 Å on top of the model's ghost cutoff.
            File.WriteAllText(Path.Combine(dir, "in.sp"), SinglePoint("box.data", forceField.GhostCutoff + 2.0));
            foreach (int ranks in new[] { 1, 2 })
            {
                var r = MldLammps(dir, ranks, [models.ModelPath(name), "-in", "in.sp"]);
                Assert.True(r.ExitCode == 0, $"{ranks} rank(s): exit {r.ExitCode}: {r.StdErr}\n{r.StdOut[^Math.Min(2000, r.StdOut.Length)..]}");
                var (energy, virial, forces) = Read(dir, data, frame.AtomCount);
                double tol = 1e-10;
                Assert.True(Math.Abs(energy - want.Energy) <= tol * Math.Abs(want.Energy), $"{ranks} rank(s): energy {energy} against {want.Energy}");
                double fScale = want.Forces.Max(Math.Abs);
                for (int x = 0; x < forces.Length; x++)
                    Assert.True(Math.Abs(forces[x] - want.Forces[x]) <= tol * fScale, $"{ranks} rank(s): force {x}: {forces[x]} against {want.Forces[x]}");
                // LAMMPS keeps the symmetric part: xx, yy, zz, xy, xz, yz.
                var w = want.Virial;
                double[] symmetric = [w[0], w[4], w[8], 0.5 * (w[1] + w[3]), 0.5 * (w[2] + w[6]), 0.5 * (w[5] + w[7])];
                double wScale = symmetric.Max(Math.Abs);
                for (int a = 0; a < 6; a++)
                    Assert.True(Math.Abs(virial[a] - symmetric[a]) <= tol * wScale, $"{ranks} rank(s): virial {a}: {virial[a]} against {symmetric[a]}");
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    private static (double Energy, double[] Virial, double[] Forces) Read(string dir, LammpsDataFile data, int atoms)
    {
        var v = File.ReadAllText(Path.Combine(dir, "sp.txt")).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(P).ToArray();
        double volume = v[7];
        var virial = v.Skip(1).Take(6).Select(p => p * volume / Nktv2p).ToArray();
        var lines = File.ReadAllLines(Path.Combine(dir, "forces.dump"));
        int first = Array.IndexOf(lines, "ITEM: ATOMS id fx fy fz") + 1;
        Assert.Equal(atoms, lines.Length - first);
        var forces = new double[3 * atoms];
        for (int i = first; i < lines.Length; i++)
        {
            var f = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            data.ToOriginal(new Vec3(P(f[1]), P(f[2]), P(f[3]))).To(forces, int.Parse(f[0], CultureInfo.InvariantCulture) - 1);
        }
        return (v[0], virial, forces);
    }

    private static double P(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>Runs a refused input on 2 ranks: non-zero exit within the time limit, the message once on stderr.</summary>
    private (Peers.Result Result, string Dir) Refused(string model, string input, IEnumerable<string>? extra = null, IDictionary<string, string>? environment = null)
    {
        var dir = Directory.CreateTempSubdirectory("mld-lammps-refuse-").FullName;
        LammpsDataFile.Write(Path.Combine(dir, "box.data"), LammpsDriver.WaterBox(), LearnedModel.Load(models.ModelPath(model)).Species);
        File.WriteAllText(Path.Combine(dir, "in.sp"), input);
        var r = MldLammps(dir, 2, new[] { models.ModelPath(model), "-in", "in.sp" }.Concat(extra ?? []), environment);
        Directory.Delete(dir, true);
        Assert.NotEqual(0, r.ExitCode);
        Assert.DoesNotContain("   at ", r.StdErr); // no stack trace
        return (r, dir);
    }

    [Fact]
    public void ACommunicationCutoffShorterThanTheGhostsNeedIsRefused()
    {
        // Conservative: ghosts to twice the 6 Å cutoff; 8 Å is enough for agents, not for this model.
        var (r, _) = Refused("conservative", SinglePoint("box.data", 8.0));
        Assert.Contains("communication cutoff is 8 Å", r.StdErr);
        Assert.Contains("comm_modify cutoff 14", r.StdErr);
    }

    [Fact]
    public void ATypesMapThatDoesNotMatchIsRefused()
    {
        var (count, _) = Refused("agent", SinglePoint("box.data", 8.5), ["--types", "O,H,O"]);
        Assert.Contains("--types names 3 type(s) (O,H,O) but the LAMMPS box has 2 atom type(s)", count.StdErr);
        var (swapped, _) = Refused("agent", SinglePoint("box.data", 8.5), ["--types", "H,O"]);
        Assert.Contains("--types maps atom type 1 (mass 15.999) to H", swapped.StdErr);
    }

    [Fact]
    public void AnInputWithoutTheFixIsRefused()
    {
        var (r, _) = Refused("agent", SinglePoint("box.data", 8.5, fix: "fix other all external pf/callback 1 1").Replace("fix_modify      mld", "fix_modify      other"));
        Assert.Contains("defines no fix 'mld' before this run", r.StdErr);
        Assert.Contains("in.sp:", r.StdErr);
    }

    [Fact]
    public void AMissingLibraryIsRefusedNamingThePackage()
    {
        var (r, _) = Refused("agent", SinglePoint("box.data", 8.5), environment: new Dictionary<string, string> { ["MLD_LIBLAMMPS"] = "/nonexistent/liblammps.so.0" });
        Assert.Contains("install the Debian package liblammps0", r.StdErr);
    }
}

/// <summary>
/// Dynamics through `mld lammps`: LAMMPS's NVE (velocity Verlet, 0.5 fs) on the accurate preset keeps the total
/// energy as well as mld's own NVE does on the same model and box (short runs: the machine's budget, not 10 ps).
/// </summary>
public sealed class LammpsCouplingDynamicsTests(CoupledModels models) : IClassFixture<CoupledModels>
{
    private const int Steps = 400, Every = 10;

    [Fact]
    public void NveInLammpsConservesEnergyAsInProcessNveDoes()
    {
        var dir = Directory.CreateTempSubdirectory("mld-lammps-nve-").FullName;
        try
        {
            var model = models.ModelPath("accurate");
            foreach (var file in new[] { "common.lammps", "in.nve", "water96.data" })
                File.Copy(Path.Combine(Peers.RepoRoot, "integration", "lammps", file), Path.Combine(dir, file));
            var input = File.ReadAllText(Path.Combine(dir, "in.nve")).Replace("run             ${steps}",
                $"variable et equal etotal\nvariable ke equal ke\nfix record all print {Every} \"${{et}} ${{ke}}\" file nve.txt screen no\nrun ${{steps}}");
            File.WriteAllText(Path.Combine(dir, "in.record"), input);
            var r = LammpsCouplingTests.MldLammps(dir, 1, [model, "-in", "in.record", "-var", "steps", Steps.ToString(CultureInfo.InvariantCulture)]);
            Assert.True(r.ExitCode == 0, r.StdErr + r.StdOut[^Math.Min(2000, r.StdOut.Length)..]);
            var rows = File.ReadAllLines(Path.Combine(dir, "nve.txt")).Where(l => !l.StartsWith('#') && l.Trim().Length > 0)
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray()).ToArray();
            Assert.Equal(Steps / Every + 1, rows.Length); // step 0 included
            double lammpsSpread = rows.Max(x => x[0]) - rows.Min(x => x[0]), kinetic = rows.Average(x => x[1]);

            var m = Peers.Mld(["run", model, "--from", Path.Combine(Peers.RepoRoot, "samples", "water32-xtb", "init.xyz"), "--cell", "9.8528 9.8528 9.8528",
                "--steps", Steps.ToString(CultureInfo.InvariantCulture), "--thermostat", "none", "--seed", "3", "--log", Path.Combine(dir, "mld.csv"),
                "--log-every", Every.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(600), dir);
            Assert.True(m.ExitCode == 0, m.StdErr);
            var conserved = File.ReadAllLines(Path.Combine(dir, "mld.csv")).Skip(1)
                .Select(l => double.Parse(l.Split(',')[5], CultureInfo.InvariantCulture)).ToArray();
            double mldSpread = conserved.Max() - conserved.Min();
            // Both small against the kinetic energy, and of the same order (a wrong or stale force breaks this at once).
            Assert.True(lammpsSpread < 0.02 * kinetic, $"LAMMPS NVE total energy spread {lammpsSpread} eV, kinetic {kinetic} eV");
            Assert.True(lammpsSpread < 5 * mldSpread && mldSpread < 5 * lammpsSpread, $"LAMMPS spread {lammpsSpread} eV against mld run {mldSpread} eV");
        }
        finally { Directory.Delete(dir, true); }
    }
}
