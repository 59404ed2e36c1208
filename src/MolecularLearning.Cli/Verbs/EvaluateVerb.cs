using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Grpc.Client;
using MolecularLearning.Learning;
using Spectre.Console;

namespace MolecularLearning.Cli.Verbs;

/// <summary>
/// `mld evaluate model.json DATA...`: relative force error per species of a model on any data;
/// `mld evaluate --server grpc:HOST:PORT DATA...`: the same for a served model. Per frame, the force error beside the
/// extrapolation signal (docs/extrapolation.md), with their rank correlation.
/// </summary>
public sealed class EvaluateVerb : IVerb
{
    public Command Build()
    {
        var model = new Argument<string>("model") { Description = "model file written by `mld fit`" };
        var inputs = new Argument<string[]>("data") { Description = "CP2K runs or extended XYZ files with reference forces", Arity = ArgumentArity.ZeroOrMore };
        var json = new Option<bool>("--json") { Description = "print {\"species\": {...}, \"frames\": n, \"perFrame\": [{\"frame\", \"forceRmse\", \"extrapolation\", ...}]} as JSON" };
        var worst = new Option<int>("--worst") { Description = "frames listed in the text output, worst force error first", DefaultValueFactory = _ => 5 };
        var server = new Option<string?>("--server") { Description = "evaluate the model served at grpc:HOST:PORT (mld serve --grpc) instead of a model file; all arguments are then data" };
        var backend = BackendOption.Create();
        var precision = BackendOption.CreatePrecision();
        var command = new Command("evaluate", "relative RMSE of a model's forces against reference forces, per species") { model, inputs, json, worst, server, backend, precision };
        command.SetAction(p => CliErrors.Guard(() =>
        {
            int n = p.GetValue(worst);
            if (n < 0) throw new DataException($"--worst: {n} is negative");
            return p.GetValue(server) is { } address
                ? RunServed(address, [p.GetValue(model)!, .. p.GetValue(inputs)!], p.GetValue(json), n)
                : Run(p.GetValue(model)!, p.GetValue(inputs)!, p.GetValue(json), n, BackendOption.Parse(p.GetValue(backend)!),
                    BackendOption.ParsePrecision(p.GetValue(precision)!));
        }));
        return command;
    }

    private static int RunServed(string server, string[] inputs, bool asJson, int worst)
    {
        if (!server.StartsWith("grpc:", StringComparison.OrdinalIgnoreCase))
            throw new DataException($"--server '{server}': expected grpc:HOST:PORT");
        using var forceField = new GrpcForceField(server["grpc:".Length..]);
        var served = forceField.Connect();
        var known = served.Species.Select(s => s.Symbol).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var frames = LoadReferenceFrames(inputs, (frame, where) =>
        {
            foreach (var s in frame.Species)
                if (!known.Contains(s.Symbol))
                    throw new DataException($"{where}: {s.Symbol} is not a species of the served model ({string.Join(", ", known)})");
        });
        var (report, perFrame) = ForceErrors.EvaluateFrames(forceField, frames);
        string? unavailable = perFrame.Any(x => !double.IsNaN(x.Extrapolation)) ? null
            : "extrapolation signal: not available (the server does not send it: an older server, or its model file records no training ranges)";
        return Report(report, perFrame, unavailable, $"{server} ({served.Name})", inputs, asJson, worst);
    }

    private static List<Frame> LoadReferenceFrames(string[] inputs, Action<Frame, string> checkSpecies)
    {
        var frames = new List<Frame>();
        foreach (var input in inputs)
        {
            var loaded = FitVerb.LoadFrames([input], withForces: true);
            for (int f = 0; f < loaded.Count; f++) checkSpecies(loaded[f], $"{input}: frame {f}");
            frames.AddRange(loaded);
        }
        return frames;
    }

