using System.Globalization;
using System.IO.Compression;
using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>
/// Streams frames to an extended XYZ file (for trajectories); see <see cref="ExtendedXyz"/> for the format.
/// Formats numbers straight into a byte buffer: writing a dataset is as fast as reading one.
/// </summary>
public sealed class ExtendedXyzWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly Stream? _underlying;
    private readonly bool _leaveOpen;
    private byte[] _buffer;
    private int _used;

    /// <summary>Creates (or truncates) the file; a path ending in .gz is compressed.</summary>
    public ExtendedXyzWriter(string path)
        : this(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16), leaveOpen: false,
               compress: path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
    {
    }

    public ExtendedXyzWriter(Stream stream, bool leaveOpen = false, bool compress = false)
        : this(stream, leaveOpen, compress, 1 << 20)
    {
    }

    internal ExtendedXyzWriter(Stream stream, bool leaveOpen, bool compress = false, int bufferSize = 1 << 20)
    {
        _buffer = new byte[Math.Max(bufferSize, 4096)];
        _leaveOpen = leaveOpen;
        if (compress) { _underlying = stream; _stream = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true); }
        else _stream = stream;
    }

    // Hot loop of ingest: compiled fully optimised at once rather than after tiering (a one-shot CLI never warms up).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Write(Frame frame)
    {
        int n = frame.AtomCount;
        Ensure(1024);
        Int(n);
        Byte((byte)'\n');
        if (frame.Cell is { } cell)
        {
            Text("Lattice=\""u8);
            var h = cell.Matrix;
            for (int k = 0; k < 9; k++) { if (k > 0) Byte((byte)' '); Double(h[k]); }
            Text("\" "u8);
        }
        Text("Properties=species:S:1:pos:R:3"u8);
        if (frame.Forces is not null) Text(":forces:R:3"u8);
        if (frame.Velocities is not null) Text(":velocities:R:3"u8);
        bool masses = OwnMasses(frame.Species);
        if (masses) Text(":masses:R:1"u8);
        if (frame.Energy is { } e) { Text(" energy="u8); Double(e); }
        if (frame.Step is { } s) { Text(" step="u8); Long(s); }
        if (frame.Time is { } t) { Text(" time="u8); Double(t); }
        if (frame.Cell is not null) Text(" pbc=\"T T T\""u8);
        Byte((byte)'\n');

        var x = frame.Positions;
        var f = frame.Forces;
        var v = frame.Velocities;
        if (f is not null && f.Length != x.Length) throw new ArgumentException($"frame has {x.Length / 3} atoms but {f.Length / 3} forces");
        if (v is not null && v.Length != x.Length) throw new ArgumentException($"frame has {x.Length / 3} atoms but {v.Length / 3} velocities");
        for (int i = 0; i < n; i++)
        {
            Ensure(512);
            Symbol(frame.Species[i].Symbol);
            for (int k = 3 * i; k < 3 * i + 3; k++) { Byte((byte)' '); Double(x[k]); }
            if (f is not null) for (int k = 3 * i; k < 3 * i + 3; k++) { Byte((byte)' '); Double(f[k]); }
            if (v is not null) for (int k = 3 * i; k < 3 * i + 3; k++) { Byte((byte)' '); Double(v[k]); }
            if (masses) { Byte((byte)' '); Double(frame.Species[i].Mass); }
            Byte((byte)'\n');
        }
        if (_used > _buffer.Length / 2) Drain();
    }

    /// <summary>Whether a species' mass is not its element's (CP2K's &amp;KIND MASS, e.g. D): then a masses column (ASE's name) keeps it.</summary>
    private static bool OwnMasses(Species[] species)
    {
        Species? last = null;
        foreach (var s in species)
        {
            if (ReferenceEquals(s, last)) continue;
            if (!Elements.TryGet(s.Symbol, out var element) || element.Mass != s.Mass) return true;
            last = s;
        }
        return false;
    }

    /// <summary>Pushes everything written so far to the file.</summary>
    public void Flush()
    {
        Drain();
        _stream.Flush();
    }

    public void Dispose()
    {
        Drain();
        _stream.Flush();
        if (_underlying is not null)
        {
            _stream.Dispose(); // finishes the gzip member
            if (!_leaveOpen) _underlying.Dispose();
        }
        else if (!_leaveOpen) _stream.Dispose();
    }

    private void Drain()
    {
        _stream.Write(_buffer, 0, _used);
        _used = 0;
    }

    private void Ensure(int bytes)
    {
        if (_buffer.Length - _used >= bytes) return;
        Drain();
        if (_buffer.Length < bytes) _buffer = new byte[bytes];
    }

    private void Byte(byte b) => _buffer[_used++] = b;

    private void Text(ReadOnlySpan<byte> s)
    {
        Ensure(s.Length);
        s.CopyTo(_buffer.AsSpan(_used));
        _used += s.Length;
    }

    private void Symbol(string s)
    {
        foreach (var c in s) _buffer[_used++] = (byte)c;
    }

    // Hot loop of ingest: compiled fully optimised at once rather than after tiering (a one-shot CLI never warms up).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Double(double d)
    {
        // Values with at most 10 decimals (CP2K's positions, cells, times) are written as fixed point:
        // m / 1e10 == d means the text m·1e-10 parses back (correctly rounded, as every reader does)
        // to exactly d. Everything else gets "R", the shortest text that parses back to the same double.
        double scaled = d * 1e10;
        if (d != 0 && Math.Abs(scaled) < 9e15)
        {
            double m = Math.Round(scaled);
            if (m / 1e10 == d)
            {
                Fixed((long)m);
                return;
            }
        }
        if (!d.TryFormat(_buffer.AsSpan(_used), out int written, "R", CultureInfo.InvariantCulture))
            throw new InvalidOperationException("number buffer too small");
        _used += written;
    }

    /// <summary>Writes m·1e-10 as decimal text without trailing zeros.</summary>
    private void Fixed(long m)
    {
        if (m < 0) { Byte((byte)'-'); m = -m; }
        long whole = m / 10_000_000_000L, fraction = m % 10_000_000_000L;
        whole.TryFormat(_buffer.AsSpan(_used), out int written, default, CultureInfo.InvariantCulture);
        _used += written;
        if (fraction == 0) return;
        Byte((byte)'.');
        int digits = 10;
        while (fraction % 10 == 0) { fraction /= 10; digits--; }
        for (int k = digits - 1; k >= 0; k--)
        {
            _buffer[_used + k] = (byte)('0' + fraction % 10);
            fraction /= 10;
        }
        _used += digits;
    }

    private void Int(int i)
    {
        i.TryFormat(_buffer.AsSpan(_used), out int written, default, CultureInfo.InvariantCulture);
        _used += written;
    }

    private void Long(long l)
    {
        l.TryFormat(_buffer.AsSpan(_used), out int written, default, CultureInfo.InvariantCulture);
        _used += written;
    }
}
