using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using MolecularLearning.Core;

namespace MolecularLearning.Protocols.Ipi;

/// <summary>The messages of the i-PI protocol (12-byte, space-padded ASCII headers).</summary>
internal enum IpiMessage { Unknown, Malformed, Status, Ready, NeedInit, HaveData, Init, PosData, GetForce, ForceReady, Exit }

/// <summary>
/// Wire format of the i-PI protocol, shared by our client and server. All numbers are native
/// little-endian int32 / float64 in atomic units (Bohr, Hartree). Matrices travel as i-PI's h
/// matrix, whose COLUMNS are the lattice vectors, flattened row by row: wire[3i+j] = component i of
/// vector j. Our <see cref="Cell"/> keeps vectors as ROWS, so the wire holds the transpose of
/// <see cref="Cell.Matrix"/>; the virial travels the same way (ASE sends virial.T, CP2K the
/// Fortran-order flattening), so the wire holds the transpose of <see cref="ForceResult.Virial"/>.
/// </summary>
internal static class IpiWire
{
    public const int HeaderLength = 12;
    /// <summary>POSDATA before the positions: h (9 float64), h⁻¹ (9 float64), natoms (int32).</summary>
    public const int PosDataFixedBytes = 18 * 8 + 4;
    /// <summary>FORCEREADY before the forces: energy (float64), natoms (int32).</summary>
    public const int ForceReadyFixedBytes = 8 + 4;
    /// <summary>FORCEREADY after the forces: virial (9 float64), length of the extra string (int32).</summary>
    public const int ForceReadyTailBytes = 9 * 8 + 4;

    /// <summary>A timeout as a socket's SendTimeout / ReceiveTimeout (ms, rounded up; 0, meaning none, for zero or less).</summary>
    public static int SocketTimeoutMs(TimeSpan t) => SocketTimeoutMs(t.TotalMilliseconds);

    /// <inheritdoc cref="SocketTimeoutMs(TimeSpan)"/>
    public static int SocketTimeoutMs(double milliseconds) => milliseconds <= 0 ? 0 : (int)Math.Min(int.MaxValue - 1, Math.Ceiling(milliseconds));

    private static readonly (IpiMessage Message, byte[] Bytes)[] Headers =
    [
        (IpiMessage.Status, Pad("STATUS")), (IpiMessage.Ready, Pad("READY")), (IpiMessage.NeedInit, Pad("NEEDINIT")),
        (IpiMessage.HaveData, Pad("HAVEDATA")), (IpiMessage.Init, Pad("INIT")), (IpiMessage.PosData, Pad("POSDATA")),
        (IpiMessage.GetForce, Pad("GETFORCE")), (IpiMessage.ForceReady, Pad("FORCEREADY")), (IpiMessage.Exit, Pad("EXIT")),
    ];

    public static ReadOnlySpan<byte> Header(IpiMessage message)
    {
        foreach (var (m, bytes) in Headers) if (m == message) return bytes;
        throw new ArgumentOutOfRangeException(nameof(message));
    }

    /// <summary>
    /// Recognises a header: upper or lower case, padded with blanks or NULs. Anything that is not
    /// printable ASCII is <see cref="IpiMessage.Malformed"/>; a well-formed unknown word is
    /// <see cref="IpiMessage.Unknown"/>.
    /// </summary>
    public static IpiMessage Decode(ReadOnlySpan<byte> header)
    {
        int length = header.Length;
        while (length > 0 && header[length - 1] is (byte)' ' or 0) length--;
        if (length == 0) return IpiMessage.Malformed;
        var word = header[..length];
        foreach (var b in word) if (b is < 0x21 or > 0x7E) return IpiMessage.Malformed;
        foreach (var (m, bytes) in Headers)
        {
            int n = bytes.AsSpan().IndexOf((byte)' ');
            if (n < 0) n = HeaderLength;
            if (n == length && Ascii.EqualsIgnoreCase(word, bytes.AsSpan(0, n))) return m;
        }
        return IpiMessage.Unknown;
    }

    /// <summary>A header as text for error messages, non-printable bytes as \xNN.</summary>
    public static string Describe(ReadOnlySpan<byte> header)
    {
        var sb = new StringBuilder("'");
        foreach (var b in header) sb.Append(b is >= 0x20 and <= 0x7E ? ((char)b).ToString() : $"\\x{b:X2}");
        return sb.Append('\'').ToString();
    }

    private static byte[] Pad(string word) => Encoding.ASCII.GetBytes(word.PadRight(HeaderLength));
}

/// <summary>Thrown when the peer closes the connection cleanly between two messages.</summary>
internal sealed class IpiClosedException() : Exception("the peer closed the connection");

