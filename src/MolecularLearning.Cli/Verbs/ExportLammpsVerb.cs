using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Learning;
using MolecularLearning.Learning.Export;

namespace MolecularLearning.Cli.Verbs;

/// <summary>
/// `mld export-lammps model.json -o DIR`: writes a conservative radial model as LAMMPS tables (pair_style table +
/// eam/fs layers under hybrid/overlay), an include snippet, an example NVE input and a LAMMPS data file of a frame.
/// </summary>
public sealed class ExportLammpsVerb : IVerb
{
    public Command Build()
    {
        var model = new Argument<string>("model") { Description = "model file (JSON) of a conservative model with radial invariants" };
        var output = new Option<string>("--output", "-o") { Description = "directory for the LAMMPS files", Required = true };
        var data = new Option<string?>("--data") { Description = "CP2K run or extended XYZ: one frame becomes DIR/PREFIX.data (default: the model's training data)" };
        var frame = new Option<int?>("--frame") { Description = "which frame of --data (0-based; negative counts from the end; default -1, the last)" };
        var replicate = new Option<string?>("--replicate") { Description = "repeat the data frame AxBxC times (e.g. 10x10x10 for ~10^5 atoms)" };
        var reference = new Option<string?>("--reference") { Description = "frames that size the tables and measure their error (default: --data, else the training data)" };
        var tolerance = new Option<double?>("--tolerance") { Description = "force error budget: max |ΔF| / rms F on the reference frames (default 1e-6)" };
        var prefix = new Option<string?>("--prefix") { Description = "name of the potential files (default: model)" };
        var time = new Option<int?>("--time") { Description = "also time N in-process force evaluations of the data frame (the mld side of the LAMMPS benchmark)" };
        var json = new Option<bool>("--json") { Description = "print the export summary as JSON" };
        var types = new Option<string?>("--types")
        {
            Description = "species of LAMMPS atom types 1, 2, ... as your data file numbers them (e.g. H,O); default: the model's species order",
        };
        var command = new Command("export-lammps", "export a conservative radial model to LAMMPS (pair_style table + eam/fs, MPI-ready)")
        {
            model, output, data, frame, replicate, reference, tolerance, prefix, time, json, types,
        };
        command.SetAction(p => CliErrors.Guard(() => Run(
            p.GetValue(model)!, p.GetValue(output)!, p.GetValue(data), p.GetValue(frame) ?? -1, p.GetValue(replicate),
            p.GetValue(reference), p.GetValue(tolerance), p.GetValue(prefix) ?? "model", p.GetValue(time), p.GetValue(json), p.GetValue(types))));
        return command;
    }

