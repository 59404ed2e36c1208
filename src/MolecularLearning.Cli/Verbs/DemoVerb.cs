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
/// `mld demo [--output DIR]`: the whole method on the CP2K water sample shipped in the repository: fit the default
/// (conservative) model and the paper's agent-mode model, run learned NVT with each from the CP2K run's first frame
/// for as long as CP2K ran, compare both with CP2K in one report (+ JSON), and print what a step cost against CP2K.
/// </summary>
public sealed class DemoVerb : IVerb
{
    /// <summary>Equilibration left out of the statistics (the CP2K run settles within a few hundred fs).</summary>
    public const double SkipFs = 200;

    public Command Build()
    {
        var output = new Option<string>("--output", "-o") { Description = "folder for model.json, agent.json, learned.extxyz, agent.extxyz, thermo.csv, agent-thermo.csv, report.html, summary.json", DefaultValueFactory = _ => "mld-demo" };
        var sample = new Option<string?>("--sample") { Description = "CP2K run to use instead of the repository's samples/water32-xtb" };
        var tau = new Option<double?>("--tau") { Description = $"Nosé–Hoover time constant (fs) of both learned runs (default: per model; agent {DefaultTauFs} fs massive, default model as the CP2K run)" };
        var global = new Option<bool>("--global") { Description = "one thermostat chain for the system in both learned runs (CP2K's REGION GLOBAL)" };
        var duration = new Option<double?>("--duration") { Description = "fs of learned MD (default: as long as the CP2K run)" };
        var command = new Command("demo", "fit the default and the paper's agent model on the shipped CP2K water run, simulate both, compare with CP2K and write a report")
            { output, sample, tau, global, duration };
        command.SetAction(parse => CliErrors.Guard(() => Run(parse.GetValue(output)!, parse.GetValue(sample), parse.GetValue(tau),
            parse.GetValue(global), parse.GetValue(duration))));
        return command;
    }

    /// <summary>
    /// The agent model's thermostat: agent forces pump heat, so a massive chain with τ = 10 fs (measured best on this
    /// sample; docs/thermostats.md) rather than CP2K's global 100 fs. The conservative default runs under CP2K's own.
    /// </summary>
    public const double DefaultTauFs = 10;

    /// <summary>One learned model of the demo: how it was fitted and run, and what came out.</summary>
    private sealed record ModelRun(string Key, string Label, FitOptions Options, string Basis, bool Massive, double TauFs)
    {
        public FitReport? Fit { get; set; }
        public double FitSeconds { get; set; }
        public WaterAnalysis? Analysis { get; set; }
        public double MsPerStep { get; set; }
        public long Done { get; set; }
        public bool Diverged { get; set; }
        public string HeldOut => string.Join(", ", Fit!.Holdout.Species.Select(kv => $"{kv.Key} {kv.Value.RelRmse.ToString("0.000", CultureInfo.InvariantCulture)}"));
        public string Thermostat(int chain) => string.Create(CultureInfo.InvariantCulture, $"Nosé–Hoover chain {chain}, τ {TauFs} fs, {(Massive ? "massive" : "global")}");
    }

