using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MolecularLearning.Cli.Learn;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Learning;
using Spectre.Console;

namespace MolecularLearning.Cli.Verbs;

/// <summary>
/// `mld learn input.inp --model m.json --data RUN -o out.json`: learned MD at each temperature, the frames furthest
/// outside the training range labelled by CP2K single points, added to the data set, refit; per round a report.
/// </summary>
public sealed class LearnVerb : IVerb
{
    public Command Build()
    {
        var input = new Argument<string>("cp2k-input") { Description = "the CP2K input whose method labels the frames (its RUN_TYPE and coordinates are replaced)" };
        var model = new Option<string>("--model") { Description = "starting model (mld fit); its recipe (invariants, mode, order, walls) is used for every refit", Required = true };
        var data = new Option<string[]>("--data") { Description = "the data the model was fitted on (CP2K runs or extended XYZ), repeatable; its last 20% stays held out", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--output", "-o") { Description = "the refitted model to write (after every round)", Required = true };
        var temperatures = new Option<string>("--temperatures") { Description = "learned MD temperatures (K), comma-separated", DefaultValueFactory = _ => "300" };
        var rounds = new Option<int>("--rounds") { Description = "rounds of MD, labelling and refit", DefaultValueFactory = _ => 1 };
        var budget = new Option<int>("--budget") { Description = "CP2K frames over all rounds", DefaultValueFactory = _ => 50 };
        var steps = new Option<long>("--steps") { Description = "learned MD steps per temperature per round", DefaultValueFactory = _ => 2000 };
        var every = new Option<int>("--every") { Description = "a candidate frame every n steps", DefaultValueFactory = _ => 10 };
        var minGap = new Option<long>("--min-gap") { Description = "frames picked from one run lie at least this many steps apart", DefaultValueFactory = _ => 100 };
        var threshold = new Option<double>("--threshold") { Description = "label only frames whose score exceeds this: the extrapolation (training spreads beyond the range), or for a model with a committee its members' force spread (eV/Å)", DefaultValueFactory = _ => 0 };
        var timestep = new Option<double>("--timestep") { Description = "learned MD time step (fs)", DefaultValueFactory = _ => 0.5 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the Maxwell–Boltzmann velocities", DefaultValueFactory = _ => 1 };
        var from = new Option<string?>("--from") { Description = "start structure of every MD run (default: the last training frame of --data)" };
        var test = new Option<string[]>("--test") { Description = "reference data at a temperature, only evaluated on: T=PATH (e.g. 350=hot-run/), repeatable", AllowMultipleArgumentsPerToken = true };
        var dataset = new Option<string?>("--dataset") { Description = "extended XYZ of the labelled frames (default WORK/labelled.extxyz); frames already in it are fitted too" };
        var work = new Option<string?>("--work-dir") { Description = "folder for the CP2K runs (cp2k/), learned MD trajectories (md/), the labelled data set and per-round models (default: OUTPUT without extension + .learn)" };
        var cp2k = new Option<string?>("--cp2k") { Description = $"CP2K executable (default: the first of {string.Join(", ", Cp2kSinglePoint.ExecutableNames)} on PATH)" };
        var threads = new Option<int>("--cp2k-threads") { Description = "OMP_NUM_THREADS for CP2K (0: leave the environment's)", DefaultValueFactory = _ => 0 };
        var keep = new Option<bool>("--keep") { Description = "keep every CP2K run folder (by default only failed ones stay)" };
        var json = new Option<bool>("--json") { Description = "print the per-round report as JSON" };
        var backend = BackendOption.Create();
        var command = new Command("learn", "CP2K in the loop: learned MD, label the frames the model extrapolates on, refit, repeat")
        {
            input, model, data, output, temperatures, rounds, budget, steps, every, minGap, threshold, timestep, seed, from, test,
            dataset, work, cp2k, threads, keep, json, backend,
        };
        command.SetAction(p => CliErrors.Guard(() =>
        {
            var settings = new LearnSettings
            {
                Temperatures = ParseTemperatures(p.GetValue(temperatures)!),
                Rounds = p.GetValue(rounds), Budget = p.GetValue(budget), Steps = p.GetValue(steps), Every = p.GetValue(every),
                MinGap = p.GetValue(minGap), Threshold = p.GetValue(threshold), TimestepFs = p.GetValue(timestep), Seed = p.GetValue(seed),
                Backend = BackendOption.Parse(p.GetValue(backend)!),
            };
            settings.Validate();
            var outPath = p.GetValue(output)!;
            AtomicFile.Target(outPath);
            var workDir = p.GetValue(work) ?? Path.ChangeExtension(outPath, null) + ".learn";
            Directory.CreateDirectory(Path.Combine(workDir, "md"));
            settings = settings with { TrajectoryDirectory = Path.Combine(workDir, "md") };
            var cp2kRunner = new Cp2kSinglePoint(p.GetValue(input)!, Path.Combine(workDir, "cp2k"), p.GetValue(cp2k))
            {
                Threads = p.GetValue(threads), KeepFiles = p.GetValue(keep),
            };
            return Run(new Cp2kLabeller(cp2kRunner), p.GetValue(model)!, p.GetValue(data)!, outPath, workDir, p.GetValue(dataset),
                p.GetValue(from), p.GetValue(test) ?? [], settings, p.GetValue(json));
        }));
        return command;
    }

    internal static int Run(IFrameLabeller labeller, string modelPath, string[] dataPaths, string outPath, string workDir, string? datasetPath,
        string? fromPath, string[] tests, LearnSettings settings, bool asJson)
    {
        var log = asJson ? (Action<string>)(m => Console.Error.WriteLine(m)) : Console.WriteLine;
        var model = LearnedModel.Load(modelPath);
        var data = FitVerb.LoadFrames(dataPaths, withForces: true);
        var testSets = new Dictionary<double, IReadOnlyList<Frame>>();
        foreach (var t in tests)
        {
            var (temperature, path) = ParseTest(t);
            if (!settings.Temperatures.Contains(temperature))
                throw new DataException($"--test {t}: {temperature:0.#} K is not one of --temperatures ({string.Join(",", settings.Temperatures)})");
            var frames = FitVerb.LoadFrames([path], withForces: true);
            for (int f = 0; f < frames.Count; f++) model.CheckSpecies(frames[f].Species, $"{path}: frame {f}");
            testSets[temperature] = frames;
        }
        Frame? start = null;
        if (fromPath is not null)
        {
            var frames = FrameSource.Load(fromPath, w => Console.Error.WriteLine("warning: " + w));
            start = frames.Count > 0 ? frames[^1] : throw DataException.At(fromPath, null, "no frames");
            model.CheckSpecies(start.Species, fromPath);
        }
        datasetPath ??= Path.Combine(workDir, "labelled.extxyz");
        var previous = File.Exists(datasetPath) ? ExtendedXyz.Read(datasetPath, w => Console.Error.WriteLine("warning: " + w)) : [];
        if (previous.Count > 0) log($"{datasetPath}: {previous.Count} frames labelled before, fitted from round 1 on");
        foreach (var (f, k) in previous.Select((f, k) => (f, k)))
            if (f.Forces is null) throw DataException.At(datasetPath, k, "has no forces");

        var loop = new LearnLoop(model, data, previous, start, labeller, settings, testSets, log);
        var rounds = new List<LearnRound>();
        int spent = 0;
        for (int r = 1; r <= settings.Rounds; r++)
        {
            int budget = (int)Math.Ceiling((settings.Budget - spent) / (double)(settings.Rounds - r + 1));
            var round = loop.RunRound(r, budget, n =>
            {
                var path = Path.Combine(workDir, $"model-round{n}.json");
                loop.Model.Save(path);
                return path;
            });
            spent += round.FramesAdded;
            if (round.FramesAdded > 0) ExtendedXyz.Write(datasetPath, loop.Labelled);
            loop.Model.Save(outPath);
            rounds.Add(round);
            if (!asJson) WriteRound(round);
            if (round.FramesAdded == 0)
            {
                log($"round {r}: no frame outside the training range (threshold {settings.Threshold}); stopping");
                break;
            }
        }
        if (asJson) WriteJson(rounds, outPath, datasetPath, loop.Labelled.Count);
        else Console.WriteLine($"model {outPath}; data set {datasetPath} ({loop.Labelled.Count} labelled frames)");
        return 0;
    }

    internal static IReadOnlyList<double> ParseTemperatures(string text)
    {
        var list = new List<double>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var t) || !(t > 0) || !double.IsFinite(t))
                throw new DataException($"--temperatures: '{part}' is not a positive temperature in K");
            if (!list.Contains(t)) list.Add(t);
        }
        return list;
    }

    private static (double Temperature, string Path) ParseTest(string text)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0 || eq == text.Length - 1 || !double.TryParse(text[..eq], NumberStyles.Float, CultureInfo.InvariantCulture, out var t))
            throw new DataException($"--test '{text}': expected TEMPERATURE=PATH, e.g. 350=hot-run/");
        return (t, text[(eq + 1)..]);
    }

    private static string F(double v, string format = "0.0000") => double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    /// <summary>relRMSE per species, e.g. "0.127/0.094" (species in the report's order).</summary>
    private static string Errors(ForceErrorReport? r) =>
        r is null ? "-" : string.Join("/", r.Species.Values.Select(e => F(e.RelRmse, "0.000")));

    private static void WriteRound(LearnRound r)
    {
        AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"round {r.Round}: {r.FramesAdded} frames added ({r.FramesTotal} labelled in all); CP2K {r.Cp2kSeconds:0.0} s, MD {r.MdSeconds:0.0} s, fit {r.FitSeconds:0.0} s")));
        var species = string.Join("/", r.HoldoutBefore.Species.Keys);
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("T (K)").AddColumn("MD steps").AddColumn("outside").AddColumn("max extrap.").AddColumn("picked")
            .AddColumn($"new {species}").AddColumn($"test {species}").AddColumn("after refit");
        foreach (var t in r.Temperatures)
            table.AddRow(F(t.Temperature, "0.#"), t.StepsRun.ToString(CultureInfo.InvariantCulture) + (t.DivergedAt is { } d ? $" (diverged at {d})" : ""),
                $"{t.Outside}/{t.Candidates}", F(t.MaxExtrapolation, "0.00"), t.Picked.ToString(CultureInfo.InvariantCulture),
                Errors(t.NewFramesError), Errors(t.TestBefore), Errors(t.TestAfter));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(Markup.Escape($"relRMSE {species}: new = the frames just labelled, before the refit; test = --test data before and after the refit; "
            + $"held-out block of --data {Errors(r.HoldoutBefore)} -> {Errors(r.HoldoutAfter)}"));
    }

    private static void WriteJson(List<LearnRound> rounds, string outPath, string datasetPath, int labelled)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", outPath);
            w.WriteString("dataset", datasetPath);
            w.WriteNumber("labelledFrames", labelled);
            w.WriteStartArray("rounds");
            foreach (var r in rounds)
            {
                w.WriteStartObject();
                w.WriteNumber("round", r.Round);
                w.WriteNumber("framesAdded", r.FramesAdded);
                w.WriteNumber("framesTotal", r.FramesTotal);
                w.WriteNumber("cp2kSeconds", Math.Round(r.Cp2kSeconds, 3));
                w.WriteNumber("mdSeconds", Math.Round(r.MdSeconds, 3));
                w.WriteNumber("fitSeconds", Math.Round(r.FitSeconds, 3));
                if (r.ModelPath is not null) w.WriteString("roundModel", r.ModelPath);
                w.WritePropertyName("holdoutBefore"); ErrorJson.Write(w, r.HoldoutBefore);
                w.WritePropertyName("holdoutAfter"); ErrorJson.Write(w, r.HoldoutAfter);
                w.WriteStartArray("temperatures");
                foreach (var t in r.Temperatures)
                {
                    w.WriteStartObject();
                    w.WriteNumber("temperature", t.Temperature);
                    w.WriteNumber("steps", t.StepsRun);
                    if (t.DivergedAt is { } d) w.WriteNumber("divergedAt", d); else w.WriteNull("divergedAt");
                    w.WriteNumber("candidates", t.Candidates);
                    w.WriteNumber("outside", t.Outside);
                    if (double.IsFinite(t.MaxExtrapolation)) w.WriteNumber("maxExtrapolation", t.MaxExtrapolation); else w.WriteNull("maxExtrapolation");
                    w.WriteNumber("picked", t.Picked);
                    Optional(w, "newFramesError", t.NewFramesError);
                    Optional(w, "testBefore", t.TestBefore);
                    Optional(w, "testAfter", t.TestAfter);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stdout.Write("\n"u8);
    }

    private static void Optional(Utf8JsonWriter w, string name, ForceErrorReport? report)
    {
        w.WritePropertyName(name);
        if (report is null) w.WriteNullValue(); else ErrorJson.Write(w, report);
    }
}
