using System.Diagnostics;
using System.Text;
using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>One labelled frame: the frame with CP2K's forces (eV/Å) and energy (eV), and CP2K's wall time.</summary>
public sealed record Cp2kLabel(Frame Frame, double Seconds);

/// <summary>
/// Labels frames with CP2K: one single-point ENERGY_FORCE run per frame from the user's input
/// (<see cref="Cp2kSinglePointInput"/>), in its own folder under <see cref="WorkDirectory"/>, niced so
/// it yields the cores to interactive work. The folder is removed after a successful run unless
/// <see cref="KeepFiles"/>; after a failure it stays and the error names it.
/// </summary>
public sealed class Cp2kSinglePoint
{
    /// <summary>The executables looked for on PATH, in order (the Debian package installs cp2k → cp2k.psmp).</summary>
    public static readonly string[] ExecutableNames = ["cp2k", "cp2k.ssmp", "cp2k.psmp", "cp2k.sopt", "cp2k.popt"];

    private readonly string _inputText;
    private readonly Cell? _inputCell;

    public Cp2kSinglePoint(string inputPath, string workDirectory, string? executable = null)
    {
        InputPath = Path.GetFullPath(inputPath);
        if (!File.Exists(InputPath)) throw new FileNotFoundException($"{inputPath}: not found", inputPath);
        _inputText = TextInput.ReadAllText(InputPath);
        _inputCell = Cp2kInput.ReadCell(InputPath);
        WorkDirectory = Path.GetFullPath(workDirectory);
        Executable = executable is null
            ? FindExecutable() ?? throw new DataException($"CP2K not found on PATH (looked for {string.Join(", ", ExecutableNames)}); give its path with --cp2k")
            : executable.Contains(Path.DirectorySeparatorChar) ? (File.Exists(executable) ? Path.GetFullPath(executable) : throw new DataException($"{executable}: CP2K executable not found"))
            : FindOnPath(executable) ?? throw new DataException($"{executable}: CP2K executable not found on PATH");
    }

    public string InputPath { get; }
    public string WorkDirectory { get; }
    public string Executable { get; }
    /// <summary>OMP_NUM_THREADS for CP2K; 0 leaves the environment's.</summary>
    public int Threads { get; init; }
    /// <summary>Run CP2K under nice(1) (when nice exists).</summary>
    public bool Nice { get; init; } = true;
    public bool KeepFiles { get; init; }

    /// <summary>The first of <see cref="ExecutableNames"/> on PATH, or null.</summary>
    public static string? FindExecutable()
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in ExecutableNames)
            foreach (var dir in dirs)
            {
                var candidate = Path.Combine(dir, name);
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    /// <summary>
    /// Runs CP2K on <paramref name="frame"/> in the folder <paramref name="name"/>. <paramref name="what"/> names the
    /// frame in errors (e.g. "round 1, 350 K, step 1200"). Throws <see cref="DataException"/> naming the frame and
    /// CP2K's output file when CP2K fails or prints no forces.
    /// </summary>
    public Cp2kLabel Label(Frame frame, string name, string what, CancellationToken cancellation = default)
    {
        if (frame.Cell is { } cell && _inputCell is { } inputCell && !SameCell(cell, inputCell))
            throw new DataException($"{what}: its cell differs from the cell of {InputPath}; a single point would use the input's");
        var dir = Path.Combine(WorkDirectory, name);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        const string project = "label", forcesFile = "forces.txt";
        var input = Cp2kSinglePointInput.Rewrite(_inputText, InputPath, Path.GetDirectoryName(InputPath)!, frame, project, forcesFile);
        var inputPath = Path.Combine(dir, "single-point.inp");
        var outputPath = Path.Combine(dir, "single-point.out");
        File.WriteAllText(inputPath, input);

        var psi = new ProcessStartInfo
        {
            WorkingDirectory = dir, UseShellExecute = false,
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        var nice = Nice ? FindOnPath("nice") : null;
        if (nice is not null) { psi.FileName = nice; psi.ArgumentList.Add("-n"); psi.ArgumentList.Add("10"); psi.ArgumentList.Add(Executable); }
        else psi.FileName = Executable;
        psi.ArgumentList.Add("-i"); psi.ArgumentList.Add(inputPath);
        psi.ArgumentList.Add("-o"); psi.ArgumentList.Add(outputPath);
        if (Threads > 0) psi.Environment["OMP_NUM_THREADS"] = Threads.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var clock = Stopwatch.StartNew();
        Process process;
        try { process = Process.Start(psi) ?? throw new DataException($"{what}: CP2K ({Executable}) did not start"); }
        catch (System.ComponentModel.Win32Exception e) { throw new DataException($"{what}: cannot start CP2K ({Executable}): {e.Message}", e); }
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(cancellation);
            var stderr = process.StandardError.ReadToEndAsync(cancellation);
            try { process.WaitForExitAsync(cancellation).GetAwaiter().GetResult(); }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var forcesPath = Path.Combine(dir, forcesFile);
            if (process.ExitCode != 0 || !File.Exists(forcesPath))
            {
                var why = Abort(outputPath) ?? LastLine(stderr.Result) ?? LastLine(stdout.Result) ?? "no message";
                var status = process.ExitCode != 0 ? $"exit code {process.ExitCode}" : "no forces printed";
                throw new DataException($"{what}: CP2K failed ({status}): {why}; see {outputPath}");
            }
            (Species[] species, double[] forces) table;
            try { table = Cp2kForceTable.Read(forcesPath); }
            catch (DataException e) { throw new DataException($"{what}: {e.Message}; see {outputPath}", e); }
            if (!table.species.AsSpan().SequenceEqual(frame.Species))
                throw new DataException($"{what}: CP2K's forces are for {table.species.Length} atoms in another order than the frame's {frame.AtomCount}; see {outputPath}");
            var labelled = new Frame(frame.Species, (double[])frame.Positions.Clone(), frame.Cell)
            {
                Forces = table.forces,
                Energy = Cp2kForceTable.ReadEnergy(outputPath),
                Step = frame.Step,
                Time = frame.Time,
            };
            if (!KeepFiles) Directory.Delete(dir, recursive: true);
            return new Cp2kLabel(labelled, seconds);
        }
    }

    private static bool SameCell(Cell a, Cell b)
    {
        var x = a.Matrix; var y = b.Matrix;
        for (int k = 0; k < 9; k++) if (Math.Abs(x[k] - y[k]) > 1e-6) return false;
        return true;
    }

    /// <summary>The message of CP2K's [ABORT] box (the text right of the ASCII art), or null.</summary>
    private static string? Abort(string outputPath)
    {
        if (!File.Exists(outputPath)) return null;
        var lines = File.ReadAllLines(outputPath);
        int at = Array.FindLastIndex(lines, l => l.Contains("[ABORT]", StringComparison.Ordinal));
        if (at < 0) return null;
        var message = new StringBuilder();
        for (int k = at + 1; k < lines.Length && k < at + 8; k++)
        {
            var l = lines[k].Trim().Trim('*');
            if (l.Length > 18) l = l[18..];
            l = l.Trim();
            if (l.Length == 0 || l.Contains(".F:", StringComparison.Ordinal)) continue;
            if (message.Length > 0) message.Append(' ');
            message.Append(l);
        }
        return message.Length > 0 ? message.ToString() : null;
    }

    private static string? LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
