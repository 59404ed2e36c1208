namespace MolecularLearning.Cli.Tests;

/// <summary>`mld fit` on the shipped methanol/ammonia/water run: the built-in basis names C and N, and the fast backend takes the model.</summary>
public sealed class FitMixtureTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mld-mix-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheConservativeDefaultNamesCarbonAndNitrogenOnMix38()
    {
        string data = MldProcess.RepositoryPath("samples/mix38-xtb"), model = Path.Combine(_dir, "m.json");
        // Every 10th training frame and one validation block: quick, and the derived windows come from all training frames.
        var (code, _, err) = MldProcess.Run(TimeSpan.FromSeconds(600), "fit", data, "-o", model, "--mode", "conservative", "--stride", "10", "--folds", "1");
        Assert.True(code == 0, err);
        Assert.DoesNotContain("written for water", err);
        var note = Assert.Single(err.Split('\n'), l => l.StartsWith("note: the basis names only H, O; added for C, N"));
        foreach (var item in new[] { "shell:C-H:", "shell:H-C:", "shell:N-H:", "shell:H-N:", "shell:C-O:", "shell:O-C:", "shellAngle:3:C@H:", "shellAngle:3:N@H:" })
            Assert.Contains(item, note);
        string json = File.ReadAllText(model);
        Assert.Contains("\"agent\": \"C\"", json);
        Assert.Contains("\"agent\": \"N\"", json);

        // The fast kernel takes the model (auto would fall back to the reference backend and say why).
        var (ecode, eout, eerr) = MldProcess.Run(TimeSpan.FromSeconds(300), "evaluate", model, data, "--backend", "simd");
        Assert.True(ecode == 0, eerr);
        Assert.Contains("backend simd", eout);
    }
}
