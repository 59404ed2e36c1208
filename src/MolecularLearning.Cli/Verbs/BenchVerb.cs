using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Learning;
using MolecularLearning.Benchmarks;

namespace MolecularLearning.Cli.Verbs;

/// <summary>
/// `mld bench`: cost of force evaluation, neighbour lists and MD steps on water boxes replicated from
/// the shared 32-water cell, next to LAMMPS SPC/Fw and CP2K references measured on the same machine
/// (integration/bench/references.py). The verb parses options; the harness (<see cref="BenchHarness"/>, timing whole
/// steps with a stopwatch as an MD run sees them) and the BenchmarkDotNet micro-benchmarks live in src/MolecularLearning.Benchmarks.
/// </summary>
public sealed class BenchVerb : IVerb
{
    public Command Build()
    {
        var json = new Option<bool>("--json") { Description = "print the results as JSON on stdout" };
        var quick = new Option<bool>("--quick") { Description = "only the sizes that finish within a minute (96 to 2592 atoms)" };
        var replicas = new Option<string?>("--replicas") { Description = "replicas per axis of the 32-water cell, e.g. 1,2,3,5,10,22 (96 ... 1,022,208 atoms)" };
        var threads = new Option<string>("--threads") { Description = "thread counts to measure, e.g. 1,2", DefaultValueFactory = _ => "1,2" };
        var box = new Option<string?>("--box") { Description = "XYZ file of the cell to replicate (default: samples/water32-xtb/init.xyz found from the working or program directory)" };
        var boxLength = new Option<double>("--box-length") { Description = "cubic cell edge of --box in Å", DefaultValueFactory = _ => 9.8528 };
        var cutoff = new Option<double>("--cutoff") { Description = "cutoff (Å) of the pair reference potential", DefaultValueFactory = _ => 6.0 };
        var skin = new Option<double>("--skin") { Description = "Verlet skin (Å) of the pair reference potential", DefaultValueFactory = _ => 1.0 };
        var seconds = new Option<double>("--seconds") { Description = "timed seconds per measurement", DefaultValueFactory = _ => 1.0 };
        var model = new Option<string?>("--model") { Description = "a model file to benchmark instead of fitting the default models" };
        var fitData = new Option<string?>("--fit-data") { Description = "CP2K run or extxyz the default models are fitted on (default: samples/water32-xtb)" };
        var models = new Option<string>("--models") { Description = "mode:order pairs to fit and measure", DefaultValueFactory = _ => "agent:2,agent:1,conservative:2,conservative:1" };
        var references = new Option<string?>("--references") { Description = "JSON from integration/bench/references.py (LAMMPS and CP2K costs), or 'live' to run it now" };
        var backend = BackendOption.Create("evaluates the learned models");
        var precision = BackendOption.CreatePrecision();
        var vectorBits = new Option<int>("--vector-bits")
        {
            Description = "run the simd kernel at 512, 256 or 128 bits instead of the widest this CPU accelerates (0), to measure the narrower paths on one machine: 128 on an AVX2 CPU is the width ARM NEON gets, with FMA as NEON has",
            DefaultValueFactory = _ => 0,
        };
        var atomOrder = new Option<string>("--atom-order")
        {
            Description = "replica: the replicated box's atoms replica by replica; shuffled: in a random (seeded) order, as a liquid's file after diffusion",
            DefaultValueFactory = _ => "replica",
        };
        var command = new Command("bench", "Benchmark force evaluation, neighbour lists and MD steps; compare with LAMMPS SPC/Fw and CP2K")
        {
            json, quick, replicas, threads, box, boxLength, cutoff, skin, seconds, references, model, fitData, models, backend, precision, vectorBits, atomOrder,
        };
        command.SetAction(parse => CliErrors.Guard(() =>
        {
            bool isQuick = parse.GetValue(quick);
            int bits = parse.GetValue(vectorBits);
            if (bits is not (0 or 128 or 256 or 512)) throw new DataException($"--vector-bits: {bits} is not one of 0|128|256|512");
            if (bits > 0 && !SortedGaussianKernel.IsAccelerated(bits)) throw new DataException($"--vector-bits: this CPU does not accelerate {bits}-bit vectors (widest: {SortedGaussianKernel.WidestAcceleratedBits})");
            var options = new BenchOptions
            {
                Replicas = ParseInts(parse.GetValue(replicas) ?? (isQuick ? "1,2,3" : "1,2,3,5,10,22"), "--replicas"),
                Threads = ParseInts(parse.GetValue(threads)!, "--threads"),
                BoxPath = parse.GetValue(box) ?? SampleBox(),
                BoxLength = parse.GetValue(boxLength),
                Cutoff = parse.GetValue(cutoff),
                Skin = parse.GetValue(skin),
                Seconds = isQuick ? Math.Min(0.3, parse.GetValue(seconds)) : parse.GetValue(seconds),
                Log = parse.GetValue(json) ? Console.Error : Console.Out,
                ModelPath = parse.GetValue(model),
                FitData = parse.GetValue(fitData) ?? ShippedSample.Water32Xtb("pass --fit-data RUN or --model FILE"),
                Models = ParseModels(parse.GetValue(models)!),
                Backend = BackendOption.Parse(parse.GetValue(backend)!),
                Precision = BackendOption.ParsePrecision(parse.GetValue(precision)!),
                VectorBits = bits,
                Shuffled = parse.GetValue(atomOrder) switch
                {
                    "replica" => false,
                    "shuffled" => true,
                    var other => throw new DataException($"--atom-order: '{other}' is not replica|shuffled"),
                },
            };
            if (bits > 0 && options.Backend == BackendChoice.Reference) throw new DataException("--vector-bits sets the simd kernel's width: it does not go with --backend reference");
            var refs = BenchHarness.LoadReferences(parse.GetValue(references), isQuick, options.Cutoff, options.Skin, () => ShippedSample.RepoRoot("pass --references FILE"));
            var report = BenchHarness.Run(options, refs);
            if (parse.GetValue(json)) Console.Out.WriteLine(report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            else BenchHarness.PrintSummary(report, Console.Out);
            return 0;
        }));
        return command;
    }

    private static int[] ParseInts(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (int k = 0; k < parts.Length; k++)
            if (!int.TryParse(parts[k], NumberStyles.Integer, CultureInfo.InvariantCulture, out values[k]) || values[k] < 1)
                throw new DataException($"{option}: '{parts[k]}' is not a positive integer");
        return values.Length > 0 ? values : throw new DataException($"{option}: no values");
    }

    private static string SampleBox() => Path.Combine(ShippedSample.Water32Xtb("pass --box FILE.xyz --box-length L"), "init.xyz");

    private static (ForceMode Mode, int Order)[] ParseModels(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(item =>
        {
            var parts = item.Split(':');
            if (parts.Length != 2 || !ForceModeNames.TryParse(parts[0], out var mode) || parts[1] is not ("1" or "2"))
                throw new DataException($"--models: '{item}' is not mode:order (agent|conservative):(1|2)");
            return (mode, parts[1] == "1" ? 1 : 2);
        }).ToArray();
}
