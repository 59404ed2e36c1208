using System.Text.Json;
using MolecularLearning.Cli.Learn;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Learning;

namespace MolecularLearning.Cli.Tests;

/// <summary>Frame selection of `mld learn` on scores fed directly.</summary>
public sealed class FramePickerTests
{
    private static List<Candidate> Run(int run, params double[] scores) =>
        [.. scores.Select((s, k) => new Candidate(run, 10L * k, s))];

    [Fact]
    public void TheLargestScoresArePickedFirst()
    {
        var c = Run(0, 0.5, 3.0, 0.1, 2.0, 0.0, 1.0);
        var picked = FramePicker.Pick(c, budget: 3, minGap: 0);
        Assert.Equal(new[] { 1, 3, 5 }, picked);
    }

    [Fact]
    public void PickedFramesOfOneRunLieAtLeastTheGapApart()
    {
        // A peak around step 100 (scores 5, 6, 5) and a smaller one at step 300.
        var scores = new double[40];
        scores[9] = 5; scores[10] = 6; scores[11] = 5; scores[30] = 2; scores[31] = 1.5;
        var c = Run(0, scores);
        var picked = FramePicker.Pick(c, budget: 4, minGap: 50);
        Assert.Equal(new[] { 10, 30 }, picked); // 9, 11 are too close to 10; 31 too close to 30; the zeros are inside the range
        foreach (var a in picked)
            foreach (var b in picked)
                if (a != b) Assert.True(Math.Abs(c[a].Step - c[b].Step) >= 50);
    }

    [Fact]
    public void TheGapHoldsWithinARunNotAcrossRuns()
    {
        var c = new List<Candidate> { new(0, 100, 4), new(1, 100, 3), new(0, 110, 2), new(1, 400, 1) };
        Assert.Equal(new[] { 0, 1, 3 }, FramePicker.Pick(c, budget: 10, minGap: 50));
    }

    [Fact]
    public void FramesInsideTheRangeOrAtTheThresholdAreNotPicked()
    {
        var c = Run(0, 0, 0.2, double.NaN, 0.5, 0.05);
        Assert.Equal(new[] { 3, 1 }, FramePicker.Pick(c, budget: 5, minGap: 0, threshold: 0.1));
        Assert.Empty(FramePicker.Pick(Run(0, 0, 0, 0), budget: 5, minGap: 0));
    }

    [Fact]
    public void WithoutAnySignalFramesAreSpreadEvenlyOverEveryRun()
    {
        var c = new List<Candidate>();
        for (int run = 0; run < 2; run++)
            for (int k = 0; k < 100; k++) c.Add(new Candidate(run, 10L * (k + 1), double.NaN));
        var picked = FramePicker.Pick(c, budget: 6, minGap: 100);
        Assert.Equal(6, picked.Count);
        Assert.Equal(3, picked.Count(i => c[i].Run == 0));
        // Evenly spread over 10..1000: a third of the run apart, the last frame included.
        var steps = picked.Where(i => c[i].Run == 1).Select(i => c[i].Step).Order().ToList();
        Assert.Equal(new long[] { 330, 670, 1000 }, steps);
    }

    [Fact]
    public void TheBudgetCapsTheCount()
    {
        var c = Run(0, 9, 8, 7, 6, 5, 4, 3, 2, 1);
        Assert.Equal(4, FramePicker.Pick(c, budget: 4, minGap: 0).Count);
        Assert.Empty(FramePicker.Pick(c, budget: 0, minGap: 0));
    }
}

