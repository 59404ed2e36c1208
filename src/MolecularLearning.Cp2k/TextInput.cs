using System.Globalization;
using System.IO.Compression;
using System.Text;
using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>Opening text files that may be gzip-compressed, whatever their name says.</summary>
public static class TextInput
{
    /// <summary>Large buffers: ingest is bound by decompression and parsing, not by system calls.</summary>
    public const int BufferSize = 1 << 20;

    /// <summary>True when the file starts with the gzip magic bytes 1f 8b.</summary>
    public static bool IsGzip(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        Span<byte> magic = stackalloc byte[2];
        return fs.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }

    /// <summary>Opens a file for sequential reading, decompressing it when it is gzip (detected by content).</summary>
    public static Stream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: not found", path);
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan);
        Span<byte> magic = stackalloc byte[2];
        int n = fs.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        fs.Position = 0;
        return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(fs, CompressionMode.Decompress) : fs;
    }

    /// <summary>The whole (decompressed) text of a small file such as an input or restart.</summary>
    public static string ReadAllText(string path)
    {
        using var s = OpenRead(path);
        using var r = new StreamReader(s, Encoding.UTF8);
        try { return r.ReadToEnd(); }
        catch (InvalidDataException e) { throw DataException.At(path, null, "corrupt gzip data", e); }
    }
}

/// <summary>
/// Reads ASCII lines as byte spans from a (possibly compressed) stream without allocating per line.
/// A span returned by <see cref="TryReadLine"/> is valid until the next call.
/// </summary>
internal sealed class LineReader : IDisposable
{
    private readonly Stream _stream;
    private byte[] _buffer = new byte[TextInput.BufferSize];
    private int _start, _end;
    private bool _eof;

    public LineReader(string path)
    {
        Path = path;
        _stream = TextInput.OpenRead(path);
    }

    public string Path { get; }
    /// <summary>1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }
    /// <summary>True when the line last returned had no newline: the file ends inside it (a killed writer).</summary>
    public bool LastLineUnterminated { get; private set; }

    // Hot loop of ingest: compiled fully optimised at once rather than after tiering (a one-shot CLI never warms up).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            int nl = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                line = TrimCr(_buffer.AsSpan(_start, nl));
                _start += nl + 1;
                LineNumber++;
                return true;
            }
            if (_eof)
            {
                if (_start < _end)
                {
                    line = TrimCr(_buffer.AsSpan(_start, _end - _start));
                    _start = _end;
                    LineNumber++;
                    LastLineUnterminated = true;
                    return true;
                }
                line = default;
                return false;
            }
            Fill();
        }
    }

    /// <summary>True when nothing but blank lines remain.</summary>
    public bool AtEndIgnoringBlankLines()
    {
        while (true)
        {
            var rest = _buffer.AsSpan(_start, _end - _start);
            if (rest.IndexOfAnyExcept(Whitespace) >= 0) return false;
            if (_eof) return true;
            _start = _end; // only whitespace so far: drop it
            Fill();
        }
    }

    private static readonly System.Buffers.SearchValues<byte> Whitespace = System.Buffers.SearchValues.Create(" \t\r\n"u8);

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> s) => s.Length > 0 && s[^1] == '\r' ? s[..^1] : s;

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        int read;
        try { read = _stream.Read(_buffer, _end, _buffer.Length - _end); }
        catch (InvalidDataException e) { throw DataException.At(Path, null, "corrupt gzip data", e); }
        if (read == 0) _eof = true;
        _end += read;
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>Whitespace-separated fields and numbers in ASCII byte spans.</summary>
internal static class Fields
{
    /// <summary>Takes the next whitespace-separated field off <paramref name="rest"/>; false at the end of the line.</summary>
    // Hot loop of ingest: compiled fully optimised at once rather than after tiering (a one-shot CLI never warms up).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool Next(scoped ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> field)
    {
        int i = 0;
        while (i < rest.Length && (rest[i] == ' ' || rest[i] == '\t')) i++;
        if (i == rest.Length) { field = default; rest = default; return false; }
        int j = i;
        while (j < rest.Length && rest[j] != ' ' && rest[j] != '\t') j++;
        field = rest[i..j];
        rest = rest[j..];
        return true;
    }

    public static int Count(ReadOnlySpan<byte> line)
    {
        int n = 0;
        while (Next(ref line, out _)) n++;
        return n;
    }

    private static readonly double[] PowersOfTen =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

