using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Dynamics;
using MolecularLearning.Dynamics.Report;
using MolecularLearning.Learning;

namespace MolecularLearning.Cli.Verbs;

/// <summary>
/// `mld demo [--output DIR]`: the whole method on the CP2K water sample shipped in the repository: fit the
/// default model, run learned NVT from the CP2K run's first frame for as long as CP2K ran, compare with
/// CP2K (report + JSON), and print what it cost per step against CP2K's own seconds per step.
/// </summary>
public sealed class DemoVerb : IVerb
{
    /// <summary>Equilibration left out of the statistics (the CP2K run settles within a few hundred fs).</summary>
    public const double SkipFs = 200;

    public Command Build()
    {
        var output = new Option<string>("--output", "-o") { Description = "folder for model.json, learned.extxyz, thermo.csv, report.html, summary.json", DefaultValueFactory = _ => "mld-demo" };
        var sample = new Option<string?>("--sample") { Description = "CP2K run to use instead of the repository's samples/water32-xtb" };
        var tau = new Option<double>("--tau") { Description = "Nosé–Hoover time constant (fs) of the learned run", DefaultValueFactory = _ => DefaultTauFs };
        var global = new Option<bool>("--global") { Description = "one thermostat chain for the system instead of one per atom (CP2K's REGION GLOBAL, as the sample ran)" };
        var duration = new Option<double?>("--duration") { Description = "fs of learned MD (default: as long as the CP2K run)" };
        var command = new Command("demo", "fit the default model on the shipped CP2K water run, simulate it, compare with CP2K and write a report")
            { output, sample, tau, global, duration };
        command.SetAction(parse => CliErrors.Guard(() => Run(parse.GetValue(output)!, parse.GetValue(sample), parse.GetValue(tau),
            !parse.GetValue(global), parse.GetValue(duration))));
        return command;
    }

    /// <summary>
    /// The learned run's thermostat: agent forces pump heat, so a massive chain with τ = 10 fs (measured best
    /// on this sample; README, "Choosing the thermostat") rather than CP2K's global 100 fs.
    /// </summary>
    public const double DefaultTauFs = 10;

