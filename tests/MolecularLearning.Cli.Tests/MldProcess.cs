using System.Diagnostics;

namespace MolecularLearning.Cli.Tests;

/// <summary>The built mld.dll run as a user runs it: a separate process, its exit code and both streams.</summary>
internal static class MldProcess
{
    /// <summary>tests/data/water32-pbe-sample.</summary>
    public static string PbeSample() => RepositoryPath("tests/data/water32-pbe-sample");

    /// <summary>A file or folder of the repository (<paramref name="relative"/> to its root), found from the test binary's folder upwards.</summary>
    public static string RepositoryPath(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MolecularLearning.sln")))
                return Path.Combine(dir.FullName, relative);
        throw new DirectoryNotFoundException($"the repository holding {relative}");
    }

    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>A refused command line: exit code 2 and one line on stderr, starting "error:"; returns the line.</summary>
    public static string OneErrorLine(int code, string err)
    {
        Assert.Equal(2, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error:", line);
        return line;
    }

    public static Result Run(TimeSpan timeout, params string[] args) => Run(timeout, new Dictionary<string, string>(), args);

    /// <summary>As <see cref="Run(TimeSpan, string[])"/>, with these environment variables added (e.g. the runtime's DOTNET_*).</summary>
    public static Result Run(TimeSpan timeout, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mld.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"mld {string.Join(' ', args)} hung"); }
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
