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
/// `mld evaluate --server grpc:HOST:PORT DATA...`: the same for a served model.
/// </summary>
public sealed class EvaluateVerb : IVerb
{
    public Command Build()
    {
        var model = new Argument<string>("model") { Description = "model file written by `mld fit`" };
        var inputs = new Argument<string[]>("data") { Description = "CP2K runs or extended XYZ files with reference forces", Arity = ArgumentArity.ZeroOrMore };
        var json = new Option<bool>("--json") { Description = "print {\"species\": {...}, \"frames\": n} as JSON" };
        var server = new Option<string?>("--server") { Description = "evaluate the model served at grpc:HOST:PORT (mld serve --grpc) instead of a model file; all arguments are then data" };
        var backend = BackendOption.Create();
        var command = new Command("evaluate", "relative RMSE of a model's forces against reference forces, per species") { model, inputs, json, server, backend };
        command.SetAction(p => CliErrors.Guard(() => p.GetValue(server) is { } address
            ? RunServed(address, [p.GetValue(model)!, .. p.GetValue(inputs)!], p.GetValue(json))
            : Run(p.GetValue(model)!, p.GetValue(inputs)!, p.GetValue(json), BackendOption.Parse(p.GetValue(backend)!))));
        return command;
    }

    private static int RunServed(string server, string[] inputs, bool asJson)
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
        return Report(ForceErrors.Evaluate(forceField, frames), $"{server} ({served.Name})", frames.Count, inputs, asJson);
    }

    private static List<Frame> LoadReferenceFrames(string[] inputs, Action<Frame, string> checkSpecies)
    {
        var frames = new List<Frame>();
        foreach (var input in inputs)
        {
            var loaded = FitVerb.LoadFrames([input]);
            for (int f = 0; f < loaded.Count; f++)
            {
                if (loaded[f].Forces is null) throw DataException.At(input, f, "has no reference forces to compare with");
                checkSpecies(loaded[f], $"{input}: frame {f}");
            }
            frames.AddRange(loaded);
        }
        return frames;
    }

    private static int Run(string modelPath, string[] inputs, bool asJson, BackendChoice backend)
    {
        if (inputs.Length == 0) throw new DataException("no data: give CP2K runs or extended XYZ files after the model (mld evaluate model.json DATA...)");
        var model = LearnedModel.Load(modelPath);
        var forceField = model.CreateForceField(backend);
        BackendOption.Tell(forceField);
        var frames = LoadReferenceFrames(inputs, (frame, where) => model.CheckSpecies(frame.Species, where));
        return Report(ForceErrors.Evaluate(forceField, frames), $"{modelPath}, backend {forceField.Backend}", frames.Count, inputs, asJson);
    }

    private static int Report(ForceErrorReport report, string modelName, int frameCount, string[] inputs, bool asJson)
    {
        if (asJson)
        {
            using var stdout = Console.OpenStandardOutput();
            using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true })) ErrorJson.Write(w, report);
            stdout.Write("\n"u8);
            return 0;
        }
        AnsiConsole.MarkupLine(Markup.Escape($"{modelName} on {frameCount} frames ({string.Join(", ", inputs)}):"));
        var table = new Table().Border(TableBorder.Simple).AddColumn("species").AddColumn("atoms").AddColumn("relRMSE").AddColumn("RMSE (eV/Å)");
        foreach (var (s, e) in report.Species)
            table.AddRow(s, e.Atoms.ToString(CultureInfo.InvariantCulture), e.RelRmse.ToString("0.0000", CultureInfo.InvariantCulture), e.Rmse.ToString("0.0000", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        return 0;
    }
}
