using System.Text.Json;
using MolecularLearning.Cp2k.Tests;
using static MolecularLearning.Cp2k.Tests.SyntheticRun;

namespace MolecularLearning.Cli.Tests;

/// <summary>
/// `mld ingest` as a user meets it: the built mld.dll run as a process. Bad input gives exit code 2,
/// exactly one line "error: FILE: frame N: PROBLEM" on stderr, and no output file (not even a temporary one).
/// </summary>
public sealed class IngestVerbTests : IDisposable
{
    private readonly SyntheticRun _run = new();
    private readonly string _outDir = Path.Combine(Path.GetTempPath(), "mld-ingest-out-" + Guid.NewGuid().ToString("N"));

    public IngestVerbTests() => Directory.CreateDirectory(_outDir);

    public void Dispose()
    {
        _run.Dispose();
        Directory.Delete(_outDir, recursive: true);
    }

    private string Output => Path.Combine(_outDir, "data.extxyz");

    private static MldProcess.Result Mld(params string[] args) => MldProcess.Run(TimeSpan.FromSeconds(60), args);

    /// <summary>Runs ingest on the broken run and checks the contract; returns the error line.</summary>
    private string FailsWithOneLine(string pattern)
    {
        var r = Mld("ingest", _run.Directory, "-o", Output);
        Assert.Equal(2, r.ExitCode);
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("error: ", line);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(line, pattern), line);
        Assert.Empty(Directory.GetFileSystemEntries(_outDir)); // no output, no temporary file
        return line;
    }

    [Fact]
    public void Good_run_writes_the_dataset_and_a_json_summary()
    {
        _run.WriteComplete(steps: 4);
        var r = Mld("ingest", _run.Directory, "-o", Output, "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.StdErr);
        using var doc = JsonDocument.Parse(r.StdOut);
        var root = doc.RootElement;
        Assert.Equal(4, root.GetProperty("frames").GetInt32());
        Assert.Equal(2, root.GetProperty("atoms").GetProperty("O").GetInt32());
        Assert.Equal(4, root.GetProperty("atoms").GetProperty("H").GetInt32());
        Assert.Equal(1.5, root.GetProperty("timeSpanFs").GetDouble(), 12);
        Assert.Equal(301.5, root.GetProperty("meanTemperatureEnerK").GetDouble(), 9); // .ener column 300 + step
        Assert.True(root.GetProperty("meanTemperatureK").GetDouble() > 0);
        Assert.True(root.GetProperty("forceRmsEvPerAngstrom").GetProperty("H").GetDouble() > 0);
        Assert.Equal(4, MolecularLearning.Cp2k.ExtendedXyz.Read(Output).Count);
    }

    [Fact]
    public void Table_summary_names_the_quantities()
    {
        _run.WriteComplete(steps: 2);
        var r = Mld("ingest", _run.Prefix, "-o", Output);
        Assert.Equal(0, r.ExitCode);
        foreach (var word in new[] { "frames", "time span (fs)", "atoms per species", "mean temperature (K)", "force RMS (eV/Å)", "O 2, H 4" })
            Assert.Contains(word, r.StdOut);
    }

    [Fact]
    public void Truncated_last_frame_is_a_warning_not_an_error()
    {
        _run.WriteComplete(steps: 3);
        var text = _run.Xyz(Kind.Positions, [0, 1, 2]);
        _run.Write("-pos-1.xyz", text[..^25]);
        var r = Mld("ingest", _run.Directory, "-o", Output, "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("warning: ", Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal(2, MolecularLearning.Cp2k.ExtendedXyz.Read(Output).Count);
    }

    [Fact]
    public void Missing_file()
    {
        _run.WriteComplete(steps: 2);
        _run.Delete("-pos-1.xyz");
        var r = Mld("ingest", _run.Prefix, "-o", Output);
        Assert.Equal(2, r.ExitCode);
        Assert.Matches(@"^error: .*P-pos-1\.xyz: not found", Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Empty(Directory.GetFileSystemEntries(_outDir));
    }

    [Fact]
    public void Empty_file()
    {
        _run.WriteComplete(steps: 2);
        _run.Write("-vel-1.xyz", "");
        FailsWithOneLine(@"P-vel-1\.xyz: empty file");
    }

    [Fact]
    public void Truncated_frame_in_the_middle()
    {
        _run.WriteComplete(steps: 3);
        var lines = _run.Xyz(Kind.Forces, [0, 1, 2]).Split('\n').ToList();
        lines.RemoveAt(15); // step 1 loses its last atom
        _run.Write("-frc-1.xyz", string.Join('\n', lines));
        FailsWithOneLine(@"P-frc-1\.xyz: frame 2: line 16: frame cut short");
    }

    [Fact]
    public void Atom_count_differs()
    {
        _run.WriteComplete(steps: 2);
        _run.Write("-frc-1.xyz", _run.Xyz(Kind.Forces, [0, 1], symbols: ["O", "H", "H", "O", "H"]));
        FailsWithOneLine(@"P-frc-1\.xyz: frame 1: 5 atoms, the positions file P-pos-1\.xyz has 6$");
    }

    [Fact]
    public void Species_differ()
    {
        _run.WriteComplete(steps: 2);
        _run.Write("-frc-1.xyz", _run.Xyz(Kind.Forces, [0, 1], symbols: ["H", "O", "H", "O", "H", "H"]));
        FailsWithOneLine(@"P-frc-1\.xyz: frame 1: atom 1 is H, in the positions file P-pos-1\.xyz it is O$");
    }

    [Fact]
    public void Non_numeric_field()
    {
        _run.WriteComplete(steps: 2);
        _run.Write("-pos-1.xyz", _run.Xyz(Kind.Positions, [0, 1]).Replace("2.1010000000", "2.10l0000000"));
        FailsWithOneLine(@"P-pos-1\.xyz: frame 2: line 12: y is not a number: '2\.10l0000000'$");
    }

    [Fact]
    public void Not_a_number_or_infinite()
    {
        _run.WriteComplete(steps: 2);
        _run.Write("-vel-1.xyz", _run.Xyz(Kind.Velocities, [0, 1]).Replace("-0.0002500000", "          NaN"));
        FailsWithOneLine(@"P-vel-1\.xyz: frame 1: line 3: x is not finite: 'NaN'$");
    }

    [Fact]
    public void Cell_not_found()
    {
        _run.WriteComplete(steps: 2);
        _run.Delete("-1.restart");
        FailsWithOneLine(@"cell not found");
    }

    [Fact]
    public void A_failed_ingest_keeps_the_previous_output()
    {
        _run.WriteComplete(steps: 2);
        File.WriteAllText(Output, "previous");
        _run.Write("-pos-1.xyz", "garbage\n");
        var r = Mld("ingest", _run.Directory, "-o", Output);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("previous", File.ReadAllText(Output));
        Assert.Single(Directory.GetFileSystemEntries(_outDir));
    }

    [SkippableFact]
    public void A_device_node_as_output_is_refused_and_left_alone()
    {
        // Issue 17 item 2: as root, -o /dev/null replaced the device with a regular file. A private null device
        // (mknod c 1 3) stands in for /dev/null, so a regression cannot damage the machine's own.
        Skip.If(OperatingSystem.IsWindows(), "POSIX only");
        _run.WriteComplete(steps: 2);
        var device = Path.Combine(_outDir, "null");
        using (var mknod = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("mknod", [device, "c", "1", "3"]) { UseShellExecute = false, RedirectStandardError = true }))
        {
            mknod!.WaitForExit();
            Skip.If(mknod.ExitCode != 0, "mknod needs root");
        }
        var link = Path.Combine(_outDir, "link.extxyz");
        File.CreateSymbolicLink(link, device);
        foreach (var output in new[] { device, link })
        {
            var r = Mld("ingest", _run.Directory, "-o", output);
            Assert.Equal(2, r.ExitCode);
            var line = Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("is a character device", line);
        }
        Assert.Equal(2, Directory.GetFileSystemEntries(_outDir).Length);
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal(0, new FileInfo(device).Length);
    }

    [Fact]
    public void An_empty_output_path_is_one_line()
    {
        _run.WriteComplete(steps: 2);
        var r = Mld("ingest", _run.Directory, "-o", "");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("error: output path is empty", r.StdErr.Trim());
    }

    [SkippableFact]
    public void Sigterm_while_writing_leaves_no_temporary_file()
    {
        // Issue 17 item 7: SIGTERM/SIGINT during ingest left a 20-53 MB .tmp beside the output.
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals");
        var all = Enumerable.Range(0, 40_000).Select(s => (long)s).ToArray();
        _run.Write("-pos-1.xyz", _run.Xyz(Kind.Positions, all));
        _run.Write("-frc-1.xyz", _run.Xyz(Kind.Forces, all));
        _run.Write("-1.restart", RestartCell);
        File.WriteAllText(Output, "previous");
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "mld.dll"), "ingest", _run.Directory, "-o", Output }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool sawTemp = false;
        while (!p.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (Directory.GetFiles(_outDir, "*.tmp").Length > 0) { sawTemp = true; break; }
            Thread.Sleep(1);
        }
        Skip.IfNot(sawTemp, "ingest finished before its temporary file was seen");
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        Assert.True(p.WaitForExit(30_000), "ingest did not stop after SIGTERM");
        Assert.Empty(Directory.GetFiles(_outDir, "*.tmp"));
        var text = File.ReadAllText(Output);
        Assert.True(text == "previous" || MolecularLearning.Cp2k.ExtendedXyz.Read(Output).Count == all.Length, "the output is neither the previous file nor the whole dataset");
    }
}
