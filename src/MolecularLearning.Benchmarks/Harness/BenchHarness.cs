using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Dynamics;
using MolecularLearning.Learning;
using MolecularLearning.Learning.Export;

namespace MolecularLearning.Benchmarks;

/// <summary>What <see cref="BenchHarness"/> measures.</summary>
public sealed class BenchOptions
{
    public int[] Replicas { get; init; } = [1, 2, 3];
    public int[] Threads { get; init; } = [1, 2];
    public required string BoxPath { get; init; }
    public double BoxLength { get; init; } = 9.8528;
    public double Cutoff { get; init; } = 6.0;
    public double Skin { get; init; } = 1.0;
    public double Seconds { get; init; } = 1.0;
    public TextWriter Log { get; init; } = TextWriter.Null;
    /// <summary>A model file to measure; null: fit <see cref="Models"/> on <see cref="FitData"/>.</summary>
    public string? ModelPath { get; init; }
    public string? FitData { get; init; }
    public (ForceMode Mode, int Order)[] Models { get; init; } = [];
    /// <summary>The backend the learned models are evaluated on.</summary>
    public BackendChoice Backend { get; init; } = BackendChoice.Auto;
    /// <summary>The precision of the learned models' per-pair stages (mixed: the simd backend only).</summary>
    public Precision Precision { get; init; } = Precision.Double;
    /// <summary>The simd kernel's vector width forced (512, 256 or 128 bits), or 0 for the widest the CPU accelerates.</summary>
    public int VectorBits { get; init; }
    /// <summary>Whether the replicated box's atoms are shuffled (as a liquid's file after diffusion) instead of replica by replica.</summary>
    public bool Shuffled { get; init; }
}

/// <summary>A force field under test: a label for the report and a factory of fresh evaluators (and, at mixed precision, of double ones to compare with).</summary>
public sealed record BenchCandidate(string ForceField, string? Mode, int? Order, Func<IForceField> Create, bool RunMd, Func<IForceField>? CreateDouble = null);

