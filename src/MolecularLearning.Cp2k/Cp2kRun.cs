using System.Text.RegularExpressions;
using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>A CP2K MD run read into frames in internal units (Å, Å/fs, eV/Å, eV, fs).</summary>
public sealed class Cp2kTrajectory
{
    public required IReadOnlyList<Frame> Frames { get; init; }
    public required string Project { get; init; }
    public required string Directory { get; init; }
    public required Cell Cell { get; init; }
    /// <summary>P-1.ener converted to eV/K/s, null when the run has no .ener file.</summary>
    public Cp2kEnergies? Energies { get; init; }
    /// <summary>CP2K's own median seconds per MD step (the .ener file's last column).</summary>
    public double? MedianSecondsPerStep { get; init; }
    public double? TimestepFs { get; init; }
    /// <summary>The files that were read (positions, forces, velocities, energies, cell source).</summary>
    public required IReadOnlyList<string> Files { get; init; }
}

/// <summary>
/// Reads a CP2K MD run: P-pos-1.xyz, P-frc-1.xyz, P-vel-1.xyz, P-1.ener (each optionally gzip) and
/// the cell from P-1.restart or the input file. Frames are aligned by MD step: every positions frame
/// becomes a <see cref="Frame"/>, with forces, velocities and energy where that step has them.
/// </summary>
public static partial class Cp2kRun
{
    [GeneratedRegex(@"^(?<project>.+)-pos-1\.xyz(\.gz)?$")]
    private static partial Regex PositionsFileName();

    /// <summary>The directory and project of a run given as a directory, a project prefix (dir/P) or its positions file.</summary>
    public static (string Directory, string Project) Locate(string runDirectoryOrPrefix)
    {
        var full = Path.GetFullPath(runDirectoryOrPrefix);
        if (System.IO.Directory.Exists(full))
        {
            var projects = System.IO.Directory.EnumerateFiles(full)
                .Select(f => PositionsFileName().Match(Path.GetFileName(f)))
                .Where(m => m.Success).Select(m => m.Groups["project"].Value)
                .Distinct().Order(StringComparer.Ordinal).ToList();
            return projects.Count switch
            {
                1 => (full, projects[0]),
                0 => throw DataException.At(runDirectoryOrPrefix, null, "no CP2K trajectory here (no *-pos-1.xyz or *-pos-1.xyz.gz)"),
                _ => throw DataException.At(runDirectoryOrPrefix, null,
                    $"several CP2K projects here ({string.Join(", ", projects)}): give the project prefix, e.g. {Path.Combine(runDirectoryOrPrefix, projects[0])}"),
            };
        }
        var dir = Path.GetDirectoryName(full) ?? ".";
        var name = Path.GetFileName(full);
        var m = PositionsFileName().Match(name);
        if (m.Success && File.Exists(full)) return (dir, m.Groups["project"].Value);
        if (!System.IO.Directory.Exists(dir)) throw new DirectoryNotFoundException($"{runDirectoryOrPrefix}: directory {dir} not found");
        return (dir, name);
    }

