using MolecularLearning.Cp2k;
using MolecularLearning.Learning;

namespace MolecularLearning.Integration.Tests;

/// <summary>
/// `mld run` as a user runs it: a run stopped (by its step target or by SIGINT) and restarted from its
/// checkpoint writes the same trajectory and thermo log, byte for byte, as one that ran straight through.
/// </summary>
public sealed class RunRestartTests(RunRestartTests.SmallModel model) : IClassFixture<RunRestartTests.SmallModel>, IDisposable
{
    private static readonly string Sample = Path.Combine(Peers.RepoRoot, "samples", "water32-xtb");
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "mld-run-" + Guid.NewGuid().ToString("N"))).FullName;
    private readonly string _model = model.Path;

    /// <summary>The default model (a few seconds to fit), fitted once for the class: what is tested here is the driver.</summary>
    public sealed class SmallModel : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mld-run-model-" + Guid.NewGuid().ToString("N") + ".json");

        public SmallModel()
        {
            ModelFitter.Fit(Cp2kRun.Read(Sample).Frames, FitOptions.Default).Model.Save(Path);
        }

        public void Dispose() => File.Delete(Path);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string[] Args(string name, int steps, params string[] extra) =>
    [
        "run", _model, "--from", Sample, "--steps", steps.ToString(), "--trajectory", Path.Combine(_dir, name + ".extxyz"),
        "--every", "5", "--log", Path.Combine(_dir, name + ".csv"), "--checkpoint", Path.Combine(_dir, name + ".chk"),
        "--checkpoint-every", "10", "--massive", "--tau", "10", .. extra,
    ];

    [Fact]
    public void Stop_and_restart_is_bit_identical_to_an_uninterrupted_run()
    {
        var straight = Peers.Mld(Args("straight", 40), TimeSpan.FromMinutes(3));
        Assert.True(straight.ExitCode == 0, straight.StdErr);
        var first = Peers.Mld(Args("split", 20), TimeSpan.FromMinutes(3));
        Assert.True(first.ExitCode == 0, first.StdErr);
        var second = Peers.Mld(["run", _model, "--restart", Path.Combine(_dir, "split.chk"), "--steps", "40",
            "--trajectory", Path.Combine(_dir, "split.extxyz"), "--every", "5", "--log", Path.Combine(_dir, "split.csv"),
            "--checkpoint", Path.Combine(_dir, "split.chk"), "--checkpoint-every", "10"], TimeSpan.FromMinutes(3));
        Assert.True(second.ExitCode == 0, second.StdErr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "straight.extxyz")), File.ReadAllBytes(Path.Combine(_dir, "split.extxyz")));
        Assert.Equal(File.ReadAllText(Path.Combine(_dir, "straight.csv")), File.ReadAllText(Path.Combine(_dir, "split.csv")));
        Assert.Equal(9, ExtendedXyz.Read(Path.Combine(_dir, "split.extxyz")).Count); // steps 0, 5, ..., 40
    }

    [Fact]
    public async Task Sigint_flushes_the_trajectory_and_leaves_a_checkpoint_to_continue_from()
    {
        // Through env --default-signal=INT: a process started from a background job of a non-interactive shell
        // (`.ci/run &`) inherits SIGINT ignored, and .NET installs no handler for an ignored signal, so mld run would
        // go on, as Unix intends for background jobs. The test is of mld run's handling, not of how CI was started.
        var psi = new System.Diagnostics.ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--default-signal=INT", "dotnet", Peers.MldDll }.Concat(Args("sig", 100_000))) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var log = Path.Combine(_dir, "sig.csv");
        var until = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < until && !p.HasExited && (!File.Exists(log) || new FileInfo(log).Length < 2000)) await Task.Delay(200);
        Assert.False(p.HasExited, p.HasExited ? await stderr : "");
        Peers.Run("kill", ["-INT", p.Id.ToString()], TimeSpan.FromSeconds(10));
        if (!p.WaitForExit(60_000))
        {
            // Say where the run was: a log still growing means the signal was not handled.
            p.Kill(entireProcessTree: true);
            string o = await stdout, e = await stderr;
            Assert.Fail($"mld run did not stop within 60 s of SIGINT; log {new FileInfo(log).Length} bytes; its output ends:\n{o[^Math.Min(1500, o.Length)..]}\n{e}");
        }
        string output = await stdout;
        Assert.Equal(130, p.ExitCode);
        Assert.Contains("interrupted by SIGINT", output);
        var frames = ExtendedXyz.Read(Path.Combine(_dir, "sig.extxyz"));
        long stoppedAt = long.Parse(System.Text.RegularExpressions.Regex.Match(output, @"interrupted by SIGINT at step (\d+)").Groups[1].Value);
        Assert.True(frames.Count >= 2);
        Assert.Equal(stoppedAt / 5 * 5, frames[^1].Step); // flushed up to the last step that was due
        // The checkpoint holds the last completed step; a restart continues from it.
        var more = Peers.Mld(["run", _model, "--restart", Path.Combine(_dir, "sig.chk"), "--steps", (stoppedAt + 10).ToString(),
            "--trajectory", Path.Combine(_dir, "sig.extxyz"), "--every", "5", "--log", log], TimeSpan.FromMinutes(3));
        Assert.True(more.ExitCode == 0, more.StdErr);
        Assert.Contains($"at step {stoppedAt} ", more.StdOut, StringComparison.Ordinal);
        var after = ExtendedXyz.Read(Path.Combine(_dir, "sig.extxyz"));
        Assert.Equal((stoppedAt + 10) / 5 * 5, after[^1].Step);
        Assert.Equal(after.Select(f => f.Step).Distinct().Count(), after.Count); // no duplicated frames
    }

    [Fact]
    public void Bad_input_is_one_clear_line()
    {
        var r = Peers.Mld(["run", _model, "--from", Sample, "--frame", "5000", "--steps", "10"], TimeSpan.FromMinutes(2));
        Assert.Equal(2, r.ExitCode);
        var last = r.StdErr.TrimEnd().Split('\n')[^1];
        Assert.StartsWith("error: ", last);
        Assert.Contains("frame 5000", last);
        Assert.DoesNotContain("   at ", r.StdErr);
        var noStart = Peers.Mld(["run", _model, "--steps", "10"], TimeSpan.FromMinutes(2));
        Assert.Equal(2, noStart.ExitCode);
        Assert.Contains("--from", noStart.StdErr);
    }

    [Fact]
    public async Task Forces_from_an_ase_ipi_client_drive_the_run()
    {
        string name = "mld-run-" + Guid.NewGuid().ToString("N")[..8];
        var log = Path.Combine(_dir, "ipi.csv");
        var mld = Task.Run(() => Peers.Mld(["run", "--forces", "ipi:unix:" + name, "--from", Sample, "--steps", "10", "--every", "5",
            "--log", log, "--thermostat", "none", "--connect-timeout", "60"], TimeSpan.FromMinutes(3)));
        // The client retries until mld listens; it prints its own energy of the start structure first.
        var script = Path.Combine(Peers.RepoRoot, "integration", "dynamics", "ase_lj_client.py");
        var client = Peers.Run(Peers.Python, [script, Path.Combine(Sample, "init.xyz"), name, "9.8528"], TimeSpan.FromMinutes(3));
        var run = await mld;
        Assert.True(run.ExitCode == 0, run.StdOut + run.StdErr + "\nclient: " + client.StdErr);
        Assert.True(client.ExitCode == 0, client.StdErr);
        double aseEnergy = double.Parse(client.StdOut.Split('\n')[0], System.Globalization.CultureInfo.InvariantCulture);
        var lines = File.ReadAllLines(log);
        Assert.Equal(4, lines.Length); // header, steps 0, 5, 10
        double potential = double.Parse(lines[1].Split(',')[4], System.Globalization.CultureInfo.InvariantCulture);
        // eV → Hartree on the wire → eV; ASE 3.22 converts with CODATA 2014 units, we with 2018 (≈2e-8 apart).
        Assert.Equal(aseEnergy, potential, Math.Abs(aseEnergy) * 1e-7);
    }

    [Fact]
    public void No_ipi_client_ends_the_run_with_one_clear_line()
    {
        var r = Peers.Mld(["run", "--forces", "ipi:unix:mld-none-" + Guid.NewGuid().ToString("N")[..8], "--from", Sample, "--steps", "10",
            "--connect-timeout", "1"], TimeSpan.FromMinutes(2));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("error: no i-PI client connected", r.StdErr);
        Assert.DoesNotContain("   at ", r.StdErr); // no stack trace
    }

    [Fact]
    public async Task Sigterm_flushes_every_due_frame_and_line_and_exits_143()
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Peers.MldDll }.Concat(Args("term", 100_000))) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var log = Path.Combine(_dir, "term.csv");
        var until = DateTime.UtcNow.AddMinutes(2);
        // The outputs are buffered: wait for the first checkpoint's flush, then a little more.
        while (DateTime.UtcNow < until && !p.HasExited && !File.Exists(Path.Combine(_dir, "term.chk"))) await Task.Delay(100);
        await Task.Delay(500);
        Assert.False(p.HasExited, p.HasExited ? await stderr : "");
        Peers.Run("kill", ["-TERM", p.Id.ToString()], TimeSpan.FromSeconds(10));
        Assert.True(p.WaitForExit(60_000), "mld run did not stop after SIGTERM");
        string output = await stdout;
        Assert.Equal(143, p.ExitCode);
        long stoppedAt = long.Parse(System.Text.RegularExpressions.Regex.Match(output, @"interrupted by SIGTERM at step (\d+)").Groups[1].Value);
        var frames = ExtendedXyz.Read(Path.Combine(_dir, "term.extxyz"));
        Assert.Equal(Enumerable.Range(0, (int)(stoppedAt / 5) + 1).Select(k => (long?)(5 * k)), frames.Select(f => f.Step));
        var lines = File.ReadAllLines(log);
        Assert.Equal(stoppedAt / 5 * 5, long.Parse(lines[^1].Split(',')[0]));
    }

    [Fact]
    public void A_damaged_checkpoint_or_another_model_is_refused_with_one_line()
    {
        var first = Peers.Mld(Args("dmg", 20), TimeSpan.FromMinutes(3));
        Assert.True(first.ExitCode == 0, first.StdErr);
        var chk = Path.Combine(_dir, "dmg.chk");
        string[] Restart(string model, string checkpoint) => ["run", model, "--restart", checkpoint, "--steps", "40"];
        var bytes = File.ReadAllBytes(chk);
        var rng = new Random(3);
        for (int trial = 0; trial < 4; trial++)
        {
            var damaged = (byte[])bytes.Clone();
            for (int k = 0; k < 5; k++) damaged[rng.Next(damaged.Length)] ^= 0x5a;
            var path = Path.Combine(_dir, $"damaged{trial}.chk");
            File.WriteAllBytes(path, damaged);
            var r = Peers.Mld(Restart(_model, path), TimeSpan.FromMinutes(2));
            Assert.Equal(2, r.ExitCode);
            Assert.StartsWith($"error: {path}: ", r.StdErr.TrimEnd().Split('\n')[^1]);
            Assert.DoesNotContain("   at ", r.StdErr);
        }
        // The same model with one more byte is another file: its identity differs.
        var other = Path.Combine(_dir, "other.json");
        File.WriteAllText(other, File.ReadAllText(_model) + "\n");
        var refused = Peers.Mld(Restart(other, chk), TimeSpan.FromMinutes(2));
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("another model", refused.StdErr);
        var accepted = Peers.Mld(Restart(_model, chk), TimeSpan.FromMinutes(3));
        Assert.True(accepted.ExitCode == 0, accepted.StdErr);
    }

    [Fact]
    public void Checkpoint_every_without_a_checkpoint_file_writes_beside_the_trajectory()
    {
        var traj = Path.Combine(_dir, "b.extxyz");
        var r = Peers.Mld(["run", _model, "--from", Sample, "--steps", "20", "--trajectory", traj, "--checkpoint-every", "10"], TimeSpan.FromMinutes(3));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.True(File.Exists(traj + ".checkpoint"), r.StdOut);
    }

    [Fact]
    public void Diverging_dynamics_is_an_error_naming_the_step()
    {
        var r = Peers.Mld(["run", _model, "--from", Sample, "--steps", "2000", "--timestep", "50", "--thermostat", "none",
            "--trajectory", Path.Combine(_dir, "div.extxyz"), "--checkpoint-every", "1000"], TimeSpan.FromMinutes(3));
        Assert.Equal(2, r.ExitCode);
        var last = r.StdErr.TrimEnd().Split('\n')[^1];
        Assert.Matches(@"^error: step \d+: .*diverged", last);
        Assert.DoesNotContain("   at ", r.StdErr);
    }

    [Fact]
    public void The_thermostat_is_chosen_for_the_model_and_said_in_one_line()
    {
        var r = Peers.Mld(["run", _model, "--from", Sample, "--steps", "2"], TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("thermostat: Nosé–Hoover chain of 3, massive (one per atom), τ 10 fs", r.StdOut);
    }
}
