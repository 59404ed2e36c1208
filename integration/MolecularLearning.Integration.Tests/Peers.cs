using System.Diagnostics;

namespace MolecularLearning.Integration.Tests;

/// <summary>Runs the external peers (Debian's python3 with ASE/grpcio, cp2k, lmp, node, chromium, mld).</summary>
public static class Peers
{
    /// <summary>Debian's interpreter: python3-ase and python3-grpcio live there, not in a pyenv python3 on PATH.</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>The repository root (the folder holding MolecularLearning.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The built mld.dll next to this test assembly (the Cli project is referenced).</summary>
    public static string MldDll => Path.Combine(AppContext.BaseDirectory, "mld.dll");

    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>Runs a program to completion with a time limit; kills the whole tree on timeout.</summary>
    public static Result Run(string file, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null,
        IDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        if (environment is not null) foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs `mld` (dotnet mld.dll ...).</summary>
    public static Result Mld(IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null)
        => Run("dotnet", new[] { MldDll }.Concat(args), timeout, workingDirectory);

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MolecularLearning.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("MolecularLearning.sln not found above the test assembly");
    }
}
