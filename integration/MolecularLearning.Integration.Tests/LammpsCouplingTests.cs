using System.Globalization;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Learning;
using MolecularLearning.Learning.Export;
using Xunit.Abstractions;

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
        // The agent model with its range walls pulled in by 30 % of each range from both ends (so they act on the water
        // box) and pushing as the gradient of their sum: a neighbour's wall pushes an atom, as in conservative mode.
        var agent = LearnedModel.Load(ModelPath("agent"));
        var narrow = agent.Losses.Select(l => l.Bounds is not { } b ? l : l.WithBounds(b with
        {
            Min = [.. b.Min.Select((lo, a) => lo + 0.3 * (b.Max[a] - lo))],
            Max = [.. b.Max.Select((hi, a) => hi - 0.3 * (hi - b.Min[a]))],
        }));
        new LearnedModel(agent.Invariants, agent.Mode, [.. narrow], agent.Walls) { WallForces = WallForces.Gradient }.Save(ModelPath("gradient-walls"));
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
        // Unbound: a rank bound to one core shares it with the .NET runtime's threads and a busy machine's other work.
        var all = new List<string> { "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", ranks.ToString(CultureInfo.InvariantCulture) };
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
        foreach (var model in new[] { "agent", "conservative", "accurate", "gradient-walls" })
            foreach (int replica in new[] { 1, 4 })
                yield return [model, replica];
        yield return ["accurate", Tilted]; // a triclinic box: one rank takes it whole (as a cell), two ranks as domains
    }

    /// <summary>The replica argument meaning the 96-atom box sheared into a triclinic cell (xy, xz, yz tilts).</summary>
    private const int Tilted = -1;

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForcesEnergyAndVirialThroughLammpsEqualTheInProcessEvaluation(string name, int replica)
    {
        var model = LearnedModel.Load(models.ModelPath(name));
        var forceField = model.CreateForceField(0.5);
        var box = LammpsDriver.WaterBox();
        var l = box.Cell!.Lengths;
        var frame = replica == Tilted ? new Frame(box.Species, box.Positions, new Cell([l.A, 0, 0, 1.3, l.B, 0, -0.9, 0.7, l.C]))
            : replica == 1 ? box : FrameReplica.Replicate(box, replica, replica, replica);
        var want = forceField.Compute(frame);
        if (model.WallForces == WallForces.Gradient) Assert.True(((LearnedForceField)forceField).WallReactionCount > 0, "no range wall acts: the case tests nothing of the walls");
        var dir = Directory.CreateTempSubdirectory("mld-lammps-sp-").FullName;
        try
        {
            var data = LammpsDataFile.Write(Path.Combine(dir, "box.data"), frame, model.Species);
            // Default metal skin 2 Å on top of the ghost reach: the cutoff (conservative models send the ghosts' reactions to
            // their owners), or twice it for a conservative model's ghost losses (--ghost-losses).
            File.WriteAllText(Path.Combine(dir, "in.sp"), SinglePoint("box.data", forceField.ReactionGhostCutoff + 2.0));
            File.WriteAllText(Path.Combine(dir, "in.losses"), SinglePoint("box.data", forceField.GhostCutoff + 2.0));
            var runs = new List<(int Ranks, string[] Args, string? Exchange)> { (1, ["-in", "in.sp"], null), (2, ["-in", "in.sp"], null) };
            if (forceField.HasGhostReactions)
            {
                runs.Add((2, ["-in", "in.losses", "--ghost-losses"], null));
                // Both forms of the ghost-reaction exchange, whichever the run would pick by itself.
                runs.Add((2, ["-in", "in.sp"], "sparse"));
                runs.Add((2, ["-in", "in.sp"], "dense"));
            }
            foreach (var (ranks, args, exchange) in runs)
            {
                var r = MldLammps(dir, ranks, [models.ModelPath(name), .. args],
                    exchange is null ? null : new Dictionary<string, string> { ["MLD_LAMMPS_EXCHANGE"] = exchange });
                Assert.True(r.ExitCode == 0, $"{ranks} rank(s): exit {r.ExitCode}: {r.StdErr}\n{r.StdOut[^Math.Min(2000, r.StdOut.Length)..]}");
                var (energy, virial, forces) = Read(dir, data, frame.AtomCount);
                string how = exchange is null ? $"{ranks} rank(s)" : $"{ranks} rank(s), {exchange} exchange";
                double tol = 1e-10;
                Assert.True(Math.Abs(energy - want.Energy) <= tol * Math.Abs(want.Energy), $"{how}: energy {energy} against {want.Energy}");
                double fScale = want.Forces.Max(Math.Abs);
                for (int x = 0; x < forces.Length; x++)
                    Assert.True(Math.Abs(forces[x] - want.Forces[x]) <= tol * fScale, $"{how}: force {x}: {forces[x]} against {want.Forces[x]}");
                // LAMMPS keeps the symmetric part: xx, yy, zz, xy, xz, yz.
                var w = want.Virial;
                double[] symmetric = [w[0], w[4], w[8], 0.5 * (w[1] + w[3]), 0.5 * (w[2] + w[6]), 0.5 * (w[5] + w[7])];
                double wScale = symmetric.Max(Math.Abs);
                for (int a = 0; a < 6; a++)
                    Assert.True(Math.Abs(virial[a] - symmetric[a]) <= tol * wScale, $"{how}: virial {a}: {virial[a]} against {symmetric[a]}");
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// One rank whose box changes between evaluations (here change_box; a barostat alike) leaves the cell path for the
    /// domain path: the evaluation after the change equals the in-process one of the deformed box.
    /// </summary>
    [Fact]
    public void OneRankFollowsABoxThatChanges()
    {
        var model = LearnedModel.Load(models.ModelPath("accurate"));
        var forceField = model.CreateForceField(0.5);
        var box = LammpsDriver.WaterBox();
        const double sx = 1.02, sz = 0.985, edge = 9.8528;
        var positions = (double[])box.Positions.Clone();
        for (int i = 0; i < box.AtomCount; i++) { positions[3 * i] *= sx; positions[3 * i + 2] *= sz; }
        // LAMMPS scales about the box centre: a translation of this frame, which changes no force, energy or virial.
        var want = forceField.Compute(new Frame(box.Species, positions, Cell.Orthorhombic(edge * sx, edge, edge * sz)));
        SinglePointMatches("mld-lammps-box-", box, model.Species, want, dir =>
        {
            string input = SinglePoint("box.data", forceField.ReactionGhostCutoff + 2.0).Replace("compute         w all pressure",
                "run             0\nchange_box      all x scale 1.02 z scale 0.985 remap\ncompute         w all pressure");
            File.WriteAllText(Path.Combine(dir, "in.sp"), input);
            return MldLammps(dir, 1, [models.ModelPath("accurate"), "-in", "in.sp"]);
        });
    }

    /// <summary>
    /// The extrapolation signal on the domain path: a box squeezed by 4 % puts atoms outside the training range; LAMMPS on
    /// 1 and 2 ranks reports the in-process evaluation's furthest atom, invariant and value, for both force modes.
    /// </summary>
    [Theory]
    [InlineData("agent")]
    [InlineData("accurate")]
    public void LammpsReportsTheInProcessExtrapolationSignal(string name)
    {
        var model = LearnedModel.Load(models.ModelPath(name));
        var forceField = model.CreateForceField(0.5);
        var box = LammpsDriver.WaterBox();
        const double squeeze = 0.96, edge = 9.8528 * squeeze;
        var frame = new Frame(box.Species, [.. box.Positions.Select(x => x * squeeze)], Cell.Orthorhombic(edge, edge, edge));
        var want = forceField.Compute(frame);
        Assert.True(want.Extrapolation > 0, $"the squeezed box should leave the training range (signal {want.Extrapolation})");
        var dir = Directory.CreateTempSubdirectory("mld-lammps-signal-").FullName;
        try
        {
            LammpsDataFile.Write(Path.Combine(dir, "box.data"), frame, model.Species);
            File.WriteAllText(Path.Combine(dir, "in.sp"), SinglePoint("box.data", forceField.GhostCutoff + 2.0));
            foreach (int ranks in new[] { 1, 2 })
            {
                var r = MldLammps(dir, ranks, [models.ModelPath(name), "-in", "in.sp"]);
                Assert.True(r.ExitCode == 0, $"{ranks} rank(s): exit {r.ExitCode}: {r.StdErr}");
                var lines = r.StdOut.Split('\n');
                Assert.Contains(lines, l => l.Contains("extrapolation: 1 of 1 force evaluations had an atom outside the model's training range"));
                var furthest = Assert.Single(lines, l => l.Contains("furthest out:"));
                string value = NumberText.Short(want.Extrapolation, decimals: 4);
                Assert.Contains($"atom ID {want.ExtrapolationAtom + 1}'s invariant {want.ExtrapolationInvariant} at step 0, {value} training spreads", furthest);
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// The type → species map is taken afresh before every run: after `run 0`, masses swapped with `mass` (the type array
    /// unchanged) make type 1 H and type 2 O, and the second run evaluates that system, on 1 and 2 ranks.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ATypeMapThatChangesBetweenRunsIsFollowed(int ranks)
    {
        var model = LearnedModel.Load(models.ModelPath("agent"));
        var box = LammpsDriver.WaterBox();
        var o = box.Species.First(s => s.Symbol == "O");
        var h = box.Species.First(s => s.Symbol == "H");
        var swapped = new Frame([.. box.Species.Select(s => s == o ? h : o)], box.Positions, box.Cell);
        var want = model.CreateForceField(0.5).Compute(swapped);
        SinglePointMatches("mld-lammps-remap-", box, model.Species, want, dir =>
        {
            // A dump writes a step once: the second run 0 (same step) is dumped by a new dump of the same file.
            string dump = "dump            f all custom 1 forces.dump id fx fy fz\ndump_modify     f sort id format float %.17g\n";
            File.WriteAllText(Path.Combine(dir, "in.sp"), SinglePoint("box.data", 8.5).Replace("run             0",
                $"run             0\nundump          f\nmass            1 {h.Mass.ToString("R", CultureInfo.InvariantCulture)}\n" +
                $"mass            2 {o.Mass.ToString("R", CultureInfo.InvariantCulture)}\n{dump}run             0"));
            return MldLammps(dir, ranks, [models.ModelPath("agent"), "-in", "in.sp"]);
        }, $"{ranks} rank(s): ");
    }

    /// <summary>An `include` whose path is a variable is followed by mld lammps, so the run in it gets the model's forces (2 ranks).</summary>
    [Fact]
    public void AnIncludeThroughAVariableIsFollowed()
    {
        var model = LearnedModel.Load(models.ModelPath("accurate"));
        var box = LammpsDriver.WaterBox();
        var want = model.CreateForceField(0.5).Compute(box);
        SinglePointMatches("mld-lammps-include-", box, model.Species, want, dir =>
        {
            string input = SinglePoint("box.data", 8.5);
            int at = input.IndexOf("run             0", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(dir, "in.sp"), input[..at] + "include         ${part}\n");
            File.WriteAllText(Path.Combine(dir, "part.lammps"), input[at..]);
            return MldLammps(dir, 2, [models.ModelPath("accurate"), "-in", "in.sp", "-var", "part", "part.lammps"]);
        });
    }

    /// <summary>
    /// Heavy water: type 2 with deuterium's mass matches no species by mass and is refused naming --types; with
    /// `--types O,H` it runs as H (forces do not depend on the mass) and equals the in-process evaluation.
    /// </summary>
    [Fact]
    public void AnIsotopeRunsWhenTypesNamesItsSpecies()
    {
        var model = LearnedModel.Load(models.ModelPath("accurate"));
        var box = LammpsDriver.WaterBox();
        var want = model.CreateForceField(0.5).Compute(box);
        SinglePointMatches("mld-lammps-isotope-", box, model.Species, want, dir =>
        {
            File.WriteAllText(Path.Combine(dir, "in.sp"), SinglePoint("box.data", 8.5).Replace("comm_modify", "mass            2 2.014\ncomm_modify"));
            var refused = MldLammps(dir, 2, [models.ModelPath("accurate"), "-in", "in.sp"]);
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("atom type 2 has mass 2.014, which matches no species of the model (O 15.999, H 1.008): set its mass or give --types", refused.StdErr);
            var r = MldLammps(dir, 2, [models.ModelPath("accurate"), "-in", "in.sp", "--types", "O,H"]);
            Assert.Contains("atom type 2 (mass 2.014) is H (model mass 1.008), as --types says", r.StdOut);
            return r;
        });
    }

    /// <summary>
    /// In a fresh directory holding <paramref name="box"/> as box.data (types in <paramref name="types"/>' order),
    /// <paramref name="run"/> writes an input and runs mld lammps; it must succeed and its single point equal <paramref name="want"/>.
    /// </summary>
    private static void SinglePointMatches(string prefix, Frame box, IReadOnlyList<Species> types, ForceResult want, Func<string, Peers.Result> run, string label = "")
    {
        var dir = Directory.CreateTempSubdirectory(prefix).FullName;
        try
        {
            var data = LammpsDataFile.Write(Path.Combine(dir, "box.data"), box, types);
            var r = run(dir);
            Assert.True(r.ExitCode == 0, $"{label}exit {r.ExitCode}: {r.StdErr}");
            AssertMatchesInProcess(Read(dir, data, box.AtomCount), want, label);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Energy and forces LAMMPS reported equal the in-process evaluation to 1e-10 (forces relative to the largest).</summary>
    private static void AssertMatchesInProcess((double Energy, double[] Virial, double[] Forces) lammps, ForceResult want, string label)
    {
        var (energy, _, forces) = lammps;
        Assert.True(Math.Abs(energy - want.Energy) <= 1e-10 * Math.Abs(want.Energy), $"{label}energy {energy} against {want.Energy}");
        double scale = want.Forces.Max(Math.Abs);
        for (int x = 0; x < forces.Length; x++)
            Assert.True(Math.Abs(forces[x] - want.Forces[x]) <= 1e-10 * scale, $"{label}force {x}: {forces[x]} against {want.Forces[x]}");
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
        // Ghosts to the 6 Å cutoff plus the 2 Å skin; a conservative model's ghost losses need twice the cutoff.
        var (r, _) = Refused("conservative", SinglePoint("box.data", 7.0));
        Assert.Contains("communication cutoff is 7 Å", r.StdErr);
        Assert.Contains("comm_modify cutoff 8", r.StdErr);
        var (losses, _) = Refused("conservative", SinglePoint("box.data", 8.0), ["--ghost-losses"]);
        Assert.Contains("communication cutoff is 8 Å", losses.StdErr);
        Assert.Contains("comm_modify cutoff 14", losses.StdErr);
        // A skin from a variable counts too: 6 Å + 3 Å.
        var (variable, _) = Refused("conservative", SinglePoint("box.data", 8.5).Replace("comm_modify", "neighbor        ${skin} bin\ncomm_modify"), ["-var", "skin", "3"]);
        Assert.Contains("communication cutoff is 8.5 Å, but the model needs ghost atoms to 6 Å plus the 3 Å neighbour skin: add `comm_modify cutoff 9`", variable.StdErr);
    }

    [Fact]
    public void ATypesMapThatDoesNotMatchIsRefused()
    {
        var (count, _) = Refused("agent", SinglePoint("box.data", 8.5), ["--types", "O,H,O"]);
        Assert.Contains("--types names 3 type(s) (O,H,O) but the LAMMPS box has 2 atom type(s)", count.StdErr);
        var (swapped, _) = Refused("agent", SinglePoint("box.data", 8.5), ["--types", "H,O"]);
        Assert.Contains("--types maps atom type 1 (mass 15.999) to H (mass 1.008), but its mass is O's: check the order of --types", swapped.StdErr);
    }

    [Fact]
    public void PerAtomMassesWithoutTypesAreRefusedNamingTypes()
    {
        // atom_style sphere keeps a mass per atom and none per type: the map must come from --types.
        var (r, _) = Refused("agent", """
            units           metal
            atom_style      sphere
            region          b block 0 10 0 10 0 10
            create_box      2 b
            create_atoms    1 single 1 1 1
            create_atoms    2 single 2 1 1
            comm_modify     cutoff 8.5
            fix             mld all external pf/callback 1 1
            run             0
            """);
        Assert.Contains("in.sp:9: the atom style has per-atom masses, none per type: give --types", r.StdErr);
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
/// energy as well as mld's own NVE does on the same model and box, and LAMMPS's Nosé–Hoover chain (fix nvt) gives
/// the same temperature, potential energy and O–H bond statistics as `mld run` with a global chain, within their
/// noise (NVE over the issue's 10 ps; NVT short, the machine's budget).
/// </summary>
public sealed class LammpsCouplingDynamicsTests(CoupledModels models, ITestOutputHelper output) : IClassFixture<CoupledModels>
{
    /// <summary>NVE: 10 ps at 0.5 fs from the same start as mld run's NVE.</summary>
    private const int Steps = 20000, Every = 100;
    /// <summary>NVT: 0.5 fs steps, a sample every 20; the first fifth is equilibration; the rest in blocks for the noise.</summary>
    private const int NvtSteps = 5000, NvtEvery = 20, Blocks = 8;
    /// <summary>Two means agree when they differ by at most this many standard errors of their difference.</summary>
    private const double Sigmas = 4;
    private const double Box = 9.8528;

    [Fact]
    public async Task NvtInLammpsGivesTheTemperatureAndOHStatisticsOfMldRun()
    {
        var dir = Directory.CreateTempSubdirectory("mld-lammps-nvt-").FullName;
        try
        {
            var model = models.ModelPath("accurate");
            foreach (var file in new[] { "common.lammps", "in.nvt", "water96.data" })
                File.Copy(Path.Combine(Peers.RepoRoot, "integration", "lammps", file), Path.Combine(dir, file));
            string every = NvtEvery.ToString(CultureInfo.InvariantCulture), steps = NvtSteps.ToString(CultureInfo.InvariantCulture);
            // The same start for both (positions and 300 K velocities): the global chain leaves the stiff O–H stretch
            // out of equilibrium for picoseconds, so two velocity draws differ in bond statistics by more than one run's noise.
            StartTogether(dir, seed: 3);
            var input = File.ReadAllText(Path.Combine(dir, "in.nvt"));
            input = System.Text.RegularExpressions.Regex.Replace(input, @"^velocity .*\n", "", System.Text.RegularExpressions.RegexOptions.Multiline);
            input = input.Replace("run             ${steps}",
                $"variable t equal temp\nvariable p equal pe\nfix record all print {every} \"${{t}} ${{p}}\" file nvt.txt screen no\n" +
                $"dump traj all custom {every} traj.dump id type x y z\ndump_modify traj sort id format float %.10g\nrun ${{steps}}");
            File.WriteAllText(Path.Combine(dir, "in.record"), input);
            // Both at once: one process each on the two cores.
            var lammps = Task.Run(() => LammpsCouplingTests.MldLammps(dir, 1, [model, "-in", "in.record", "-var", "steps", steps, "-var", "data", "start.data"]));
            // A global chain of three (fix nvt's default) with τ = fix nvt's 0.1 ps damping; velocities from the start frame.
            var mld = Task.Run(() => Peers.Mld(["run", model, "--from", Path.Combine(dir, "start.extxyz"),
                "--steps", steps, "--thermostat", "nose-hoover", "--massive", "false", "--chain", "3", "--tau", "100",
                "--temperature", "300", "--log", Path.Combine(dir, "mld.csv"), "--log-every", every,
                "--trajectory", Path.Combine(dir, "mld.extxyz"), "--every", every], TimeSpan.FromSeconds(600), dir));
            var r = await lammps;
            Assert.True(r.ExitCode == 0, r.StdErr + r.StdOut[^Math.Min(2000, r.StdOut.Length)..]);
            var m = await mld;
            Assert.True(m.ExitCode == 0, m.StdErr);

            var thermo = File.ReadAllLines(Path.Combine(dir, "nvt.txt")).Where(l => !l.StartsWith('#') && l.Trim().Length > 0)
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(P).ToArray()).ToArray();
            var log = File.ReadAllLines(Path.Combine(dir, "mld.csv")).Skip(1).Select(l => l.Split(',').Select(P).ToArray()).ToArray();
            var lammpsBonds = DumpFrames(Path.Combine(dir, "traj.dump")).Select(BondStatistics).ToArray();
            var mldBonds = FrameSource.Load(Path.Combine(dir, "mld.extxyz"))
                .Select(f => BondStatistics((f.Species.Select(s => s.Symbol == "O" ? 1 : 2).ToArray(), f.Positions.ToArray()))).ToArray();
            Assert.Equal(NvtSteps / NvtEvery + 1, thermo.Length);
            Assert.Equal(NvtSteps / NvtEvery + 1, lammpsBonds.Length);

            AssertSame("temperature (K)", thermo.Select(x => x[0]), log.Select(x => x[3]));
            AssertSame("potential energy (eV)", thermo.Select(x => x[1]), log.Select(x => x[4]));
            AssertSame("mean O–H bond (Å)", lammpsBonds.Select(b => b.Mean), mldBonds.Select(b => b.Mean));
            AssertSame("O–H bond spread (Å)", lammpsBonds.Select(b => b.Spread), mldBonds.Select(b => b.Spread));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// Maxwell–Boltzmann velocities at 300 K (no net momentum, scaled to 300 K over 3N − 3 degrees of freedom, as
    /// LAMMPS counts them) for the 96-atom box: start.data (water96.data with a Velocities section, Å/ps) for LAMMPS
    /// and start.extxyz (Å/fs) for mld run.
    /// </summary>
    private static void StartTogether(string dir, int seed)
    {
        const double Kb = 8.617333262e-5, MassUnit = 9648.5332; // eV/K; (Å/ps)² per eV/amu
        var box = LammpsDriver.WaterBox();
        int n = box.AtomCount;
        var random = new Random(seed);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var v = new double[3 * n];
        var momentum = new double[3];
        double mass = 0;
        for (int i = 0; i < n; i++)
        {
            double m = box.Species[i].Mass;
            mass += m;
            for (int a = 0; a < 3; a++) { v[3 * i + a] = Gauss() * Math.Sqrt(Kb * 300 / m * MassUnit); momentum[a] += m * v[3 * i + a]; }
        }
        double twiceKinetic = 0;
        for (int i = 0; i < n; i++)
            for (int a = 0; a < 3; a++) { v[3 * i + a] -= momentum[a] / mass; twiceKinetic += box.Species[i].Mass * v[3 * i + a] * v[3 * i + a] / MassUnit; }
        double scale = Math.Sqrt((3 * n - 3) * Kb * 300 / twiceKinetic);
        for (int x = 0; x < v.Length; x++) v[x] *= scale;
        var data = new System.Text.StringBuilder(File.ReadAllText(Path.Combine(dir, "water96.data")).TrimEnd()).Append("\n\nVelocities\n\n");
        for (int i = 0; i < n; i++) data.Append(CultureInfo.InvariantCulture, $"{i + 1} {v[3 * i]:R} {v[3 * i + 1]:R} {v[3 * i + 2]:R}\n");
        File.WriteAllText(Path.Combine(dir, "start.data"), data.ToString());
        var xyz = new System.Text.StringBuilder().Append(CultureInfo.InvariantCulture,
            $"{n}\nLattice=\"{Box} 0 0 0 {Box} 0 0 0 {Box}\" Properties=species:S:1:pos:R:3:velocities:R:3 pbc=\"T T T\"\n");
        var x0 = box.Positions.ToArray();
        for (int i = 0; i < n; i++)
            xyz.Append(CultureInfo.InvariantCulture, $"{box.Species[i].Symbol} {x0[3 * i]:R} {x0[3 * i + 1]:R} {x0[3 * i + 2]:R} {v[3 * i] / 1000:R} {v[3 * i + 1] / 1000:R} {v[3 * i + 2] / 1000:R}\n");
        File.WriteAllText(Path.Combine(dir, "start.extxyz"), xyz.ToString());
    }

    /// <summary>Energy change over the run: the least-squares slope through the samples times their span.</summary>
    private static double Drift(double[] e)
    {
        double n = e.Length, tMean = (n - 1) / 2, eMean = e.Average(), sxy = 0, sxx = 0;
        for (int t = 0; t < e.Length; t++) { sxy += (t - tMean) * (e[t] - eMean); sxx += (t - tMean) * (t - tMean); }
        return sxy / sxx * (n - 1);
    }

    /// <summary>The two series' means (equilibration dropped) differ by at most <see cref="Sigmas"/> block-average standard errors.</summary>
    private static void AssertSame(string what, IEnumerable<double> lammps, IEnumerable<double> mld)
    {
        var (a, ea) = BlockMean(lammps.ToArray());
        var (b, eb) = BlockMean(mld.ToArray());
        double noise = Math.Sqrt(ea * ea + eb * eb);
        Assert.True(Math.Abs(a - b) <= Sigmas * noise, $"{what}: LAMMPS {a:G6} ± {ea:G2}, mld run {b:G6} ± {eb:G2}");
    }

    /// <summary>Mean and its standard error from <see cref="Blocks"/> block means, after the first fifth of the series.</summary>
    private static (double Mean, double Error) BlockMean(double[] series)
    {
        var kept = series[(series.Length / 5)..];
        int size = kept.Length / Blocks;
        Assert.True(size >= 5, $"{kept.Length} samples for {Blocks} blocks");
        var means = Enumerable.Range(0, Blocks).Select(k => kept.Skip(k * size).Take(size).Average()).ToArray();
        double mean = means.Average();
        double variance = means.Sum(x => (x - mean) * (x - mean)) / (Blocks - 1);
        return (mean, Math.Sqrt(variance / Blocks));
    }

    /// <summary>Each H to its nearest O (minimum image in the cubic box): the mean bond length and its spread over the H atoms.</summary>
    private static (double Mean, double Spread) BondStatistics((int[] Types, double[] Positions) frame)
    {
        var (types, x) = frame;
        var bonds = new List<double>();
        for (int h = 0; h < types.Length; h++)
        {
            if (types[h] != 2) continue;
            double best = double.MaxValue;
            for (int o = 0; o < types.Length; o++)
            {
                if (types[o] != 1) continue;
                double d2 = 0;
                for (int a = 0; a < 3; a++)
                {
                    double d = x[3 * h + a] - x[3 * o + a];
                    d -= Box * Math.Round(d / Box);
                    d2 += d * d;
                }
                best = Math.Min(best, d2);
            }
            bonds.Add(Math.Sqrt(best));
        }
        double mean = bonds.Average();
        return (mean, Math.Sqrt(bonds.Average(b => (b - mean) * (b - mean))));
    }

    /// <summary>The frames of a LAMMPS `dump custom ... id type x y z` sorted by id: types and positions.</summary>
    private static IEnumerable<(int[] Types, double[] Positions)> DumpFrames(string path)
    {
        var lines = File.ReadAllLines(path);
        for (int l = 0; l < lines.Length; l++)
        {
            if (lines[l] != "ITEM: NUMBER OF ATOMS") continue;
            int n = int.Parse(lines[l + 1], CultureInfo.InvariantCulture);
            while (!lines[l].StartsWith("ITEM: ATOMS", StringComparison.Ordinal)) l++;
            var types = new int[n];
            var positions = new double[3 * n];
            for (int k = 0; k < n; k++)
            {
                var f = lines[l + 1 + k].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                types[k] = int.Parse(f[1], CultureInfo.InvariantCulture);
                for (int a = 0; a < 3; a++) positions[3 * k + a] = P(f[2 + a]);
            }
            l += n;
            yield return (types, positions);
        }
    }

    private static double P(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public async Task NveInLammpsConservesEnergyAsInProcessNveDoes()
    {
        var dir = Directory.CreateTempSubdirectory("mld-lammps-nve-").FullName;
        try
        {
            var model = models.ModelPath("accurate");
            foreach (var file in new[] { "common.lammps", "in.nve", "water96.data" })
                File.Copy(Path.Combine(Peers.RepoRoot, "integration", "lammps", file), Path.Combine(dir, file));
            StartTogether(dir, seed: 3);
            string steps = Steps.ToString(CultureInfo.InvariantCulture), every = Every.ToString(CultureInfo.InvariantCulture);
            var input = System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(Path.Combine(dir, "in.nve")), @"^velocity .*\n", "",
                System.Text.RegularExpressions.RegexOptions.Multiline).Replace("run             ${steps}",
                $"variable et equal etotal\nvariable ke equal ke\nfix record all print {every} \"${{et}} ${{ke}}\" file nve.txt screen no\nrun ${{steps}}");
            File.WriteAllText(Path.Combine(dir, "in.record"), input);
            var lammps = Task.Run(() => LammpsCouplingTests.MldLammps(dir, 1, [model, "-in", "in.record", "-var", "steps", steps, "-var", "data", "start.data"]));
            var mld = Task.Run(() => Peers.Mld(["run", model, "--from", Path.Combine(dir, "start.extxyz"), "--steps", steps, "--thermostat", "none",
                "--log", Path.Combine(dir, "mld.csv"), "--log-every", every], TimeSpan.FromSeconds(600), dir));
            var r = await lammps;
            Assert.True(r.ExitCode == 0, r.StdErr + r.StdOut[^Math.Min(2000, r.StdOut.Length)..]);
            var m = await mld;
            Assert.True(m.ExitCode == 0, m.StdErr);
            var rows = File.ReadAllLines(Path.Combine(dir, "nve.txt")).Where(l => !l.StartsWith('#') && l.Trim().Length > 0)
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(P).ToArray()).ToArray();
            Assert.Equal(Steps / Every + 1, rows.Length); // step 0 included
            var total = rows.Select(x => x[0]).ToArray();
            double kinetic = rows.Average(x => x[1]);
            var conserved = File.ReadAllLines(Path.Combine(dir, "mld.csv")).Skip(1).Select(l => P(l.Split(',')[5])).ToArray();
            Assert.Equal(Steps / Every + 1, conserved.Length);
            double lammpsSpread = total.Max() - total.Min(), mldSpread = conserved.Max() - conserved.Min();
            double lammpsDrift = Drift(total), mldDrift = Drift(conserved);
            string numbers = $"over {Steps * 0.0005:0.##} ps: LAMMPS spread {lammpsSpread:G3} eV, drift {lammpsDrift:G3} eV; " +
                $"mld run spread {mldSpread:G3} eV, drift {mldDrift:G3} eV; mean kinetic {kinetic:G4} eV";
            output.WriteLine(numbers);
            // Both small against the kinetic energy, and of the same order (a wrong or stale force breaks this at once).
            Assert.True(lammpsSpread < 0.02 * kinetic, numbers);
            Assert.True(lammpsSpread < 5 * mldSpread && mldSpread < 5 * lammpsSpread, numbers);
            // The drift (the spread holds the fluctuation too): LAMMPS's no larger than five times mld's or mld's fluctuation.
            Assert.True(Math.Abs(lammpsDrift) <= 5 * Math.Max(Math.Abs(mldDrift), mldSpread / 4), numbers);
        }
        finally { Directory.Delete(dir, true); }
    }
}