    private static int Run(string outputDir, string? samplePath, double tauFs, bool massive, double? duration)
    {
        if (duration is { } d && !(d > 0)) throw new DataException($"--duration must be > 0 fs, got {d}");
        var inv = CultureInfo.InvariantCulture;
        var total = Stopwatch.StartNew();
        string runPath = samplePath ?? ShippedSample.Water32Xtb("give --sample <cp2k-run>");
        Directory.CreateDirectory(outputDir);
        static void Warn(string w) => Console.Error.WriteLine("warning: " + w);

        Console.WriteLine($"1/4 reading CP2K run {runPath}");
        var cp2k = Cp2kRun.Read(runPath, Warn);
        var frames = cp2k.Frames;
        if (frames.Count < 10) throw DataException.At(runPath, null, $"only {frames.Count} frames: too few to fit and compare");
        double cp2kDt = cp2k.TimestepFs ?? 0.5;
        var start = frames[0];
        double durationFs = (frames[^1].Time ?? 0) - (start.Time ?? 0);
        if (!(durationFs > 0)) throw DataException.At(runPath, null, "the frames carry no increasing times");
        var md = Cp2kInput(cp2k);

        Console.WriteLine($"2/4 fitting the default model on {frames.Count} frames");
        var fitClock = Stopwatch.StartNew();
        var fit = ModelFitter.Fit(frames, FitOptions.Default with { Source = runPath });
        double fitSeconds = fitClock.Elapsed.TotalSeconds;
        var model = fit.Model;
        model.Save(Path.Combine(outputDir, "model.json"));
        string heldOut = string.Join(", ", fit.Report.Holdout.Species.Select(kv => $"{kv.Key} {kv.Value.RelRmse.ToString("0.000", inv)}"));
        Console.WriteLine($"    held-out relRMSE: {heldOut} ({fitSeconds:0.0} s)");

        long steps = (long)Math.Round((duration ?? durationFs) / cp2kDt);
        var settings = new MdSettings { TimestepFs = cp2kDt, TemperatureK = md.TemperatureK, ChainLength = md.Chain, TauFs = tauFs, Massive = massive };
        Console.WriteLine(string.Create(inv, $"3/4 learned NVT: {steps} steps of {cp2kDt} fs ({steps * cp2kDt:0} fs) at {settings.TemperatureK} K, Nosé–Hoover chain {settings.ChainLength}, τ {tauFs} fs{(massive ? ", massive" : "")}"));
        var state = new MdState(start.Species, start.Positions, start.Velocities, start.Cell)
        {
            Step = 0, TimeFs = start.Time ?? 0, TimeOriginFs = start.Time ?? 0,
        };
        if (start.Velocities is null)
            Momentum.MaxwellBoltzmann(state.Masses, state.Velocities, settings.TemperatureK, settings.DegreesOfFreedom(state.AtomCount), true, new Xoshiro256(1));
        var integrator = new VerletIntegrator(model.CreateForceField(), state, settings);
        // Frames as often as the CP2K sample has them, so both sides are sampled alike.
        int every = Math.Max(1, (int)Math.Round(((frames[1].Time ?? cp2kDt) - (start.Time ?? 0)) / cp2kDt));
        string trajPath = Path.Combine(outputDir, "learned.extxyz"), logPath = Path.Combine(outputDir, "thermo.csv");
        var mdClock = new Stopwatch();
        bool diverged = false;
        string? divergence = null;
        // The cost per step printed below is `mld run`'s own loop (MdRun: thermostat, checks and output included).
        var progress = new RunProgress(0, steps);
        using (var run = new MdRun(integrator, new MdRunOutput { Trajectory = trajPath, Every = every, Log = logPath, LogEvery = every })
        {
            Progress = progress.Report,
        })
        {
            integrator.Initialise();
            mdClock.Start();
            try { run.Run(steps, emitStart: true); }
            catch (SimulationDivergedException e) { diverged = true; divergence = e.Message; }
            mdClock.Stop();
            progress.Done();
        }
        var learnedFrames = ExtendedXyz.Read(trajPath);
        long done = integrator.State.Step;
        double msPerStep = 1000 * mdClock.Elapsed.TotalSeconds / Math.Max(1, done);
        if (diverged) Console.Error.WriteLine($"    the learned run diverged: {divergence}; analysing the {learnedFrames.Count} frames before it");

        Console.WriteLine("4/4 analysing and writing the report");
        // Equilibration is left out of both sides' statistics (at most half of a short learned run).
        double skip = Math.Min(SkipFs, 0.5 * done * cp2kDt);
        var learned = WaterAnalysis.Analyse(learnedFrames, "learned", trajPath, skip);
        var reference = WaterAnalysis.Analyse(frames, "CP2K", runPath, skip);
        double? cp2kSeconds = cp2k.MedianSecondsPerStep;
        double? speedup = cp2kSeconds is { } cs ? cs / (msPerStep / 1000) : null;
        var facts = new List<(string, string)>
        {
            ("CP2K run", $"{runPath}: {frames.Count} frames, {durationFs:0} fs, NVT {md.TemperatureK} K (chain {md.Chain}, τ {md.TauFs} fs)"),
            ("model", $"{FitOptions.DefaultBasis}, cutoff {model.Cutoff} Å, order {model.Order}, {model.Mode} mode ({fitSeconds:0.0} s to fit)"),
            ("held-out relRMSE", heldOut),
            ("learned run", string.Create(inv, $"{done} of {steps} steps × {cp2kDt} fs, Nosé–Hoover chain {settings.ChainLength}, τ {tauFs} fs, {(massive ? "massive" : "global")}{(diverged ? " — DIVERGED" : "")}")),
            ("cost per step", string.Create(inv, $"learned {msPerStep:0.000} ms; CP2K {(cp2kSeconds is { } c ? (c * 1000).ToString("0", inv) + " ms (median of the .ener file's last column)" : "unknown")}{(speedup is { } s ? $"; {s:0} times faster" : "")}")),
        };
        var html = AnalysisReport.Render(learned, reference, "Learned water dynamics against CP2K", facts, settings.TemperatureK);
        string reportPath = Path.Combine(outputDir, "report.html");
        AtomicFile.Write(reportPath, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(html); });
        WriteSummaryJson(Path.Combine(outputDir, "summary.json"), learned, reference, fit.Report, msPerStep, cp2kSeconds, diverged);

        Console.WriteLine();
        Console.WriteLine($"{"",-26}{"learned",-22}CP2K");
        Console.WriteLine($"{"temperature (K)",-26}{MeanStd(learned.Temperature, "0.0"),-22}{MeanStd(reference.Temperature, "0.0")}");
        Console.WriteLine($"{"O–H bond (Å)",-26}{MeanStd(learned.OhBond.Length, "0.0000"),-22}{MeanStd(reference.OhBond.Length, "0.0000")}");
        Console.WriteLine($"{"H–O–H angle (°)",-26}{MeanStd(learned.HohAngle.Angle, "0.0"),-22}{MeanStd(reference.HohAngle.Angle, "0.0")}");
        Console.WriteLine($"{"g_OO first peak (Å)",-26}{learned.RdfOO.FirstPeakR.ToString("0.00", inv) + " (" + learned.RdfOO.FirstPeakHeight.ToString("0.00", inv) + ")",-22}{reference.RdfOO.FirstPeakR.ToString("0.00", inv)} ({reference.RdfOO.FirstPeakHeight.ToString("0.00", inv)})");
        Console.WriteLine($"{"cost per step",-26}{msPerStep.ToString("0.000", inv) + " ms",-22}{(cp2kSeconds is { } cc ? cc.ToString("0.000", inv) + " s" : "unknown")}");
        if (speedup is { } x) Console.WriteLine($"learned MD is {x.ToString("0", inv)} times faster per step than CP2K");
        Console.WriteLine($"statistics after the first {skip} fs; held-out relRMSE {heldOut}");
        Console.WriteLine($"report: {Path.GetFullPath(reportPath)} ({total.Elapsed.TotalSeconds:0} s in all)");
        return diverged ? 1 : 0;
    }

    private static string MeanStd(MeanStd m, string f) => double.IsFinite(m.Mean)
        ? $"{m.Mean.ToString(f, CultureInfo.InvariantCulture)} ± {m.Std.ToString(f, CultureInfo.InvariantCulture)}" : "n/a";

    private static void WriteSummaryJson(string path, WaterAnalysis learned, WaterAnalysis reference, FitReport fit,
        double msPerStep, double? cp2kSeconds, bool diverged)
    {
        using var doc = JsonDocument.Parse(WaterAnalysis.ComparisonJson(learned, reference));
        AtomicFile.Write(path, s =>
        {
            using var w = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            foreach (var p in doc.RootElement.EnumerateObject()) p.WriteTo(w);
            w.WriteStartObject("heldOutRelRmse");
            foreach (var (sp, e) in fit.Holdout.Species) w.WriteNumber(sp, e.RelRmse);
            w.WriteEndObject();
            w.WriteNumber("learnedMsPerStep", msPerStep);
            if (cp2kSeconds is { } c) { w.WriteNumber("cp2kSecondsPerStep", c); w.WriteNumber("speedup", c / (msPerStep / 1000)); }
            w.WriteBoolean("diverged", diverged);
            w.WriteEndObject();
        });
    }

    /// <summary>Temperature and Nosé–Hoover settings of the CP2K run (md.inp beside it), CP2K's defaults otherwise.</summary>
    private static (double TemperatureK, int Chain, double TauFs) Cp2kInput(Cp2kTrajectory run)
    {
        double t = 300, tau = 100; int chain = 3;
        var input = Path.Combine(run.Directory, "md.inp");
        if (!File.Exists(input)) return (t, chain, tau);
        foreach (var raw in File.ReadLines(input))
        {
            var parts = raw.Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2) continue;
            static double Num(string s) => double.Parse(s, CultureInfo.InvariantCulture);
            switch (parts[0].ToUpperInvariant())
            {
                case "TEMPERATURE": t = Num(parts[1]); break;
                case "TIMECON": tau = Num(parts[1]); break;
                case "LENGTH": chain = (int)Num(parts[1]); break;
            }
        }
        return (t, chain, tau);
    }
}
