using System.IO.Compression;
using System.Text;

namespace MolecularLearning.Cli.Tests;

/// <summary>`mld fit` with a built-in (water) basis on data holding another species: bonded terms derived for it, and said so.</summary>
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
    public void ADefaultBasisGivesTheSpeciesBondedTermsOfItsOwnAndSaysSo()
    {
        string model = Path.Combine(_dir, "m.json");
        var (code, _, err) = Mld("fit", _dir, "-o", model, "--mode", "conservative", "--stride", "1", "--folds", "1");
        Assert.True(code == 0, err);
        Assert.DoesNotContain("written for water", err);
        var note = Assert.Single(err.Split('\n'), l => l.StartsWith("note: the basis names only H, O; added for N"));
        Assert.Contains("bonds H-N 0.", note);
        Assert.Contains("shell:N-H:", note);
        Assert.Contains("shell:H-N:", note);
        // Recorded in the model: its basis has the N shells.
        Assert.Contains("\"agent\": \"N\"", File.ReadAllText(model));
    }

    [Fact]
    public void AnExplicitBasisIsFittedAsWrittenAndWarned()
    {
        // --basis written out as the default's: the user's choice, no terms added (and no warning: an explicit basis).
        string model = Path.Combine(_dir, "m.json");
        var (code, _, err) = Mld("fit", _dir, "-o", model, "--mode", "conservative", "--stride", "1", "--folds", "1", "--basis", "gauss:8:0.8:5.5+fc:4+shell:O-H:1.15:1.45:2");
        Assert.True(code == 0, err);
        Assert.DoesNotContain("added for", err);
        Assert.DoesNotContain("\"agent\": \"N\"", File.ReadAllText(model));
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
