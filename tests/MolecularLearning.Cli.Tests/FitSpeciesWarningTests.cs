using System.IO.Compression;
using System.Text;

namespace MolecularLearning.Cli.Tests;

/// <summary>`mld fit` with a built-in (water) basis on data holding another species: one warning naming it and --basis.</summary>
public sealed class FitSpeciesWarningTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-species-" + Guid.NewGuid().ToString("N"));

    public FitSpeciesWarningTests()
    {
        // The PBE sample with its first atom relabelled N in every file: a CP2K run with a species the defaults do not name.
        Directory.CreateDirectory(_dir);
        foreach (var file in Directory.GetFiles(MldProcess.PbeSample()))
        {
            string target = Path.Combine(_dir, Path.GetFileName(file));
            if (!file.EndsWith(".xyz.gz")) { File.Copy(file, target); continue; }
            using var input = new StreamReader(new GZipStream(File.OpenRead(file), CompressionMode.Decompress));
            var lines = input.ReadToEnd().Split('\n');
            for (int i = 0; i + 2 < lines.Length; i++)
                if (int.TryParse(lines[i].Trim(), out _) && lines[i + 2].TrimStart().StartsWith("O "))
                    lines[i + 2] = lines[i + 2].Replace("O ", "N ");
            using var output = new GZipStream(File.Create(target), CompressionLevel.Fastest);
            output.Write(Encoding.ASCII.GetBytes(string.Join('\n', lines)));
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static MldProcess.Result Mld(params string[] args) => MldProcess.Run(TimeSpan.FromSeconds(120), args);

    [Fact]
    public void ADefaultBasisSaysOnceWhichSpeciesOnlyTheRadialSumsDescribe()
    {
        var (code, _, err) = Mld("fit", _dir, "-o", Path.Combine(_dir, "m.json"), "--mode", "conservative", "--stride", "1", "--folds", "1");
        Assert.True(code == 0, err);
        var warning = Assert.Single(err.Split('\n'), l => l.Contains("written for water"));
        Assert.StartsWith("warning: the conservative default basis is written for water", warning);
        Assert.Contains("name only H, O; N is described only by the radial sums", warning);
        Assert.Contains("--basis", warning);
    }

    [Fact]
    public void AnExplicitBasisIsTheUsersChoice()
    {
        var (code, _, err) = Mld("fit", _dir, "-o", Path.Combine(_dir, "m.json"), "--mode", "conservative", "--stride", "1", "--folds", "1",
            "--basis", "gauss:8:0.8:5.5+fc:4+shell:O-H:1.15:1.45:2");
        Assert.True(code == 0, err);
        Assert.DoesNotContain("written for water", err);
    }
}