/// <summary>The CP2K single-point input and force table, without running CP2K.</summary>
public sealed class Cp2kSinglePointInputTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-sp-" + Guid.NewGuid().ToString("N"));
    public Cp2kSinglePointInputTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheShippedMdInputBecomesASinglePointOnTheFrame()
    {
        var sample = LearnSamples.Xtb;
        var frame = Cp2kRun.Read(sample).Frames[3];
        var inputPath = Path.Combine(sample, "md.inp");
        var text = Cp2kSinglePointInput.Rewrite(File.ReadAllText(inputPath), inputPath, sample, frame, "label", "forces.txt");
        var rewritten = Path.Combine(_dir, "sp.inp");
        File.WriteAllText(rewritten, text);

        Assert.Equal("label", Cp2kInput.ReadProject(rewritten));
        Assert.Equal(Cp2kInput.ReadCell(inputPath)!.Matrix.ToArray(), Cp2kInput.ReadCell(rewritten)!.Matrix.ToArray());
        var lines = text.Split('\n').Select(l => l.Trim()).ToList();
        Assert.Contains("RUN_TYPE ENERGY_FORCE", lines);
        Assert.DoesNotContain("RUN_TYPE MD", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("COORD_FILE_NAME", StringComparison.Ordinal));
        Assert.Contains("METHOD xTB", lines); // the method is kept
        Assert.Contains("FILENAME =forces.txt", lines);
        // The coordinates are the frame's, exactly.
        int at = lines.IndexOf("&COORD");
        Assert.Equal("UNIT angstrom", lines[at + 1]);
        for (int i = 0; i < frame.AtomCount; i++)
        {
            var w = lines[at + 2 + i].Split(' ');
            Assert.Equal(frame.Species[i].Symbol, w[0]);
            for (int c = 0; c < 3; c++) Assert.Equal(frame.Positions[3 * i + c], double.Parse(w[1 + c], System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.Equal("&END COORD", lines[at + 2 + frame.AtomCount]);
    }

    [Fact]
    public void AnExistingPrintSectionGetsTheForcesAndRelativeFilesBecomeAbsolute()
    {
        File.WriteAllText(Path.Combine(_dir, "basis.txt"), "");
        const string input = """
            &GLOBAL
              PROJECT old
            &END GLOBAL
            &EXT_RESTART
              RESTART_FILE_NAME old-1.restart
            &END EXT_RESTART
            &FORCE_EVAL
              &DFT
                BASIS_SET_FILE_NAME basis.txt ! beside the input
                POTENTIAL_FILE_NAME GTH_POTENTIALS
              &END DFT
              &PRINT
                &STRESS_TENSOR
                &END STRESS_TENSOR
                &FORCES ON
                  FILENAME mine
                &END FORCES
              &END PRINT
              &SUBSYS
                &CELL
                  ABC 5 5 5
                &END CELL
                &COORD
                  O 0 0 0
                &END COORD
              &END SUBSYS
            &END FORCE_EVAL
            """;
        var frame = new Frame([Elements.O, Elements.H], [0.5, 0.5, 0.5, 1.25, 0.5, 0.5], Cell.Orthorhombic(5, 5, 5));
        var text = Cp2kSinglePointInput.Rewrite(input, "in.inp", _dir, frame, "label", "forces.txt");
        var lines = text.Split('\n').Select(l => l.Trim()).ToList();
        Assert.Single(lines, l => l == "&PRINT");
        Assert.Single(lines, l => l.StartsWith("&FORCES", StringComparison.Ordinal));
        Assert.DoesNotContain("FILENAME mine", lines);
        Assert.DoesNotContain(lines, l => l.Contains("EXT_RESTART", StringComparison.Ordinal));
        Assert.DoesNotContain("O 0 0 0", lines);
        Assert.Contains($"BASIS_SET_FILE_NAME {Path.Combine(_dir, "basis.txt")}", lines);
        Assert.Contains("POTENTIAL_FILE_NAME GTH_POTENTIALS", lines); // CP2K's own data file: unchanged
        Assert.Contains("H 1.25 0.5 0.5", lines);
        Assert.Contains("STRESS_TENSOR", string.Join('\n', lines));
    }

    [Theory]
    [InlineData("&GLOBAL\n&END GLOBAL\n", "no &FORCE_EVAL")]
    [InlineData("&FORCE_EVAL\n&SUBSYS\n&END SUBSYS\n", "not closed")]
    [InlineData("&FORCE_EVAL\n&END FORCE_EVAL\n", "no &FORCE_EVAL/&SUBSYS")]
    [InlineData("&FORCE_EVAL\n&SUBSYS\n&END SUBSYS\n&END FORCE_EVAL\n&FORCE_EVAL\n&END FORCE_EVAL\n", "second &FORCE_EVAL")]
    public void InputsThatCannotBeRewrittenAreNamed(string input, string message)
    {
        var frame = new Frame([Elements.O], [0, 0, 0], null);
        var e = Assert.Throws<DataException>(() => Cp2kSinglePointInput.Rewrite(input, "user.inp", _dir, frame, "p", "f"));
        Assert.StartsWith("user.inp: ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void TheForceTableIsReadInEvPerAngstrom()
    {
        var path = Path.Combine(_dir, "forces.txt");
        File.WriteAllText(path, """

             ATOMIC FORCES in [a.u.]

             # Atom   Kind   Element          X              Y              Z
                  1      1      O          -0.00918260    -0.00083330    -0.01004225
                  2      2      H           0.01015298    -0.01009286    -0.00635247
             SUM OF ATOMIC FORCES           0.00097038    -0.01092616    -0.01639472     0.01979
            """);
        var (species, forces) = Cp2kForceTable.Read(path);
        Assert.Equal(new[] { Elements.O, Elements.H }, species);
        Assert.Equal(-0.00918260 * Units.HartreePerBohrInEvPerAngstrom, forces[0], 15);
        Assert.Equal(-0.00635247 * Units.HartreePerBohrInEvPerAngstrom, forces[5], 15);

        File.WriteAllText(path, " ATOMIC FORCES in [a.u.]\n # Atom   Kind   Element   X Y Z\n      1      1      O   -0.1  x  0.2\n");
        var e = Assert.Throws<DataException>(() => Cp2kForceTable.Read(path));
        Assert.Contains("line 3: atom 1: force component 'x'", e.Message);
    }
}

/// <summary>Real CP2K (2023.1, GFN1-xTB) on the shipped water box; skipped where CP2K is not installed.</summary>
public sealed class Cp2kLabellingTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-cp2k-" + Guid.NewGuid().ToString("N"));
    public Cp2kLabellingTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// Step 0 of the shipped run is a single point from the same start (same input, SCF guess and convergence), so the
    /// labelled forces equal the shipped -frc- file's to the print precision of the coarser of the two: the forces
    /// table's 8 decimals (Hartree/Bohr) against the trajectory's 10. The energy likewise (10 decimals in the header).
    /// </summary>
    [SkippableFact]
    public void ASinglePointReproducesTheShippedForcesOfItsFirstFrame()
    {
        Skip.If(Cp2kSinglePoint.FindExecutable() is null, "CP2K is not installed (cp2k, cp2k.ssmp, cp2k.psmp... not on PATH)");
        var run = Cp2kRun.Read(LearnSamples.Xtb);
        var shipped = run.Frames[0];
        Assert.Equal(0, shipped.Step);
        var cp2k = new Cp2kSinglePoint(Path.Combine(LearnSamples.Xtb, "md.inp"), _dir);
        var label = cp2k.Label(new Frame(shipped.Species, shipped.Positions, shipped.Cell), "frame0", "frame 0");
        Assert.True(label.Seconds > 0);
        var f = label.Frame.Forces!;
        double tolerance = (0.5e-8 + 0.5e-10) * Units.HartreePerBohrInEvPerAngstrom * (1 + 1e-9);
        double worst = 0;
        for (int k = 0; k < f.Length; k++) worst = Math.Max(worst, Math.Abs(f[k] - shipped.Forces![k]));
        Assert.True(worst <= tolerance, $"largest difference {worst / Units.HartreePerBohrInEvPerAngstrom:e3} Hartree/Bohr, print precision 5e-9");
        Assert.True(Math.Abs(label.Frame.Energy!.Value - shipped.Energy!.Value) <= 0.6e-10 * Units.HartreeInEv,
            $"energy {label.Frame.Energy} eV, shipped {shipped.Energy} eV");
        Assert.False(Directory.Exists(Path.Combine(_dir, "frame0"))); // removed after success
    }

    [SkippableFact]
    public void ACp2kFailureNamesTheFrameAndTheOutputFile()
    {
        Skip.If(Cp2kSinglePoint.FindExecutable() is null, "CP2K is not installed");
        var input = File.ReadAllText(Path.Combine(LearnSamples.Xtb, "md.inp")).Replace("METHOD xTB", "METHOD NO_SUCH_METHOD");
        var inputPath = Path.Combine(_dir, "broken.inp");
        File.WriteAllText(inputPath, input);
        var frame = Cp2kRun.Read(LearnSamples.Xtb).Frames[0];
        var cp2k = new Cp2kSinglePoint(inputPath, Path.Combine(_dir, "work"));
        var e = Assert.Throws<DataException>(() => cp2k.Label(frame, "bad", "round 1, 350 K, step 120"));
        var output = Path.Combine(_dir, "work", "bad", "single-point.out");
        Assert.StartsWith("round 1, 350 K, step 120: CP2K failed", e.Message);
        Assert.Contains("NO_SUCH_METHOD", e.Message); // CP2K's own abort message
        Assert.EndsWith("see " + output, e.Message);
        Assert.True(File.Exists(output)); // kept for the user to read
    }
}

/// <summary>The loop with a stand-in labeller (a fixed reference model): what is labelled, stored and refitted.</summary>
public sealed class LearnLoopTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-learn-" + Guid.NewGuid().ToString("N"));
    public LearnLoopTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Labels with a reference model's forces, recording what it was asked.</summary>
    private sealed class ModelLabeller(LearnedModel reference) : IFrameLabeller
    {
        public List<(Frame Frame, string Name)> Calls { get; } = [];
        public Cp2kLabel Label(Frame frame, string name, string what)
        {
            Calls.Add((frame, name));
            var r = reference.CreateForceField().Compute(frame);
            return new Cp2kLabel(new Frame(frame.Species, (double[])frame.Positions.Clone(), frame.Cell) { Forces = r.Forces, Energy = r.Energy, Step = frame.Step }, 0.25);
        }
    }

    private static readonly Lazy<(List<Frame> Data, LearnedModel Model)> Start = new(() =>
    {
        var data = Cp2kRun.Read(LearnSamples.Xtb).Frames.Take(100).ToList();
        return (data, ModelFitter.Fit(data, FitOptions.Default with { Stride = 4 }).Model);
    });

    [Fact]
    public void ARoundLabelsTheBudgetSpreadOutAndRefitsOnTheLabelledFrames()
    {
        var (data, model) = Start.Value;
        var labeller = new ModelLabeller(model);
        var settings = new LearnSettings { Temperatures = [300, 350], Budget = 4, Steps = 200, Every = 10, MinGap = 50, Seed = 7, Threshold = -1 }; // every scored frame counts, so the count does not hang on the signal
        var loop = new LearnLoop(model, data, [], null, labeller, settings, new Dictionary<double, IReadOnlyList<Frame>> { [350] = data.Skip(90).ToList() });
        Assert.Equal(20, loop.Holdout.Count); // the last 20% of the data, as mld fit holds it out
        var round = loop.RunRound(1, budget: 4);

        Assert.Equal(4, round.FramesAdded);
        Assert.Equal(4, labeller.Calls.Count);
        Assert.Equal(4, loop.Labelled.Count);
        Assert.Equal(labeller.Calls.Select(c => c.Name).Distinct().Count(), labeller.Calls.Count);
        Assert.Equal(1.0, round.Cp2kSeconds, 12); // 4 × 0.25 s, as the labeller reported
        // Spread in time: frames picked from one temperature's run are at least MinGap steps apart.
        foreach (var group in labeller.Calls.GroupBy(c => c.Name.Split('-')[1]))
        {
            var steps = group.Select(c => c.Frame.Step!.Value).Order().ToList();
            for (int k = 1; k < steps.Count; k++) Assert.True(steps[k] - steps[k - 1] >= 50, string.Join(",", steps));
            Assert.All(steps, s => Assert.InRange(s, 1, 200));
        }
        Assert.All(round.Temperatures, t => Assert.Equal(200, t.StepsRun));
        // The model fitted here records its training ranges: every candidate is scored (the signal reaches the loop).
        Assert.All(round.Temperatures, t => Assert.True(double.IsFinite(t.MaxExtrapolation) && t.MaxExtrapolation >= 0, $"{t.MaxExtrapolation}"));
        Assert.Equal(4, round.Temperatures.Sum(t => t.Picked));
        Assert.Null(round.Temperatures[0].TestBefore); // no test data at 300 K
        Assert.NotNull(round.Temperatures[1].TestAfter);
        // The refit trained on the thinned starting data (80 frames, the model's stride 4) and every labelled frame.
        Assert.Equal(20 + 4, loop.Model.Training.TrainFrames);
        Assert.Equal(20, loop.Model.Training.HoldoutFrames);
        // The new frames' error is that of the model before the refit: here the labeller itself, so zero.
        Assert.All(round.Temperatures.Where(t => t.NewFramesError is not null), t =>
            Assert.All(t.NewFramesError!.Species.Values, e => Assert.True(e.RelRmse < 1e-12, $"{e.RelRmse}")));
        Assert.NotSame(model, loop.Model);
    }

    [Fact]
    public void ACommitteeModelIsScoredByItsMembersSpreadAndRefittedWithItsCommittee()
    {
        var (data, _) = Start.Value;
        var model = ModelFitter.Fit(data, FitOptions.Default with { Stride = 4, Committee = 4, CommitteeBlocks = 4 }).Model;
        Assert.Equal(4, LearnLoop.RecipeOf(model).Committee);
        var labeller = new ModelLabeller(model);
        var settings = new LearnSettings { Temperatures = [350], Budget = 2, Steps = 100, Every = 10, MinGap = 20, Seed = 3, Threshold = -1 };
        var log = new List<string>();
        var loop = new LearnLoop(model, data, [], null, labeller, settings, new Dictionary<double, IReadOnlyList<Frame>>(), log: log.Add);
        var round = loop.RunRound(1, budget: 2);
        Assert.Contains(log, l => l.Contains("scored by the 4 committee members' force spread"));
        // The picked frames' scores are their committee mean spread over atoms, as CommitteeEvaluator gives it on the same positions.
        var committee = new CommitteeEvaluator(model);
        var scores = labeller.Calls.Select(c => { committee.Deviation(c.Frame.Species, c.Frame.Positions, c.Frame.Cell); return committee.Mean; }).ToList();
        Assert.All(scores, s => Assert.True(s > 0, $"{s}"));
        Assert.Equal(scores.Max(), round.Temperatures[0].MaxExtrapolation, 9);
        Assert.Equal(4, loop.Model.Committee?.Count);
    }

    [Fact]
    public void TheRecipeIsReadBackFromTheModel()
    {
        var (_, model) = Start.Value;
        var recipe = LearnLoop.RecipeOf(model);
        Assert.Equal(ForceMode.Agent, recipe.Mode);
        Assert.Equal(2, recipe.Order);
        Assert.Equal(FitOptions.Default.RepulsionStrength, recipe.RepulsionStrength);
        Assert.Equal(FitOptions.Default.RangeWallStrength, recipe.RangeWallStrength);
        Assert.Empty(recipe.LinearFamilies);
        Assert.Equal(model.Invariants.Labels, new InvariantSet(recipe.Invariants, model.Species).Labels);

        var (data, _) = Start.Value;
        var linear = ModelFitter.Fit(data.Take(12).ToList(), FitOptions.Default with { LinearFamilies = ["angles"], Stride = 1 }).Model;
        Assert.Equal(new[] { "angles" }, LearnLoop.RecipeOf(linear).LinearFamilies);
    }
}

/// <summary>`mld learn` bad input: one error line, exit code 2.</summary>
public sealed class LearnVerbTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-learnverb-" + Guid.NewGuid().ToString("N"));
    public LearnVerbTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("--temperatures", "300,hot", "--temperatures: 'hot'")]
    [InlineData("--budget", "0", "--budget must be ≥ 1")]
    [InlineData("--cp2k", "/no/such/cp2k", "/no/such/cp2k")]
    public void BadOptionsGiveOneErrorLine(string option, string value, string named)
    {
        var model = Path.Combine(_dir, "m.json");
        var (code, _, err) = MldProcess.Run(TimeSpan.FromSeconds(120), "learn", Path.Combine(LearnSamples.Xtb, "md.inp"),
            "--model", model, "--data", LearnSamples.Xtb, "-o", Path.Combine(_dir, "out.json"), option, value, "--steps", "10");
        var line = MldProcess.OneErrorLine(code, err);
        Assert.Contains(named, line);
    }
}

internal static class LearnSamples
{
    public static string Xtb { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "samples", "water32-xtb");
            if (Directory.Exists(path)) return path;
        }
        throw new DirectoryNotFoundException("samples/water32-xtb");
    }
}