    private static int Run(string modelPath, string[] inputs, bool asJson, int worst, BackendChoice backend, Precision precision)
    {
        if (inputs.Length == 0) throw new DataException("no data: give CP2K runs or extended XYZ files after the model (mld evaluate model.json DATA...)");
        var model = LearnedModel.Load(modelPath);
        var forceField = model.CreateForceField(backend, precision);
        BackendOption.Tell(forceField);
        var frames = LoadReferenceFrames(inputs, (frame, where) => model.CheckSpecies(frame.Species, where));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (report, perFrame) = ForceErrors.EvaluateFrames(forceField, frames);
        double forceSeconds = clock.Elapsed.TotalSeconds;
        string? unavailable = forceField.ReportsExtrapolation ? null
            : "extrapolation signal: not available (the model file records no training ranges; refit it with this version to get them)";
        // The committee's deviation per frame (K more evaluations each): only for a model fitted with --committee.
        CommitteeFrames? committee = null;
        if (model.Committee is not null)
        {
            clock.Restart();
            var members = new CommitteeEvaluator(model, backend: backend);
            var max = new double[frames.Count];
            var rms = new double[frames.Count];
            var mean = new double[frames.Count];
            for (int f = 0; f < frames.Count; f++)
            {
                max[f] = members.Deviation(frames[f].Species, frames[f].Positions, frames[f].Cell);
                rms[f] = members.Rms;
                mean[f] = members.Mean;
            }
            committee = new CommitteeFrames(max, rms, mean, members.Members, forceSeconds, clock.Elapsed.TotalSeconds);
        }
        return Report(report, perFrame, unavailable, $"{modelPath}, backend {forceField.Backend}", inputs, asJson, worst, committee);
    }

    /// <summary>Per frame the committee's largest atomic force std, its RMS and mean over atoms; the seconds of the plain evaluation pass and of the committee's.</summary>
    private sealed record CommitteeFrames(double[] Max, double[] Rms, double[] Mean, int Members, double ForceSeconds, double CommitteeSeconds)
    {
        public double Spearman(IReadOnlyList<FrameError> perFrame, double[] deviation) => ForceErrors.Spearman(deviation, [.. perFrame.Select(x => x.ForceRmse)]);
    }