    private static int Run(string outputDir, string? samplePath, double? tauOverride, bool globalOverride, double? duration)
    {
        if (duration is { } d && !(d > 0)) throw new DataException($"--duration must be > 0 fs, got {d}");
        if (tauOverride is { } to && !(to > 0)) throw new DataException($"--tau must be > 0 fs, got {to}");
        var inv = CultureInfo.InvariantCulture;
        var total = Stopwatch.StartNew();
        string runPath = samplePath ?? ShippedSample.Water32Xtb("give --sample <cp2k-run>");
        Directory.CreateDirectory(outputDir);
        static void Warn(string w) => Console.Error.WriteLine("warning: " + w);

        Console.WriteLine($"1/4 reading CP2K run {runPath}");
        var cp2k = Cp2kRun.Read(runPath, Warn);
        string method = MolecularLearning.Cp2k.Cp2kInput.ReadRunMethod(runPath) ?? "CP2K";
        var frames = cp2k.Frames;
        if (frames.Count < 10) throw DataException.At(runPath, null, $"only {frames.Count} frames: too few to fit and compare");
        double cp2kDt = cp2k.TimestepFs ?? 0.5;
        var start = frames[0];
        double durationFs = (frames[^1].Time ?? 0) - (start.Time ?? 0);
        if (!(durationFs > 0)) throw DataException.At(runPath, null, "the frames carry no increasing times");
        var md = Cp2kInput(cp2k);
        Console.WriteLine($"    reference method: {method} (from the CP2K input)");

        var models = new[]
        {
            new ModelRun("default", "default model (conservative)", FitOptions.Recommended, FitOptions.AccurateBasis,
                Massive: false, TauFs: tauOverride ?? md.TauFs),
            new ModelRun("agent", "agent model (paper)", FitOptions.Default, FitOptions.DefaultBasis,
                Massive: !globalOverride, TauFs: tauOverride ?? DefaultTauFs),
        };
        // A file name per model: the default keeps the demo's historical names.
        static string FileOf(ModelRun m, string name) => m.Key == "default" ? name : name switch
        {
            "model.json" => "agent.json", "learned.extxyz" => "agent.extxyz", _ => "agent-" + name,
        };

        Console.WriteLine($"2/4 fitting the default model and the paper's agent model on {frames.Count} frames");
        foreach (var m in models)
        {
            var fitClock = Stopwatch.StartNew();
            var fit = ModelFitter.Fit(frames, m.Options with { Source = runPath });
            m.FitSeconds = fitClock.Elapsed.TotalSeconds;
            m.Fit = fit.Report;
            fit.Model.Save(Path.Combine(outputDir, FileOf(m, "model.json")));
            Console.WriteLine($"    {m.Label}: held-out relRMSE {m.HeldOut} ({m.FitSeconds:0.0} s)");
        }

        long steps = (long)Math.Round((duration ?? durationFs) / cp2kDt);
        // Frames as often as the CP2K sample has them, so all sides are sampled alike.
        int every = Math.Max(1, (int)Math.Round(((frames[1].Time ?? cp2kDt) - (start.Time ?? 0)) / cp2kDt));
        // Equilibration is left out of every side's statistics (at most half of a short learned run).
        double skip = Math.Min(SkipFs, 0.5 * steps * cp2kDt);
        Console.WriteLine(string.Create(inv, $"3/4 learned NVT: {steps} steps of {cp2kDt} fs ({steps * cp2kDt:0} fs) at {md.TemperatureK} K"));
        foreach (var m in models)
        {
            var model = LearnedModel.Load(Path.Combine(outputDir, FileOf(m, "model.json")));
            var settings = new MdSettings { TimestepFs = cp2kDt, TemperatureK = md.TemperatureK, ChainLength = md.Chain, TauFs = m.TauFs, Massive = m.Massive };
            Console.WriteLine($"    {m.Label}: {m.Thermostat(settings.ChainLength)}");
            var state = new MdState(start.Species, start.Positions, start.Velocities, start.Cell)
            {
                Step = 0, TimeFs = start.Time ?? 0, TimeOriginFs = start.Time ?? 0,
            };
            if (start.Velocities is null)
                Momentum.MaxwellBoltzmann(state.Masses, state.Velocities, settings.TemperatureK, settings.DegreesOfFreedom(state.AtomCount), true, new Xoshiro256(1));
            var integrator = new VerletIntegrator(model.CreateForceField(), state, settings);
            string trajPath = Path.Combine(outputDir, FileOf(m, "learned.extxyz")), logPath = Path.Combine(outputDir, FileOf(m, "thermo.csv"));
            var mdClock = new Stopwatch();
            // The cost per step is `mld run`'s own loop (MdRun: thermostat, checks and output included).
            var progress = new RunProgress(0, steps);
            using (var run = new MdRun(integrator, new MdRunOutput { Trajectory = trajPath, Every = every, Log = logPath, LogEvery = every })
            {
                Progress = progress.Report,
            })
            {
                integrator.Initialise();
                mdClock.Start();
                try { run.Run(steps, emitStart: true); }
                catch (SimulationDivergedException e)
                {
                    m.Diverged = true;
                    Console.Error.WriteLine($"    {m.Label}: the learned run diverged: {e.Message}; analysing the frames before it");
                }
                mdClock.Stop();
                progress.Done();
            }
            var learnedFrames = ExtendedXyz.Read(trajPath);
            m.Done = integrator.State.Step;
            m.MsPerStep = 1000 * mdClock.Elapsed.TotalSeconds / Math.Max(1, m.Done);
            m.Analysis = WaterAnalysis.Analyse(learnedFrames, m.Label, trajPath, skip);
        }

        Console.WriteLine("4/4 analysing and writing the report");
        var reference = WaterAnalysis.Analyse(frames, method, runPath, skip);
        double? cp2kSeconds = cp2k.MedianSecondsPerStep;
        double? Speedup(ModelRun m) => cp2kSeconds is { } cs ? cs / (m.MsPerStep / 1000) : null;
        var facts = new List<(string, string)>
        {
            ("reference", $"{method}: {runPath}, {frames.Count} frames, {durationFs:0} fs, NVT {md.TemperatureK} K (chain {md.Chain}, τ {md.TauFs} fs)"),
        };
        foreach (var m in models)
        {
            facts.Add((m.Label, $"{m.Options.Mode.Name()} mode, order {m.Options.Order}, invariants {m.Basis}, cutoff {m.Options.Invariants.Cutoff} Å ({m.FitSeconds:0.0} s to fit); held-out relRMSE {m.HeldOut}"));
            facts.Add((m.Label + ": run", string.Create(inv, $"{m.Done} of {steps} steps × {cp2kDt} fs, {m.Thermostat(md.Chain)}{(m.Diverged ? " — DIVERGED" : "")}; "
                + $"{m.MsPerStep:0.000} ms per step{(Speedup(m) is { } x ? $", {x:0} times faster than {method}" : "")}")));
        }
        facts.Add(($"{method}: cost", cp2kSeconds is { } c ? (c * 1000).ToString("0", inv) + " ms per step (median of the .ener file's last column)" : "unknown"));
        var html = AnalysisReport.Render(models.Select(m => m.Analysis!).ToList(), reference, $"Learned water dynamics against {method}", facts, md.TemperatureK);
        string reportPath = Path.Combine(outputDir, "report.html");
        AtomicFile.Write(reportPath, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(html); });
        WriteSummaryJson(Path.Combine(outputDir, "summary.json"), models, reference, method, cp2kSeconds, md.Chain);

