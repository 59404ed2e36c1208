using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Learning;
using Spectre.Console;

namespace MolecularLearning.Cli.Verbs;

/// <summary>`mld evaluate model.json DATA...`: relative force error per species of a model on any data.</summary>
public sealed class EvaluateVerb : IVerb
{
    public Command Build()
    {
        var model = new Argument<string>("model") { Description = "model file written by `mld fit`" };
        var inputs = new Argument<string[]>("data") { Description = "CP2K runs or extended XYZ files with reference forces", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "print {\"species\": {...}, \"frames\": n} as JSON" };
        var backend = BackendOption.Create();
        var command = new Command("evaluate", "relative RMSE of a model's forces against reference forces, per species") { model, inputs, json, backend };
        command.SetAction(p => CliErrors.Guard(() => Run(p.GetValue(model)!, p.GetValue(inputs)!, p.GetValue(json), BackendOption.Parse(p.GetValue(backend)!))));
        return command;
    }

    private static int Run(string modelPath, string[] inputs, bool asJson, BackendChoice backend)
    {
        var model = LearnedModel.Load(modelPath);
        var forceField = model.CreateForceField(backend);
        BackendOption.Tell(forceField);
        var frames = new List<Frame>();
        foreach (var input in inputs)
        {
            var loaded = FitVerb.LoadFrames([input]);
            for (int f = 0; f < loaded.Count; f++)
            {
                if (loaded[f].Forces is null) throw DataException.At(input, f, "has no reference forces to compare with");
                model.CheckSpecies(loaded[f].Species, $"{input}: frame {f}");
            }
            frames.AddRange(loaded);
        }
        var report = ForceErrors.Evaluate(forceField, frames);
        if (asJson)
        {
            using var stdout = Console.OpenStandardOutput();
            using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true })) ErrorJson.Write(w, report);
            stdout.Write("\n"u8);
            return 0;
        }
        AnsiConsole.MarkupLine(Markup.Escape($"{modelPath} on {frames.Count} frames ({string.Join(", ", inputs)}), backend {forceField.Backend}:"));
        var table = new Table().Border(TableBorder.Simple).AddColumn("species").AddColumn("atoms").AddColumn("relRMSE").AddColumn("RMSE (eV/Å)");
        foreach (var (s, e) in report.Species)
            table.AddRow(s, e.Atoms.ToString(CultureInfo.InvariantCulture), e.RelRmse.ToString("0.0000", CultureInfo.InvariantCulture), e.Rmse.ToString("0.0000", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        return 0;
    }
}