    /// <summary>
    /// Parses a number (Fortran D exponents accepted); false when the text is not a number at all.
    /// CP2K's fixed-point fields ("-0.0138279183") take a fast path: with at most 2^53 as the digit
    /// string's integer and at most 22 decimals, both are exact doubles and one IEEE division gives the
    /// correctly rounded value, the same double.Parse returns (Clinger's fast path). Anything else goes
    /// to double.Parse.
    /// </summary>
    // Hot loop of ingest: compiled fully optimised at once rather than after tiering (a one-shot CLI never warms up).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool TryParseDouble(ReadOnlySpan<byte> s, out double value)
    {
        int i = 0;
        bool negative = false;
        if (s.Length > 0 && (s[0] == '-' || s[0] == '+')) { negative = s[0] == '-'; i = 1; }
        ulong mantissa = 0;
        int decimals = 0, digits = 0;
        bool dot = false;
        for (; i < s.Length; i++)
        {
            uint digit = (uint)(s[i] - '0');
            if (digit <= 9)
            {
                mantissa = mantissa * 10 + digit;
                if (mantissa > 1UL << 53) goto General; // no longer exact in a double
                digits++;
                if (dot) decimals++;
            }
            else if (s[i] == '.' && !dot) dot = true;
            else goto General;
        }
        if (digits > 0 && decimals <= 22)
        {
            value = mantissa / PowersOfTen[decimals];
            if (negative) value = -value;
            return true;
        }
    General:
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value)) return true;
        // Fortran's short spellings of the non-finite values, so they are reported as such.
        var unsigned = s.Length > 0 && (s[0] == '-' || s[0] == '+') ? s[1..] : s;
        if (Ascii.EqualsIgnoreCase(unsigned, "inf"u8)) { value = s[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity; return true; }
        if (Ascii.EqualsIgnoreCase(unsigned, "nan"u8)) { value = double.NaN; return true; }
        int d = s.IndexOfAny((byte)'D', (byte)'d');
        if (d < 0 || s.Length > 64) return false;
        Span<byte> copy = stackalloc byte[s.Length];
        s.CopyTo(copy);
        copy[d] = (byte)'E';
        return double.TryParse(copy, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    public static string Text(ReadOnlySpan<byte> s) => Encoding.ASCII.GetString(s.Length > 40 ? s[..40] : s);

    /// <summary>A finite number or a <see cref="DataException"/> naming file, frame, line and field.</summary>
    /// <summary>
    /// A per-atom value (position Å, force eV/Å, velocity) times <paramref name="unit"/>, refused past ±1e8 like the
    /// evaluator's coordinates: such a number is a corrupt file, not a configuration.
    /// </summary>
    public static double AtomValue(ReadOnlySpan<byte> s, string path, int frame, long line, string what, double unit = 1)
    {
        double v = Number(s, path, frame, line, what) * unit;
        if (!(Math.Abs(v) <= NeighbourLimits.MaxCoordinate))
            throw DataException.At(path, frame, $"line {line}: {what} = '{Text(s)}' is beyond ±{NeighbourLimits.MaxCoordinate:G3} (in Å, eV/Å or Å/fs)");
        return v;
    }

    /// <summary>
    /// Refuses an atom count the file cannot hold before anything is allocated: every atom line takes at least
    /// 8 bytes ("H 0 0 0\n"), and gzip shrinks text at most ~1000×.
    /// </summary>
    public static void CheckAtomCount(long atoms, string path, int frame, long line)
    {
        long bytes;
        try { bytes = new FileInfo(path).Length; } catch (IOException) { return; }
        bool gz = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        long most = Math.Min(MaxAtoms, (gz ? 1100 : 1) * bytes / 8 + 1);
        if (atoms > most)
            throw DataException.At(path, frame, $"line {line}: the frame announces {atoms} atoms, more than the file can hold ({bytes} bytes{(gz ? ", compressed" : "")}; at most {most})");
    }

    /// <summary>Atoms one frame may have (the gRPC and i-PI limits are lower).</summary>
    public const long MaxAtoms = 100_000_000;

    public static double Number(ReadOnlySpan<byte> s, string path, int frame, long line, string what)
    {
        if (!TryParseDouble(s, out var v))
            throw DataException.At(path, frame, $"line {line}: {what} is not a number: '{Text(s)}'");
        if (!double.IsFinite(v))
            throw DataException.At(path, frame, $"line {line}: {what} is not finite: '{Text(s)}'");
        return v;
    }
}