/// <summary>
/// One i-PI connection: a socket with a reusable receive buffer (a whole message usually arrives in
/// one recv) and a reusable send buffer (written messages leave together, at the latest when a read
/// would block, so a peer that pipelines several requests gets all replies in one write). Only synchronous
/// socket calls are used, so the socket stays blocking and timeouts are SO_RCVTIMEO / SO_SNDTIMEO.
/// Nothing here allocates once the buffers have grown to the message size.
/// </summary>
internal sealed class IpiConnection : IDisposable
{
    private readonly Socket _socket;
    private byte[] _in;
    private int _inStart, _inEnd;
    private byte[] _out;
    private int _outLength;
    private int _receiveTimeoutMs;          // what SO_RCVTIMEO is set to now (0 = wait forever)
    private long _deadline;                 // Stopwatch timestamp, 0 = none
    private string _deadlineMessage = "";
    private IpiTimeoutKind _deadlineKind;

    public IpiConnection(Socket socket, string peer, int initialBufferBytes = 1 << 16)
    {
        _socket = socket;
        Peer = peer;
        _in = new byte[initialBufferBytes];
        _out = new byte[initialBufferBytes];
        _receiveTimeoutMs = socket.ReceiveTimeout;
    }

    /// <summary>Who is on the other side, for messages ("i-PI client 2 at /tmp/ipi_x").</summary>
    public string Peer { get; }

    public Socket Socket => _socket;

    /// <summary>Server's bookkeeping: the client was READY, without asking for INIT, after a completed step.</summary>
    public bool ReadyWithoutInit { get; set; }
    /// <summary>Server's bookkeeping: force requests completed on this connection.</summary>
    public long StepsCompleted { get; set; }

    /// <summary>From now on a blocking read past <paramref name="timeout"/> throws <see cref="IpiTimeoutException"/>.</summary>
    public void SetDeadline(TimeSpan timeout, IpiTimeoutKind kind, string message)
    {
        _deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        _deadlineKind = kind;
        _deadlineMessage = message;
    }

    public void ClearDeadline() => _deadline = 0;

    /// <summary>Bytes already received and not yet consumed.</summary>
    public int Buffered => _inEnd - _inStart;

    // ---------------- reading ----------------

    /// <summary>Reads one 12-byte header; throws <see cref="IpiClosedException"/> on a clean close before it.</summary>
    public IpiMessage ReadHeader(out ReadOnlySpan<byte> raw)
    {
        Fill(IpiWire.HeaderLength, atMessageStart: true);
        raw = _in.AsSpan(_inStart, IpiWire.HeaderLength);
        _inStart += IpiWire.HeaderLength;
        return IpiWire.Decode(raw);
    }

    /// <summary>Makes sure <paramref name="bytes"/> bytes are buffered (the caller has validated the size).</summary>
    public void Require(int bytes) => Fill(bytes, atMessageStart: false);

    public int ReadInt32()
    {
        Fill(4, false);
        int v = BinaryPrimitives.ReadInt32LittleEndian(_in.AsSpan(_inStart));
        _inStart += 4;
        return v;
    }

    public double ReadDouble()
    {
        Fill(8, false);
        double v = BinaryPrimitives.ReadDoubleLittleEndian(_in.AsSpan(_inStart));
        _inStart += 8;
        return v;
    }

    /// <summary>Reads doubles times <paramref name="scale"/>; returns false if any was NaN or infinite.</summary>
    public bool ReadDoubles(Span<double> destination, double scale)
    {
        Fill(8 * destination.Length, false);
        var src = _in.AsSpan(_inStart, 8 * destination.Length);
        bool finite = true;
        for (int i = 0; i < destination.Length; i++)
        {
            double v = BinaryPrimitives.ReadDoubleLittleEndian(src[(8 * i)..]);
            finite &= double.IsFinite(v);
            destination[i] = v * scale;
        }
        _inStart += 8 * destination.Length;
        return finite;
    }

