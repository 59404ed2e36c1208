using System.IO.Compression;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using Xunit.Abstractions;

namespace MolecularLearning.Fuzz.Tests;

/// <summary>
/// Damaged CP2K runs (positions, forces, velocities, .ener, input, restart) and extended XYZ files through the
/// ingest path (read, then write atomically over a previous output): every case is read back, refused with a
/// DataException, or counted as a failure. Fixed seeds, bounded counts.
/// </summary>
public sealed class Cp2kFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 20261204;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private const string Precious = "previous output: must survive a failed ingest\n";
    private readonly string _root = Directory.CreateTempSubdirectory("mld-fuzz-cp2k-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>The shipped 4-step PBE sample, uncompressed (so single bytes can be damaged).</summary>
    private static Dictionary<string, string> Sample()
    {
        var files = new Dictionary<string, string>();
        foreach (var path in Directory.GetFiles(Paths.PbeSample))
        {
            var name = Path.GetFileName(path);
            if (name == "init.xyz") continue;
            if (name.EndsWith(".gz", StringComparison.Ordinal))
            {
                using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
                using var reader = new StreamReader(gz);
                files[name[..^3]] = reader.ReadToEnd();
            }
            else files[name] = File.ReadAllText(path);
        }
        return files;
    }

    [Fact]
    public async Task DamagedCp2kRunsAreReadBackOrRefused()
    {
        var sample = Sample();
        var tallies = new Dictionary<string, FuzzTally>
        {
            ["cp2k xyz (pos/frc/vel)"] = new("cp2k xyz (pos/frc/vel)"),
            ["cp2k .ener"] = new("cp2k .ener"),
            ["cp2k input/restart"] = new("cp2k input/restart"),
        };
        var rng = new Random(Seed);
        for (int c = 0; c < 180; c++)
        {
            var name = (c % 6) switch
            {
                0 or 1 => "water32-pos-1.xyz",
                2 => "water32-frc-1.xyz",
                3 => "water32-vel-1.xyz",
                4 => "water32-1.ener",
                _ => rng.Next(2) == 0 ? "md.inp" : "water32-1.restart",
            };
            var tally = name.EndsWith(".xyz", StringComparison.Ordinal) ? tallies["cp2k xyz (pos/frc/vel)"]
                : name.EndsWith(".ener", StringComparison.Ordinal) ? tallies["cp2k .ener"] : tallies["cp2k input/restart"];
            var dir = Path.Combine(_root, $"case{c}");
            Directory.CreateDirectory(dir);
            foreach (var (file, text) in sample)
                File.WriteAllText(Path.Combine(dir, file), file != name ? text
                    : tally == tallies["cp2k input/restart"] && rng.Next(2) == 0 ? DamageCell(text, rng) : Mutator.Mutate(text, rng, 1 + rng.Next(3)));
            await tally.Run($"case {c} ({name})", Limit, _ => Ingest(dir, () => Cp2kRun.Read(dir).Frames));
        }
        FuzzTally.Report(output, [.. tallies.Values]);
    }

    [Fact]
    public async Task DamagedExtendedXyzIsReadBackOrRefused()
    {
        var sample = Sample();
        var frames = Cp2kRun.Read(WriteSample(sample)).Frames;
        var clean = Path.Combine(_root, "clean.extxyz");
        ExtendedXyz.Write(clean, frames);
        var text = File.ReadAllText(clean);
        var tally = new FuzzTally("extxyz");
        var rng = new Random(Seed + 1);
        for (int c = 0; c < 200; c++)
        {
            var dir = Path.Combine(_root, $"x{c}");
            Directory.CreateDirectory(dir);
            var input = Path.Combine(dir, "in.extxyz");
            File.WriteAllText(input, Mutator.Mutate(text, rng, 1 + rng.Next(3)));
            await tally.Run($"case {c}", Limit, _ => Ingest(dir, () => ExtendedXyz.Read(input)));
        }
        FuzzTally.Report(output, tally);
    }

    private static readonly string[] CellValues = ["0.37", "0.1", "1e300", "1e-300", "-9.8528", "0", "nan", "inf", "1e9", "", "x"];

    /// <summary>Damage aimed at the cell (&CELL's ABC line, or the restart's A/B/C vectors): random edits rarely land there.</summary>
    private static string DamageCell(string text, Random rng)
    {
        var lines = text.Split('\n');
        var cell = Enumerable.Range(0, lines.Length)
            .Where(i => System.Text.RegularExpressions.Regex.IsMatch(lines[i], @"^\s*(ABC|A|B|C)\s+[-0-9.]")).ToList();
        if (cell.Count == 0) return Mutator.Mutate(text, rng, 1);
        int li = cell[rng.Next(cell.Count)];
        var tokens = lines[li].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        tokens[1 + rng.Next(tokens.Length - 1)] = CellValues[rng.Next(CellValues.Length)];
        lines[li] = "  " + string.Join(' ', tokens);
        return string.Join('\n', lines);
    }

    private string WriteSample(Dictionary<string, string> sample)
    {
        var dir = Path.Combine(_root, "clean");
        Directory.CreateDirectory(dir);
        foreach (var (file, text) in sample) File.WriteAllText(Path.Combine(dir, file), text);
        return dir;
    }

    /// <summary>Reads, checks every value, writes over a previous output; a refusal must leave that output and no temporary file.</summary>
    private static Outcome Ingest(string dir, Func<IReadOnlyList<Frame>> read)
    {
        var outDir = Path.Combine(dir, "out");
        Directory.CreateDirectory(outDir);
        var output = Path.Combine(outDir, "data.extxyz");
        File.WriteAllText(output, Precious);
        IReadOnlyList<Frame> frames;
        try
        {
            frames = read();
            if (frames.Count == 0) throw new DataException("no frame");
        }
        catch (DataException)
        {
            if (File.ReadAllText(output) != Precious || Directory.GetFiles(outDir).Length != 1) return Outcome.DataLost;
            throw;
        }
        foreach (var f in frames)
        {
            if (!Sane(f.Positions) || (f.Forces is { } F && !Sane(F)) || (f.Velocities is { } V && !Sane(V))) return Outcome.SilentWrong;
            if (f.Energy is { } e && !double.IsFinite(e)) return Outcome.SilentWrong;
            if (f.Positions.Length != 3 * f.Species.Length) return Outcome.SilentWrong;
            if (f.Cell is { } cell && !(cell.Volume > 0 && double.IsFinite(cell.Volume))) return Outcome.SilentWrong;
        }
        ExtendedXyz.Write(output, frames);
        if (Directory.GetFiles(outDir).Length != 1) return Outcome.DataLost;
        var back = ExtendedXyz.Read(output);
        if (back.Count != frames.Count) return Outcome.DataLost;
        for (int i = 0; i < back.Count; i++)
            if (!back[i].Positions.AsSpan().SequenceEqual(frames[i].Positions)) return Outcome.DataLost;
        return Outcome.Accepted;
    }

    private static bool Sane(ReadOnlySpan<double> values)
    {
        foreach (var v in values) if (!(Math.Abs(v) <= 1e8)) return false;
        return true;
    }
}