    private static int Run(string modelPath, string dir, string? dataPath, int frameIndex, string? replicate,
        string? referencePath, double? tolerance, string prefix, int? timeSteps, bool asJson, string? typeList)
    {
        var model = LearnedModel.Load(modelPath);
        var description = LearnedModelExport.Describe(model, Path.GetFileNameWithoutExtension(modelPath));
        IReadOnlyList<Species>? atomTypes = null;
        if (typeList is not null)
        {
            var list = new List<Species>();
            foreach (var name in typeList.Split(',', StringSplitOptions.TrimEntries))
                list.Add(description.Species.FirstOrDefault(s => s.Symbol.Equals(name, StringComparison.OrdinalIgnoreCase))
                    ?? throw new DataException(Elements.TryGet(name, out _)
                        ? $"--types: {name} is not a species of the model ({string.Join(", ", description.Species.Select(x => x.Symbol))})"
                        : $"--types: '{name}' is not an element symbol"));
            atomTypes = LammpsExport.CheckTypes(description, list);
        }
        var typeSpecies = atomTypes ?? description.Species;
        void Warn(string w) => Console.Error.WriteLine("warning: " + w);

        string? training = TrainingSource(model);
        string refSource = referencePath ?? dataPath ?? training
            ?? throw new DataException($"{modelPath}: its training data is not at hand; give --data or --reference frames to size the tables");
        var reference = FrameSource.Load(refSource, Warn);
        var options = new LammpsExportOptions();
        if (tolerance is { } tol)
            options = tol > 0 && tol < 1 ? options with { ForceTolerance = tol } : throw new DataException($"--tolerance must be in (0, 1), got {tol}");
        var tab = LammpsTabulation.Create(description, reference, options);

        Frame? source = null, box = null;
        int index = 0;
        string? dataSource = dataPath ?? training;
        if (dataSource is not null)
        {
            var frames = dataSource == refSource ? reference : FrameSource.Load(dataSource, Warn);
            index = frameIndex < 0 ? frames.Count + frameIndex : frameIndex;
            if (index < 0 || index >= frames.Count) throw new DataException($"{dataSource}: --frame {frameIndex} is outside its {frames.Count} frames");
            box = source = frames[index];
            if (replicate is not null)
            {
                var (a, b, c) = FrameReplica.ParseCounts(replicate);
                box = FrameReplica.Replicate(box, a, b, c);
            }
        }
        // The range walls have no LAMMPS form: say so once, with what they do on the frames at hand.
        var measured = LammpsTabulation.Spread(reference, options.MaxReferenceFrames);
        if (source is not null && !measured.Contains(source)) measured.Add(source);
        var omitted = LearnedModelExport.RangeWallsLeftOut(model, measured);
        if (omitted is not null) Warn(omitted.Describe());

        string dataName = LammpsExport.DataName(prefix);
        var written = LammpsExport.Write(tab, dir, prefix, dataName, modelPath, omitted, atomTypes);
        if (box is not null)
            LammpsDataFile.Write(Path.Combine(dir, dataName), box, typeSpecies, $"{dataSource} frame {index} ({box.AtomCount} atoms), written by mld export-lammps");

        var timing = new List<Dictionary<string, object>>();
        if (timeSteps is { } steps && box is not null)
            foreach (int threads in new[] { 1, Environment.ProcessorCount }.Distinct())
                timing.Add(Time(model, box, steps, threads));

        var b2 = tab.Budget;
        if (asJson)
        {
            var summary = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(Path.Combine(dir, written.Summary)))!;
            var obj = summary.ToDictionary(kv => kv.Key, kv => (object)kv.Value);
            obj["directory"] = Path.GetFullPath(dir);
            obj["dataFile"] = box is null ? null! : dataName;
            if (timing.Count > 0) obj["mldTiming"] = timing;
            Console.WriteLine(JsonSerializer.Serialize(obj, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        Console.WriteLine($"exported {modelPath} (order {description.Order}, cutoff {description.Cutoff:0.###} Å) to {dir}:");
        Console.WriteLine($"  pair_style table linear {tab.TablePoints} ({written.Potentials[0]}), {tab.EamTables.Count} eam/fs layer(s) of {tab.RadialPoints} r points");
        Console.WriteLine($"  error budget on {b2.Frames} reference frame(s), {b2.Atoms} atoms: max |ΔF| / rms F = {b2.TotalForceError:E2} " +
                          $"(pair {b2.PairForceError:E2}, embedding {b2.EmbeddingForceError:E2}; target {b2.Tolerance:E1}), energy {b2.TotalEnergyErrorPerAtom:E2} eV/atom");
        Console.WriteLine($"  atom types {string.Join(", ", typeSpecies.Select((s, i) => $"{i + 1} = {s.Symbol}"))} (its mass lines set them; another order: --types)");
        Console.WriteLine($"  include {written.Snippet} after read_data; example: cd {dir} && lmp -in {written.Example}   (or mpirun -np N lmp -in {written.Example})");
        if (omitted is not null)
            Console.WriteLine($"  left out: range walls on {omitted.Invariants} invariants (changed {omitted.AtomsAffected} of {omitted.Atoms} atoms' forces by up to " +
                              $"{omitted.RelativeForce:E2} of rms F, energy {omitted.EnergyPerAtom:E2} eV/atom, on {omitted.Frames} frame(s)); see export.json \"omitted\"");
        if (box is not null) Console.WriteLine($"  {dataName}: {box.AtomCount} atoms");
        else Console.WriteLine($"  no data file written (give --data); {written.Example} expects {dataName}");
        foreach (var t in timing)
            Console.WriteLine($"  mld in-process: {t["nsPerAtomStep"]:0.#} ns/atom-step wall ({t["cpuNsPerAtomStep"]:0.#} CPU) with {t["threads"]} thread(s) on {t["atoms"]} atoms");
        return 0;
    }

    /// <summary>The model's training data, when it is a path that exists here.</summary>
    private static string? TrainingSource(LearnedModel model)
    {
        string s = model.Training.Source.Trim();
        if (s.Length == 0) return null;
        if (File.Exists(s) || Directory.Exists(s) || FrameSource.IsCp2kRun(s)) return s;
        return null;
    }

    /// <summary>ns per atom-step of the in-process evaluator on the frame (after one warm-up call).</summary>
    private static Dictionary<string, object> Time(LearnedModel model, Frame box, int steps, int threads)
    {
        var ff = model.CreateForceField(skin: 0.5, maxThreads: threads);
        var result = new ForceResult(box.AtomCount);
        ff.Compute(box.Species, box.Positions, box.Cell, result);
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) ff.Compute(box.Species, box.Positions, box.Cell, result);
        double ns = sw.Elapsed.TotalNanoseconds / steps / box.AtomCount;
        process.Refresh();
        // CPU time too: on a shared machine wall time overstates the cost by the other jobs' share.
        double cpuNs = (process.TotalProcessorTime - cpu0).TotalNanoseconds / steps / box.AtomCount;
        return new()
        {
            ["atoms"] = box.AtomCount, ["threads"] = threads, ["steps"] = steps,
            ["nsPerAtomStep"] = Math.Round(ns, 2), ["cpuNsPerAtomStep"] = Math.Round(cpuNs, 2),
        };
    }
}