    private static int Report(ForceErrorReport report, IReadOnlyList<FrameError> perFrame, string? unavailable, string modelName, string[] inputs, bool asJson, int worst,
        CommitteeFrames? committee = null)
    {
        double spearman = ForceErrors.Spearman([.. perFrame.Select(x => x.Extrapolation)], [.. perFrame.Select(x => x.ForceRmse)]);
        double spearmanCommittee = committee?.Spearman(perFrame, committee.Max) ?? double.NaN;
        double spearmanCommitteeMean = committee?.Spearman(perFrame, committee.Mean) ?? double.NaN;
        if (asJson)
        {
            using var stdout = Console.OpenStandardOutput();
            if (unavailable is not null) Console.Error.WriteLine(unavailable);
            using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
                ErrorJson.Write(w, report, w => WritePerFrame(w, report, perFrame, spearman, committee));
            stdout.Write("\n"u8);
            return 0;
        }
        AnsiConsole.MarkupLine(Markup.Escape($"{modelName} on {perFrame.Count} frames ({string.Join(", ", inputs)}):"));
        var table = new Table().Border(TableBorder.Simple).AddColumn("species").AddColumn("atoms").AddColumn("relRMSE").AddColumn("RMSE (eV/Å)");
        foreach (var (s, e) in report.Species)
            table.AddRow(s, e.Atoms.ToString(CultureInfo.InvariantCulture), e.RelRmse.ToString("0.0000", CultureInfo.InvariantCulture), e.Rmse.ToString("0.0000", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        if (unavailable is not null) AnsiConsole.MarkupLine(Markup.Escape(unavailable));
        else
        {
            int outside = perFrame.Count(x => x.Extrapolation > 0);
            AnsiConsole.MarkupLine(Markup.Escape($"extrapolation: {outside} of {perFrame.Count} frames outside the training range, largest "
                + $"{NumberText.Short(perFrame.Max(x => x.Extrapolation))} training spreads; "
                + $"rank correlation with the frame's force RMSE {(double.IsNaN(spearman) ? "undefined" : spearman.ToString("0.000", CultureInfo.InvariantCulture))}"));
        }
        if (committee is not null)
            AnsiConsole.MarkupLine(Markup.Escape(FormattableString.Invariant(
                $"committee deviation ({committee.Members} members; largest atomic force std over members): median {Median(committee.Max):0.0000} eV/Å, largest {committee.Max.DefaultIfEmpty(double.NaN).Max():0.0000} eV/Å; ")
                + $"rank correlation with the frame's force RMSE {(double.IsNaN(spearmanCommittee) ? "undefined" : spearmanCommittee.ToString("0.000", CultureInfo.InvariantCulture))}; "
                + $"mean over atoms: median {Median(committee.Mean).ToString("0.0000", CultureInfo.InvariantCulture)} eV/Å, rank correlation "
                + $"{(double.IsNaN(spearmanCommitteeMean) ? "undefined" : spearmanCommitteeMean.ToString("0.000", CultureInfo.InvariantCulture))}"));
        if (worst > 0 && perFrame.Count > 0)
        {
            var rows = new Table().Border(TableBorder.Simple).AddColumn("frame").AddColumn("force RMSE (eV/Å)").AddColumn("extrapolation").AddColumn("atom").AddColumn("invariant");
            if (committee is not null) rows.AddColumn("committee (eV/Å)");
            foreach (var x in perFrame.OrderByDescending(x => x.ForceRmse).ThenBy(x => x.Frame).Take(worst))
            {
                var cells = new List<string> { x.Frame.ToString(CultureInfo.InvariantCulture), x.ForceRmse.ToString("0.0000", CultureInfo.InvariantCulture),
                    double.IsNaN(x.Extrapolation) ? "n/a" : x.Extrapolation.ToString("0.###", CultureInfo.InvariantCulture),
                    x.Atom >= 0 ? x.Atom.ToString(CultureInfo.InvariantCulture) : "-", Markup.Escape(x.Invariant ?? "-") };
                if (committee is not null) cells.Add(committee.Max[x.Frame].ToString("0.0000", CultureInfo.InvariantCulture));
                rows.AddRow([.. cells]);
            }
            AnsiConsole.MarkupLine($"worst {Math.Min(worst, perFrame.Count)} frames:");
            AnsiConsole.Write(rows);
        }
        return 0;
    }

    private static double Median(double[] values)
    {
        if (values.Length == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]);
    }

    /// <summary>
    /// perFrame: [{frame, forceRmse, rmse: {species}, extrapolation (null: not available), atom, invariant, committee, committeeRms and
    /// committeeMean (a model with members only)}], spearman (extrapolation); with members also spearmanCommittee, spearmanCommitteeRms,
    /// spearmanCommitteeMean, committeeMembers and seconds.
    /// </summary>
    private static void WritePerFrame(Utf8JsonWriter w, ForceErrorReport report, IReadOnlyList<FrameError> perFrame, double spearman,
        CommitteeFrames? committee)
    {
        var species = report.Species.Keys.ToList();
        w.WriteStartArray("perFrame");
        foreach (var x in perFrame)
        {
            w.WriteStartObject();
            w.WriteNumber("frame", x.Frame);
            w.WriteNumber("forceRmse", x.ForceRmse);
            w.WriteStartObject("rmse");
            for (int s = 0; s < species.Count; s++)
                if (double.IsFinite(x.SpeciesRmse[s])) w.WriteNumber(species[s], x.SpeciesRmse[s]);
            w.WriteEndObject();
            if (double.IsNaN(x.Extrapolation)) w.WriteNull("extrapolation"); else w.WriteNumber("extrapolation", x.Extrapolation);
            if (x.Atom >= 0) { w.WriteNumber("atom", x.Atom); w.WriteString("invariant", x.Invariant); }
            if (committee is not null)
            {
                w.WriteNumber("committee", committee.Max[x.Frame]);
                w.WriteNumber("committeeRms", committee.Rms[x.Frame]);
                w.WriteNumber("committeeMean", committee.Mean[x.Frame]);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        // Spearman's rank correlation between the frames' extrapolation and force RMSE (null: undefined or not available).
        void Number(string name, double value) { if (double.IsNaN(value)) w.WriteNull(name); else w.WriteNumber(name, value); }
        Number("spearman", spearman);
        if (committee is not null)
        {
            Number("spearmanCommittee", committee.Spearman(perFrame, committee.Max));
            Number("spearmanCommitteeRms", committee.Spearman(perFrame, committee.Rms));
            Number("spearmanCommitteeMean", committee.Spearman(perFrame, committee.Mean));
            w.WriteNumber("committeeMembers", committee.Members);
            // Wall seconds of the plain pass (forces, errors, signal) and of the members' (the committee's cost beside it).
            w.WriteStartObject("seconds");
            w.WriteNumber("forces", committee.ForceSeconds);
            w.WriteNumber("committee", committee.CommitteeSeconds);
            w.WriteEndObject();
        }
    }
}

