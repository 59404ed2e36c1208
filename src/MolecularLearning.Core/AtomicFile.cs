using System.Runtime.InteropServices;

namespace MolecularLearning.Core;

/// <summary>
/// Writes a file all at once or not at all: readers never see half a file, and nothing of the user's
/// that is not a regular file is replaced. A symlink is followed (its target is written, the link
/// stays); a directory, device node, pipe or socket at the path is refused. The temporary file beside
/// the target is removed on failure and on SIGINT/SIGTERM; a write under way then fails, while later writes
/// proceed (a program that handles the signal itself, as `mld run`, still writes its final checkpoint).
/// </summary>
public static class AtomicFile
{
    private static readonly object Gate = new();
    private static readonly HashSet<string> Pending = [];
    // Temporary files a signal removed: their writes must fail instead of renaming nothing into place.
    private static readonly HashSet<string> Abandoned = [];
    private static PosixSignalRegistration? _int, _term;

    /// <summary>
    /// Set by a program that handles SIGINT/SIGTERM itself and finishes its writes before exiting (`mld run`): the
    /// temporary files are then left to the normal path, so a signal cannot break a checkpoint being written.
    /// </summary>
    public static bool CallerHandlesSignals { get; set; }

    /// <summary>
    /// Writes through a temporary file in the target's folder, flushed to disk, and renames it into place
    /// when <paramref name="write"/> returns; on any failure the temporary file is deleted and an existing
    /// file at <paramref name="path"/> is left untouched.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        var target = Target(path);
        var dir = Path.GetDirectoryName(target) ?? ".";
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{path}: directory {dir} not found");
        var temp = Path.Combine(dir, $".{Path.GetFileName(target)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        Track(temp);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true); // the rename must not reach the disk before the data
            }
            if (!OperatingSystem.IsWindows() && File.Exists(target))
                File.SetUnixFileMode(temp, File.GetUnixFileMode(target)); // replacing keeps the permissions
            lock (Gate)
            {
                if (Abandoned.Remove(temp)) throw new OperationCanceledException($"{path}: interrupted; nothing written");
                File.Move(temp, target, overwrite: true);
                Pending.Remove(temp);
            }
        }
        catch
        {
            Forget(temp);
            throw;
        }
    }

    /// <summary>Writes text (UTF-8, no byte-order mark) atomically.</summary>
    public static void WriteText(string path, string text) => Write(path, s =>
    {
        using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true);
        w.Write(text);
    });

    /// <summary>
    /// The regular file a write to <paramref name="path"/> should replace: the path itself, or the final target
    /// of a symlink. Throws <see cref="DataException"/> for an empty path or a non-regular file.
    /// </summary>
    public static string Target(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new DataException("output path is empty");
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new DataException($"{path}: is a directory; give a file name");
        var info = new FileInfo(full);
        if (info.LinkTarget is not null)
        {
            FileSystemInfo? final;
            try { final = File.ResolveLinkTarget(full, returnFinalTarget: true); }
            catch (IOException e) { throw new DataException($"{path}: symlink cannot be followed ({e.Message})", e); }
            if (final is null) throw new DataException($"{path}: symlink cannot be followed");
            full = final.FullName;
            if (Directory.Exists(full)) throw new DataException($"{path}: is a symlink to the directory {full}; give a file name");
        }
        var kind = Kind(full);
        if (kind is not null)
            throw new DataException($"{path}: is a {kind}{(full != Path.GetFullPath(path) ? $" ({full})" : "")}, not a regular file; refusing to replace it");
        return full;
    }

    // S_IFMT values (the same on every Unix .NET supports; System.Native reports them unchanged).
    private const int TypeMask = 0xF000, Fifo = 0x1000, CharDevice = 0x2000, BlockDevice = 0x6000, Socket = 0xC000;

    /// <summary>Null for a regular file (or none), else what it is. .NET's FileSystemInfo does not tell devices from files.</summary>
    private static string? Kind(string full)
    {
        if (OperatingSystem.IsWindows()) return null;
        var status = new byte[256]; // System.Native's FileStatus: Flags (int32), Mode (int32), ... (under 200 bytes)
        if (SystemNativeStat(full, status) != 0) return null; // does not exist (yet): nothing to protect
        int mode = BitConverter.ToInt32(status, 4) & TypeMask;
        return mode switch
        {
            Fifo => "named pipe",
            CharDevice => "character device",
            BlockDevice => "block device",
            Socket => "socket",
            _ => null,
        };
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int SystemNativeStat(string path, byte[] status);

    private static void Track(string temp)
    {
        lock (Gate)
        {
            Pending.Add(temp);
            if (_int is null && !CallerHandlesSignals && !OperatingSystem.IsWindows() && !OperatingSystem.IsBrowser())
            {
                // The default action (terminate) still runs after this: only the temporary files go first.
                _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => RemoveAll());
                _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => RemoveAll());
                AppDomain.CurrentDomain.ProcessExit += (_, _) => RemoveAll();
            }
        }
    }

    private static void Forget(string temp)
    {
        lock (Gate)
        {
            Pending.Remove(temp);
            Abandoned.Remove(temp);
            TryDelete(temp);
        }
    }

    private static void RemoveAll()
    {
        if (CallerHandlesSignals) return;
        lock (Gate)
        {
            foreach (var t in Pending) { TryDelete(t); Abandoned.Add(t); }
            Pending.Clear();
        }
    }

    private static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