    /// <summary>Reads a 3×3 matrix sent as i-PI's column convention into our row convention (transposes).</summary>
    public bool ReadMatrixTransposed(Span<double> rowMajor, double scale)
    {
        Fill(72, false);
        var src = _in.AsSpan(_inStart, 72);
        bool finite = true;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                double v = BinaryPrimitives.ReadDoubleLittleEndian(src[(8 * (3 * i + j))..]);
                finite &= double.IsFinite(v);
                rowMajor[3 * j + i] = v * scale;
            }
        _inStart += 72;
        return finite;
    }

    /// <summary>Consumes <paramref name="bytes"/> bytes without keeping them (chunked: no large allocation).</summary>
    public void Skip(int bytes)
    {
        while (bytes > 0)
        {
            int chunk = Math.Min(bytes, _in.Length);
            Fill(chunk, false);
            _inStart += chunk;
            bytes -= chunk;
        }
    }

    /// <summary>Reads <paramref name="bytes"/> bytes as a string (INIT, and small FORCEREADY extras when a client sends them: allocates).</summary>
    public string ReadString(int bytes)
    {
        Fill(bytes, false);
        var s = Encoding.UTF8.GetString(_in, _inStart, bytes);
        _inStart += bytes;
        return s;
    }

    private void Fill(int needed, bool atMessageStart)
    {
        if (_inEnd - _inStart >= needed) return;
        if (_in.Length - _inStart < needed)
        {
            // Compact, and grow only if the message is larger than anything seen so far.
            var target = _in.Length >= needed ? _in : new byte[Math.Max(needed, 2 * _in.Length)];
            Buffer.BlockCopy(_in, _inStart, target, 0, _inEnd - _inStart);
            _inEnd -= _inStart;
            _inStart = 0;
            _in = target;
        }
        while (_inEnd - _inStart < needed)
        {
            // About to block: whatever replies are pending go out first, in one write.
            if (_outLength > 0) Flush();
            ApplyReceiveTimeout();
            int got;
            try
            {
                got = _socket.Receive(_in, _inEnd, _in.Length - _inEnd, SocketFlags.None);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                // SO_RCVTIMEO fired; loop: ApplyReceiveTimeout throws if the deadline has really passed.
                continue;
            }
            catch (SocketException e)
            {
                throw new IpiProtocolException($"{Peer}: connection lost ({e.SocketErrorCode}) {(atMessageStart && _inEnd == _inStart ? "between messages" : "in the middle of a message")}", e);
            }
            catch (ObjectDisposedException e)
            {
                throw new IpiProtocolException($"{Peer}: connection closed locally", e);
            }
            if (got == 0)
            {
                if (atMessageStart && _inEnd == _inStart) throw new IpiClosedException();
                throw new IpiProtocolException($"{Peer} closed the connection in the middle of a message (truncated payload: {_inEnd - _inStart} of {needed} bytes)");
            }
            _inEnd += got;
        }
    }

    private void ApplyReceiveTimeout()
    {
        if (_deadline == 0)
        {
            if (_receiveTimeoutMs != 0) SetReceiveTimeout(0);
            return;
        }
        double remainingMs = (_deadline - Stopwatch.GetTimestamp()) * 1000.0 / Stopwatch.Frequency;
        if (remainingMs <= 0) throw new IpiTimeoutException(_deadlineKind, _deadlineMessage);
        int want = IpiWire.SocketTimeoutMs(remainingMs);
        // Tighten only when the current setting would overshoot noticeably: no syscall per message in
        // steady state, and a setting that fires early just loops here again.
        if (_receiveTimeoutMs == 0 || _receiveTimeoutMs > want + Math.Max(5, want / 1000)) SetReceiveTimeout(want);
    }

    private void SetReceiveTimeout(int ms)
    {
        _socket.ReceiveTimeout = ms;
        _receiveTimeoutMs = ms;
    }

    // ---------------- writing ----------------

    public void WriteHeader(IpiMessage message)
    {
        EnsureOut(IpiWire.HeaderLength);
        IpiWire.Header(message).CopyTo(_out.AsSpan(_outLength));
        _outLength += IpiWire.HeaderLength;
    }

    public void WriteInt32(int value)
    {
        EnsureOut(4);
        BinaryPrimitives.WriteInt32LittleEndian(_out.AsSpan(_outLength), value);
        _outLength += 4;
    }

    public void WriteDouble(double value)
    {
        EnsureOut(8);
        BinaryPrimitives.WriteDoubleLittleEndian(_out.AsSpan(_outLength), value);
        _outLength += 8;
    }

    /// <summary>Writes values times <paramref name="scale"/>.</summary>
    public void WriteDoubles(ReadOnlySpan<double> values, double scale)
    {
        EnsureOut(8 * values.Length);
        var dst = _out.AsSpan(_outLength);
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(dst[(8 * i)..], values[i] * scale);
        _outLength += 8 * values.Length;
    }

    /// <summary>Writes a row-major 3×3 matrix (rows = our convention) in i-PI's column convention (transposed).</summary>
    public void WriteMatrixTransposed(ReadOnlySpan<double> rowMajor, double scale)
    {
        EnsureOut(72);
        var dst = _out.AsSpan(_outLength);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                BinaryPrimitives.WriteDoubleLittleEndian(dst[(8 * (3 * i + j))..], rowMajor[3 * j + i] * scale);
        _outLength += 72;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        EnsureOut(bytes.Length);
        bytes.CopyTo(_out.AsSpan(_outLength));
        _outLength += bytes.Length;
    }

    /// <summary>Sends everything written since the last flush in one go.</summary>
    public void Flush()
    {
        int sent = 0;
        try
        {
            while (sent < _outLength) sent += _socket.Send(_out, sent, _outLength - sent, SocketFlags.None);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            throw new IpiTimeoutException(IpiTimeoutKind.Request, $"{Peer} stopped reading: could not send {_outLength - sent} bytes in time");
        }
        catch (SocketException e)
        {
            throw new IpiProtocolException($"{Peer}: connection lost while sending ({e.SocketErrorCode})", e);
        }
        catch (ObjectDisposedException e)
        {
            throw new IpiProtocolException($"{Peer}: connection closed locally", e);
        }
        finally
        {
            _outLength = 0;
        }
    }

    private void EnsureOut(int bytes)
    {
        if (_outLength + bytes <= _out.Length) return;
        Array.Resize(ref _out, Math.Max(_outLength + bytes, 2 * _out.Length));
    }

    public void Dispose()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
    }
}