        Console.WriteLine();
        var a = models[0].Analysis!; var b = models[1].Analysis!;
        Console.WriteLine($"{"",-30}{"default (conservative)",-24}{"agent (paper)",-24}{method}");
        void Line(string name, Func<WaterAnalysis, string> cell) => Console.WriteLine($"{name,-30}{cell(a),-24}{cell(b),-24}{cell(reference)}");
        Line("temperature (K)", x => MeanStd(x.Temperature, "0.0"));
        Line("O–H bond (Å)", x => MeanStd(x.OhBond.Length, "0.0000"));
        Line("H–O–H angle (°)", x => MeanStd(x.HohAngle.Angle, "0.0"));
        Line("g_OO first peak: r (Å)", x => x.RdfOO.FirstPeakR.ToString("0.00", inv));
        Line("g_OO first peak: height", x => x.RdfOO.FirstPeakHeight.ToString("0.00", inv));
        Console.WriteLine($"{"held-out force relRMSE",-30}{models[0].HeldOut,-24}{models[1].HeldOut,-24}");
        Console.WriteLine($"{"cost per step",-30}{models[0].MsPerStep.ToString("0.000", inv) + " ms",-24}{models[1].MsPerStep.ToString("0.000", inv) + " ms",-24}{(cp2kSeconds is { } cc ? cc.ToString("0.000", inv) + " s" : "unknown")}");
        foreach (var m in models)
            if (Speedup(m) is { } x) Console.WriteLine($"{m.Label}: learned MD is {x.ToString("0", inv)} times faster per step than {method}");
        Console.WriteLine($"statistics after the first {skip} fs");
        Console.WriteLine($"report: {Path.GetFullPath(reportPath)} ({total.Elapsed.TotalSeconds:0} s in all)");
        return models.Any(m => m.Diverged) ? 1 : 0;
    }

    private static string MeanStd(MeanStd m, string f) => double.IsFinite(m.Mean)
        ? $"{m.Mean.ToString(f, CultureInfo.InvariantCulture)} ± {m.Std.ToString(f, CultureInfo.InvariantCulture)}" : "n/a";

    private static void WriteSummaryJson(string path, IReadOnlyList<ModelRun> models, WaterAnalysis reference, string method, double? cp2kSeconds, int chain)
    {
        AtomicFile.Write(path, s =>
        {
            using var w = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("referenceMethod", method);
            w.WritePropertyName("reference");
            reference.WriteJson(w);
            if (cp2kSeconds is { } c) w.WriteNumber("cp2kSecondsPerStep", c);
            w.WriteStartObject("models");
            foreach (var m in models)
            {
                w.WriteStartObject(m.Key);
                w.WriteString("label", m.Label);
                w.WriteString("mode", m.Options.Mode.Name());
                w.WriteString("basis", m.Basis);
                w.WriteString("thermostat", m.Thermostat(chain));
                w.WriteStartObject("heldOutRelRmse");
                foreach (var (sp, e) in m.Fit!.Holdout.Species) w.WriteNumber(sp, e.RelRmse);
                w.WriteEndObject();
                w.WriteNumber("msPerStep", m.MsPerStep);
                if (cp2kSeconds is { } cs) w.WriteNumber("speedup", cs / (m.MsPerStep / 1000));
                w.WriteNumber("steps", m.Done);
                w.WriteBoolean("diverged", m.Diverged);
                w.WritePropertyName("trajectory");
                m.Analysis!.WriteJson(w);
                w.WriteEndObject();
            }
            w.WriteEndObject();
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