    /// <summary>Reads the run. Warnings (a dropped truncated last frame, a missing optional file) go to <paramref name="warn"/>.</summary>
    public static Cp2kTrajectory Read(string runDirectoryOrPrefix, Action<string>? warn = null)
    {
        var (dir, project) = Locate(runDirectoryOrPrefix);
        var prefix = Path.Combine(dir, project);
        var posPath = Existing(prefix + "-pos-1.xyz")
            ?? throw new FileNotFoundException($"{prefix}-pos-1.xyz: not found (nor .gz)", prefix + "-pos-1.xyz");
        var frcPath = Existing(prefix + "-frc-1.xyz");
        var velPath = Existing(prefix + "-vel-1.xyz");
        var enerPath = Existing(prefix + "-1.ener");
        if (frcPath is null) warn?.Invoke($"{prefix}-frc-1.xyz: not found, frames have no forces");
        if (velPath is null) warn?.Invoke($"{prefix}-vel-1.xyz: not found, frames have no velocities");

        // Warnings from worker threads are collected and replayed in a fixed order.
        var posWarnings = new List<string>(); var frcWarnings = new List<string>();
        var velWarnings = new List<string>(); var enerWarnings = new List<string>();
        var kinds = Cp2kKinds.Find(dir, project);
        var pos = Task.Run(() => Cp2kXyzFile.Read(posPath, 1.0, posWarnings.Add, kinds));
        var frc = frcPath is null ? null : Task.Run(() => Cp2kXyzFile.Read(frcPath, Units.HartreePerBohrInEvPerAngstrom, frcWarnings.Add, kinds));
        var vel = velPath is null ? null : Task.Run(() => Cp2kXyzFile.Read(velPath, Units.AtomicVelocityInAngstromPerFs, velWarnings.Add, kinds));
        var ener = enerPath is null ? null : Task.Run(() => Cp2kEnergies.Read(enerPath, enerWarnings.Add));
        (Cell Cell, string Source)? cellFound = null;
        Dictionary<long, Cell>? cellOfStep = null;
        var cellFile = Existing(prefix + "-1.cell");
        Exception? cellError = null;
        try
        {
            // A run whose cell moves (NPT) prints it per step in P-1.cell; otherwise the cell is fixed.
            if (cellFile is not null)
            {
                cellOfStep = ReadCellFile(cellFile);
                cellFound = (cellOfStep.Values.First(), cellFile);
            }
            else cellFound = FindCell(dir, project);
        }
        catch (Exception e) { cellError = e; } // reported after the readers finish, so no thread is left running

        Task.WhenAll(new Task?[] { pos, frc, vel, ener }.OfType<Task>()).ContinueWith(_ => { }).Wait();
        var positions = Result(pos);
        var forces = frc is null ? null : Result(frc);
        var velocities = vel is null ? null : Result(vel);
        var energies = ener is null ? null : Result(ener);
        foreach (var w in kinds.Warnings.Concat(posWarnings).Concat(frcWarnings).Concat(velWarnings).Concat(enerWarnings)) warn?.Invoke(w);
        if (cellError is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(cellError).Throw();
        var (cell, cellPath) = cellFound!.Value;

        if (forces is not null) CheckSameAtoms(positions, forces);
        if (velocities is not null) CheckSameAtoms(positions, velocities);

        var frcRow = RowsByStep(forces, warn);
        var velRow = RowsByStep(velocities, warn);
        var posRow = RowsByStep(positions, warn);
        var steps = posRow.Keys.Order().ToArray();
        var frames = new Frame[steps.Length];
        var species = positions.Species;
        for (int k = 0; k < steps.Length; k++)
        {
            long step = steps[k];
            int p = posRow[step];
            int enerRow = energies?.RowOf(step) ?? -1;
            var frameCell = cell;
            if (cellOfStep is not null && !cellOfStep.TryGetValue(step, out frameCell))
                throw DataException.At(cellFile, null, $"no cell for step {step} (printed in {Path.GetFileName(positions.Path)})");
            var frame = new Frame(species, positions.Values[p], frameCell) { Step = step };
            frame.Time = positions.Times[p] ?? (enerRow >= 0 ? energies!.Time[enerRow] : null);
            frame.Energy = positions.HeaderEnergiesHartree[p] * Units.HartreeInEv ?? (enerRow >= 0 ? energies!.Potential[enerRow] : null);
            if (frcRow.TryGetValue(step, out var f)) frame.Forces = forces!.Values[f];
            if (velRow.TryGetValue(step, out var v)) frame.Velocities = velocities!.Values[v];
            frames[k] = frame;
        }

        if (energies is not null) CheckKineticEnergy(frames, energies, enerPath!, kinds, warn);
        WarnMissing(frames, forces, f => f.Forces is not null, "forces", warn);
        WarnMissing(frames, velocities, f => f.Velocities is not null, "velocities", warn);

        var files = new List<string> { posPath };
        if (frcPath is not null) files.Add(frcPath);
        if (velPath is not null) files.Add(velPath);
        if (enerPath is not null) files.Add(enerPath);
        files.Add(cellPath);
        double? dt = energies?.TimestepFs();
        if (dt is null && frames.Length >= 2 && frames[0].Time is { } t0 && frames[1].Time is { } t1)
            dt = (t1 - t0) / (frames[1].Step!.Value - frames[0].Step!.Value);
        return new Cp2kTrajectory
        {
            Frames = frames,
            Project = project,
            Directory = dir,
            Cell = cell,
            Energies = energies,
            MedianSecondsPerStep = energies?.MedianSecondsPerStep(),
            TimestepFs = dt,
            Files = files,
        };
    }

    /// <summary>The cell from P-1.restart, else from an input file naming the project (or md.inp).</summary>
    public static (Cell Cell, string Source) FindCell(string dir, string project)
    {
        var candidates = Cp2kInput.InputCandidates(dir, project).ToList();
        foreach (var input in candidates)
            if (Cp2kInput.ReadCell(input) is { } cell) return (cell, input);
        var restart = Existing(Path.Combine(dir, project + "-1.restart"));
        var inputs = candidates.Where(c => c != restart).ToList();
        var looked = restart is not null ? $"{Path.GetFileName(restart)} has no &CELL" : $"no {project}-1.restart";
        looked += inputs.Count == 0 ? $", no input (*.inp) names project {project}" : $", {string.Join(", ", inputs.Select(Path.GetFileName))} has no &CELL";
        throw DataException.At(Path.Combine(dir, project), null, $"cell not found: {looked}");
    }

    /// <summary>
    /// CP2K's kinetic energy (.ener) against ½ Σ m v² of the printed velocities with the masses read: they agree to ~1e-7
    /// on CP2K's own runs, so a gap means the masses are not CP2K's (an input with &amp;KIND MASS that was not found or
    /// not readable), and every temperature and acceleration from the run would be off by it. Warned, not refused.
    /// </summary>
    private static void CheckKineticEnergy(Frame[] frames, Cp2kEnergies energies, string enerPath, Cp2kKinds kinds, Action<string>? warn)
    {
        foreach (var frame in frames)
        {
            int row = energies.RowOf(frame.Step!.Value);
            if (frame.Velocities is not { } v || row < 0 || !(energies.Kinetic[row] > 0)) continue;
            double twice = 0;
            for (int i = 0; i < frame.AtomCount; i++)
                twice += frame.Species[i].Mass * (v[3 * i] * v[3 * i] + v[3 * i + 1] * v[3 * i + 1] + v[3 * i + 2] * v[3 * i + 2]);
            double ratio = energies.Kinetic[row] / (0.5 * twice * Units.AmuAngstrom2PerFs2InEv);
            if (Math.Abs(ratio - 1) <= KineticTolerance) return; // one printed step decides: CP2K prints both from the same state
            var masses = string.Join(", ", frame.Species.DistinctBy(s => (s.Symbol, s.Mass)).Select(s => $"{s.Symbol} {NumberText.Short(s.Mass, 5)}"));
            var why = kinds.Source is null
                ? "no input with &KIND sections was found beside the trajectory (put the run's input or its restart there)"
                : $"the &KIND sections of {Path.GetFileName(kinds.Source)} do not give the masses CP2K used";
            warn?.Invoke($"{Path.GetFileName(enerPath)}: step {frame.Step}: CP2K's kinetic energy is {NumberText.Short(ratio, 4)} times ½ Σ m v² of the velocities " +
                         $"with the masses read (amu: {masses}): {why}, so temperatures and accelerations from this run will be off");
            return;
        }
    }

    /// <summary>Relative gap between CP2K's and our kinetic energy above which the masses are taken to differ (CP2K's runs agree to ~1e-7).</summary>
    private const double KineticTolerance = 1e-4;

    /// <summary>P-1.cell: "step time Ax Ay Az Bx By Bz Cx Cy Cz volume" per printed step (Å).</summary>
    public static Dictionary<long, Cell> ReadCellFile(string path)
    {
        var cells = new Dictionary<long, Cell>();
        using var reader = new LineReader(path);
        int row = 0;
        Span<double> h = stackalloc double[9];
        while (reader.TryReadLine(out var line))
        {
            var rest = line.Trim(" \t"u8);
            if (rest.IsEmpty || rest[0] == '#') continue;
            row++;
            if (!Fields.Next(ref rest, out var stepField) || !long.TryParse(stepField, out long step))
                throw DataException.At(path, row, $"line {reader.LineNumber}: expected a step number, found '{Fields.Text(line)}'");
            int n = -1; // the time column is skipped
            while (n < 9 && Fields.Next(ref rest, out var f))
            {
                if (n >= 0) h[n] = Fields.Number(f, path, row, reader.LineNumber, "cell vector component");
                n++;
            }
            if (n < 9) throw DataException.At(path, row, $"line {reader.LineNumber}: expected step, time and 9 cell vector components");
            try { cells[step] = new Cell(h); }
            catch (DataException e) { throw DataException.At(path, row, $"line {reader.LineNumber}: {e.Message}", e); }
        }
        if (cells.Count == 0) throw DataException.At(path, null, "empty file: no cell rows");
        return cells;
    }

    /// <summary>The path itself or its .gz sibling, whichever exists (content decides compression, not the name).</summary>
    private static string? Existing(string path) => File.Exists(path) ? path : File.Exists(path + ".gz") ? path + ".gz" : null;

    private static T Result<T>(Task<T> task)
    {
        if (task.IsFaulted) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(task.Exception!.InnerException!).Throw();
        return task.Result;
    }

    /// <summary>A forces (velocities) file shorter than the positions leaves frames without them: say how many, and which steps.</summary>
    private static void WarnMissing(Frame[] frames, Cp2kXyzFile? file, Func<Frame, bool> has, string what, Action<string>? warn)
    {
        if (file is null) return;
        var missing = frames.Where(f => !has(f)).Select(f => f.Step!.Value).ToList();
        if (missing.Count == 0) return;
        warn?.Invoke($"{Path.GetFileName(file.Path)}: {what} for {frames.Length - missing.Count} of {frames.Length} frames; "
            + (missing.Count == 1 ? $"1 frame ({DescribeSteps(missing)}) has" : $"{missing.Count} frames ({DescribeSteps(missing)}) have") + $" no {what}");
    }

    /// <summary>
    /// Ascending steps as they are: "step 3", "steps 2..5" (every step), "every 2 steps from 1 to 199" (a stride),
    /// else the first few and the last ("steps 1, 2, 5, …, 199"); "1..199" alone would claim every step between.
    /// </summary>
    internal static string DescribeSteps(IReadOnlyList<long> steps)
    {
        if (steps.Count == 1) return $"step {steps[0]}";
        long stride = steps[1] - steps[0];
        bool regular = true;
        for (int i = 2; i < steps.Count && regular; i++) regular = steps[i] - steps[i - 1] == stride;
        if (regular && stride == 1) return $"steps {steps[0]}..{steps[^1]}";
        if (regular && steps.Count > 2) return $"every {stride} steps from {steps[0]} to {steps[^1]}";
        if (steps.Count <= 4) return "steps " + string.Join(", ", steps);
        return $"steps {steps[0]}, {steps[1]}, {steps[2]}, …, {steps[^1]}";
    }

    private static void CheckSameAtoms(Cp2kXyzFile positions, Cp2kXyzFile other)
    {
        if (other.Species.Length != positions.Species.Length)
            throw DataException.At(other.Path, 1, $"{other.Species.Length} atoms, the positions file {Path.GetFileName(positions.Path)} has {positions.Species.Length}");
        for (int i = 0; i < positions.Species.Length; i++)
            if (other.Species[i] != positions.Species[i])
                throw DataException.At(other.Path, 1,
                    $"atom {i + 1} is {other.Species[i]}, in the positions file {Path.GetFileName(positions.Path)} it is {positions.Species[i]}");
    }

    /// <summary>Row of each step; a restarted run appends and repeats steps, and the later row wins.</summary>
    private static Dictionary<long, int> RowsByStep(Cp2kXyzFile? file, Action<string>? warn)
    {
        var rows = new Dictionary<long, int>();
        if (file is null) return rows;
        int repeated = 0;
        for (int k = 0; k < file.Count; k++)
            if (!rows.TryAdd(file.Steps[k], k)) { rows[file.Steps[k]] = k; repeated++; }
        if (repeated > 0) warn?.Invoke($"{file.Path}: {repeated} steps appear more than once (a restarted run?), the later frames are used");
        return rows;
    }
}
