using System.CommandLine;
using MolecularLearning.Core;
using MolecularLearning.Lammps;
using MolecularLearning.Learning;

namespace MolecularLearning.Cli.Verbs;

/// <summary>`mld lammps model.json -in in.lammps [-var NAME VALUE]... [--fix ID] [--types O,H]`: the model as LAMMPS's forces, on every MPI rank.</summary>
public sealed class LammpsVerb : IVerb
{
    public Command Build()
    {
        var model = new Argument<string>("model") { Description = "model file written by `mld fit` (any basis, either mode, order 1 or 2)" };
        var input = new Option<string>("-in") { Description = "LAMMPS input; it defines `fix ID all external pf/callback 1 1`", Required = true };
        var variables = new Option<string[]>("-var")
        {
            Description = "define a LAMMPS index variable (as lmp's -var NAME VALUE); repeatable",
            Arity = new ArgumentArity(2, 2),
            AllowMultipleArgumentsPerToken = true,
        };
        var fix = new Option<string>("--fix") { Description = "ID of the fix external the model supplies", DefaultValueFactory = _ => "mld" };
        var types = new Option<string?>("--types") { Description = "species of LAMMPS atom types 1, 2, ... (e.g. O,H); default: by atom mass" };
        var ghostLosses = new Option<bool>("--ghost-losses")
        {
            Description = "conservative models: evaluate the ghost atoms' losses (ghosts to twice the cutoff) instead of sending their reactions " +
                "to the owning ranks (ghosts to the cutoff, 24 bytes per atom of the system exchanged per step); for very many ranks",
        };
        var command = new Command("lammps", "run a LAMMPS input with the model's forces (mpirun -np N mld lammps ... for MPI domains)")
            { model, input, variables, fix, types, ghostLosses };
        command.SetAction(p => CliErrors.Guard(() =>
        {
            var pairs = p.GetResult(variables)?.Tokens.Select(t => t.Value).ToArray() ?? [];
            var list = new List<(string, string)>();
            for (int k = 0; k + 1 < pairs.Length; k += 2) list.Add((pairs[k], pairs[k + 1]));
            var map = p.GetValue(types)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            return Run(p.GetValue(model)!, new LammpsRunOptions(p.GetValue(input)!, list, p.GetValue(fix)!, map, p.GetValue(ghostLosses)));
        }));
        return command;
    }

    private static int Run(string modelPath, LammpsRunOptions options)
    {
        var library = LammpsLibrary.Load();
        var model = LearnedModel.Load(modelPath);
        if (options.Types is { } names)
            foreach (var name in names)
                if (!Elements.TryGet(name, out var s) || !model.Species.Contains(s))
                    throw new DataException($"--types: {name} is not a species of {modelPath} ({string.Join(", ", model.Species.Select(x => x.Symbol))})");
        // One thread per rank: MPI ranks are the parallelism. The neighbour-list builds run on the shared team too, which
        // otherwise has a worker per core in every rank (64 ranks on 64 cores: 64 x 64 threads); MLD_THREADS overrides.
        if (Environment.GetEnvironmentVariable("MLD_THREADS") is null) ParallelRunner.Shared.MaxWorkers = 1;
        var forceField = model.CreateForceField(skin: 0.5, maxThreads: 1);
        return new LammpsRun(library, forceField, model.Species, options).Run(Console.Out);
    }
}