/// <summary>The measurements behind `mld bench`, usable from BenchmarkDotNet and tests.</summary>
public static partial class BenchHarness
{
    /// <summary>
    /// The LAMMPS and CP2K costs: a JSON file from integration/bench/references.py, or "live" to run that script
    /// (found under <paramref name="repoRoot"/>) now; null for none.
    /// </summary>
    public static JsonObject? LoadReferences(string? spec, bool quick, double cutoff, double skin, Func<string> repoRoot)
    {
        if (spec is null) return null;
        string text;
        if (spec == "live")
        {
            var script = Path.Combine(repoRoot(), "integration", "bench", "references.py");
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true };
            psi.ArgumentList.Add(script);
            if (quick) psi.ArgumentList.Add("--quick");
            psi.ArgumentList.Add("--cutoff"); psi.ArgumentList.Add(cutoff.ToString("R", CultureInfo.InvariantCulture));
            psi.ArgumentList.Add("--skin"); psi.ArgumentList.Add(skin.ToString("R", CultureInfo.InvariantCulture));
            using var p = Process.Start(psi) ?? throw new DataException("cannot start /usr/bin/python3");
            text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new DataException($"{script} failed with exit code {p.ExitCode}");
        }
        else text = File.ReadAllText(spec);
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new DataException($"{spec}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new DataException($"{spec}: not valid JSON ({e.Message})");
        }
    }

    /// <summary>Reads a small XYZ file (species and positions) of the cell to replicate.</summary>
    public static (Species[] Species, double[] Positions) ReadXyz(string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length < 2 || !int.TryParse(lines[0].Trim(), out int n) || n < 1 || lines.Length < n + 2)
            throw new DataException($"{path}: not an XYZ file (atom count on line 1, then a comment and one line per atom)");
        var species = new Species[n];
        var pos = new double[3 * n];
        for (int i = 0; i < n; i++)
        {
            var f = lines[i + 2].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 4 || !Elements.TryGet(f[0], out species[i]))
                throw new DataException($"{path}: line {i + 3}: expected 'symbol x y z'");
            for (int k = 0; k < 3; k++)
                if (!double.TryParse(f[k + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out pos[3 * i + k]))
                    throw new DataException($"{path}: line {i + 3}: '{f[k + 1]}' is not a number");
        }
        return (species, pos);
    }

    /// <summary>The cubic cell of edge <paramref name="length"/> (Å) replicated k×k×k; atoms stay grouped by replica so neighbours stay close in memory.</summary>
    public static Frame Replicate(Species[] species, double[] positions, double length, int k) =>
        FrameReplica.Replicate(new Frame(species, positions, Cell.Orthorhombic(length, length, length)), k, k, k);

    /// <summary>
    /// The frame's atoms in a random order (a fixed seed): what a file of a liquid looks like after the molecules have
    /// diffused, where the replicated box keeps each replica's atoms together.
    /// </summary>
    public static Frame Shuffle(Frame frame, int seed = 12345)
    {
        var order = Enumerable.Range(0, frame.AtomCount).ToArray();
        new Random(seed).Shuffle(order);
        var species = new Species[order.Length];
        var positions = new double[3 * order.Length];
        for (int a = 0; a < order.Length; a++)
        {
            species[a] = frame.Species[order[a]];
            frame.Positions.AsSpan(3 * order[a], 3).CopyTo(positions.AsSpan(3 * a));
        }
        return new Frame(species, positions, frame.Cell);
    }

    /// <summary>
    /// The force fields measured: the learned models (a model file, or the defaults of `mld fit` fitted in each
    /// requested mode and order: FitOptions.Default, FitOptions.DefaultConservative) and the pair reference. Fit times go to <paramref name="fits"/>.
    /// </summary>
    public static List<BenchCandidate> Candidates(BenchOptions options, JsonArray fits)
    {
        var list = new List<BenchCandidate>();
        if (options.ModelPath is { } path)
        {
            var m = LearnedModel.Load(path);
            list.Add(Learned(m, options));
        }
        else if (options.Models.Length > 0)
        {
            var frames = FrameSource.Load(options.FitData ?? throw new DataException("no --fit-data for the default models"));
            foreach (var (mode, order) in options.Models)
            {
                var clock = Stopwatch.StartNew();
                // What `mld fit --mode M --order K` gives a user: conservative mode has its own smooth default basis.
                bool smooth = mode == ForceMode.Conservative;
                var defaults = smooth ? FitOptions.DefaultConservative : FitOptions.Default;
                var fit = ModelFitter.Fit(frames, defaults with { Mode = mode, Order = order, Source = options.FitData! });
                double seconds = clock.Elapsed.TotalSeconds;
                fits.Add(new JsonObject
                {
                    ["mode"] = mode.Name(), ["order"] = order, ["frames"] = frames.Count, ["trainFrames"] = fit.Model.Training.TrainFrames,
                    ["seconds"] = Math.Round(seconds, 2), ["rows"] = fit.Report.Rows, ["parameters"] = fit.Report.Parameters,
                    ["basis"] = smooth ? FitOptions.DefaultConservativeBasis : FitOptions.DefaultBasis,
                });
                options.Log.WriteLine($"fitted {mode.Name()} order {order} on {frames.Count} frames in {seconds:F1} s");
                list.Add(Learned(fit.Model, options));
            }
        }
        list.Add(new("pair", null, null, () => new CoulombLennardJonesForceField(options.Cutoff, options.Skin), RunMd: false));
        return list;
    }

    private static BenchCandidate Learned(LearnedModel m, BenchOptions options)
    {
        // A forced width means the simd kernel: never a quiet fall back to reference.
        var backend = options.VectorBits > 0 && options.Backend == BackendChoice.Auto ? BackendChoice.Simd : options.Backend;
        int bits = options.VectorBits;
        var probe = m.CreateForceField(backend, options.Precision, bits); // a clear error before any timing if simd cannot be had
        if (probe.BackendNote is { } note) options.Log.WriteLine("note: " + note);
        return new("learned", m.Mode.Name(), m.Order, () => m.CreateForceField(backend, options.Precision, bits), RunMd: true,
            options.Precision == Precision.Mixed ? () => m.CreateForceField(backend, Precision.Double, bits) : null);
    }

    /// <summary>The backend a measured force field runs on (the pair reference is plain scalar code).</summary>
    private static BackendInfo BackendOf(IForceField ff) => ff is LearnedForceField l ? l.Backend : new("scalar", 0);

    /// <summary>Every measurement for these options, as the report `mld bench` writes (JSON).</summary>
    public static JsonObject Run(BenchOptions options, JsonObject? references)
    {
        using var jit = new JitInliningWatch();
        var (species, positions) = ReadXyz(options.BoxPath);
        var forceEval = new JsonArray();
        var md = new JsonArray();
        var runLoop = new JsonArray();
        var lists = new JsonArray();
        var fits = new JsonArray();
        var scaling = new JsonArray();
        var precision = new JsonArray();
        var candidates = Candidates(options, fits);
        // The learned model measured at every size and for the thread scaling (agent, order 2 by default).
        var firstLearned = candidates.FirstOrDefault(c => c.ForceField == "learned");
        var runner = ParallelRunner.Shared;
        int originalWorkers = runner.MaxWorkers;
        try
        {
            foreach (int k in options.Replicas.Order())
            {
                var frame = Replicate(species, positions, options.BoxLength, k);
                if (options.Shuffled) frame = Shuffle(frame);
                int n = frame.AtomCount;
                foreach (int t in options.Threads)
                {
                    runner.MaxWorkers = t;
                    // Stored displacements take 38 bytes an entry: 5.4 GB at 10^6 atoms, which would also hide
                    // the evaluator's own peak memory; above 200,000 atoms only the compact list is measured.
                    if (n <= 200_000) lists.Add(MeasureNeighbourList(frame, options, t, NeighbourStorage.Displacements));
                    lists.Add(MeasureNeighbourList(frame, options, t, NeighbourStorage.Compact));
                    foreach (var candidate in candidates)
                    {
                        // Drop the previous measurement's lists and evaluators so each peak is its own.
                        GC.Collect();
                        GC.WaitForPendingFinalizers();
                        // Above 20,000 atoms only the first learned model (agent, order 2 by default) and the pair reference.
                        if (n > 20_000 && candidate.ForceField == "learned" && !ReferenceEquals(candidate, firstLearned))
                            continue;
                        if (t == options.Threads.Min() && candidate.CreateDouble is not null && n <= 200_000)
                        {
                            var p = PrecisionError.Measure(frame, candidate);
                            precision.Add(p);
                            options.Log.WriteLine($"{"  mixed",-8} {candidate.Mode,-12} order {candidate.Order} {n,8} atoms: force difference from double {D(p["forceRmsDifferenceOverRmsForce"]):E2} of the rms force (largest {D(p["forceMaxDifferenceOverRmsForce"]):E2})");
                        }
                        var row = MeasureForceEval(frame, candidate, options, t);
                        forceEval.Add(row);
                        options.Log.WriteLine($"{candidate.ForceField,-8} {candidate.Mode ?? "-",-12} order {candidate.Order?.ToString(CultureInfo.InvariantCulture) ?? "-"} {n,8} atoms {t} threads: {D(row["nsPerAtomStep"]),8:F1} ns/atom-step, {D(row["allocatedBytesPerStep"]),6:F0} B/step");
                        if (candidate.RunMd && (n <= 200_000 || t == options.Threads.Max()))
                        {
                            var mdRow = MeasureMd(frame, candidate, options, t);
                            md.Add(mdRow);
                            options.Log.WriteLine($"{"  md",-8} {candidate.Mode ?? "-",-12} order {candidate.Order?.ToString(CultureInfo.InvariantCulture) ?? "-"} {n,8} atoms {t} threads: {D(mdRow["stepsPerSecond"]),8:F1} steps/s");
                            // `mld run`'s own loop beside the engine row (RunLoopBench.cs).
                            foreach (var r in RunLoopBench.Measure(frame, candidate.Create, candidate.Mode, candidate.Order, t, options.Seconds, allVariants: n < 1000, options.Log.WriteLine)) runLoop.Add(r);
                        }
                    }
                }
                // The thread speed-up from alternating batches on one evaluator (the first learned model).
                if (options.Threads.Distinct().Count() > 1 && firstLearned is { } first)
                {
                    var row = MeasureThreadScaling(frame, first, options, runner);
                    scaling.Add(row);
                    options.Log.WriteLine($"{"  threads",-8} {first.Mode,-12} order {first.Order} {n,8} atoms: speed-up {D(row["speedup"]):F2} (median of rounds {D(row["medianRoundSpeedup"]):F2})");
                }
                GC.Collect();
            }
        }
        finally
        {
            runner.MaxWorkers = originalWorkers;
        }
        var report = new JsonObject
        {
            ["machine"] = new JsonObject
            {
                ["processors"] = Environment.ProcessorCount,
                ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
                ["vectorBits"] = System.Numerics.Vector<double>.Count * 64,
                ["peakWorkingSetBytes"] = Process.GetCurrentProcess().PeakWorkingSet64,
            },
            ["atomOrder"] = options.Shuffled ? "shuffled" : "replica",
            ["fits"] = fits,
            ["forceEval"] = forceEval,
            ["md"] = md,
            ["runLoop"] = runLoop,
            ["neighbourList"] = lists,
            ["threadScaling"] = scaling,
            ["precision"] = precision,
            ["references"] = references?.DeepClone() ?? new JsonObject(),
        };
        report["ratios"] = Ratios(report);
        var calls = jit.Report();
        report["jit"] = calls;
        if (jit.Count > 0)
            options.Log.WriteLine($"warning: this runtime's JIT left {jit.Count} of the fast kernel's vector operations as calls (first: {calls["failures"]![0]}): the learned rows run slower than this CPU allows; please report it");
        return report;
    }
}
