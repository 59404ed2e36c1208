using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MolecularLearning.Core;

namespace MolecularLearning.Protocols.Ipi;

public sealed class IpiServerOptions
{
    /// <summary>How long to wait for a client to connect (at the first step, and after a bad client was dropped).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>How long one force request (STATUS … FORCEREADY) may take once a client is connected.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>The string sent with INIT to clients that answer NEEDINIT (i-PI sends its ffsocket parameters).</summary>
    public string InitString { get; init; } = " ";
    /// <summary>Extra strings (returned after the virial) longer than this are refused; shorter ones are skipped.</summary>
    public int MaxExtraBytes { get; init; } = 1 << 24;
    /// <summary>Connections, dropped clients and their reasons; null writes to standard error.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// Forces from whatever i-PI client connects (our <see cref="IpiClient"/>, ASE's SocketClient, CP2K with
/// RUN_TYPE DRIVER, any i-PI driver), behind the same <see cref="IForceField"/> seam as an in-process model.
/// <see cref="Listen"/> binds at once; the first <see cref="Compute"/> waits for a client.
/// Each Compute: STATUS (INIT if the client says NEEDINIT), POSDATA, STATUS → HAVEDATA, GETFORCE → FORCEREADY.
/// A client that breaks the protocol (bad header, unknown message, wrong natoms, NaN, truncated payload,
/// disconnect) is logged, closed, and the request is retried with the next client to connect.
/// No client within <see cref="IpiServerOptions.ConnectTimeout"/>, or a request slower than
/// <see cref="IpiServerOptions.RequestTimeout"/>, throws <see cref="IpiTimeoutException"/>.
/// Species are not sent: i-PI clients know their own atoms. One thread at a time.
/// </summary>
public sealed class IpiServerForceField : IForceField, IDisposable
{
    private readonly Socket _listener;
    private readonly IpiServerOptions _options;
    private readonly Action<string> _log;
    private readonly byte[] _initBytes;
    private readonly double[] _cellRows = new double[9];
    private readonly double[] _inverseRows = new double[9];
    private IpiConnection? _client;
    private string _requestTimeoutMessage = "";
    private bool _disposed;

    private IpiServerForceField(Socket listener, IpiAddress address, IpiServerOptions options)
    {
        _listener = listener;
        _options = options;
        _log = options.Log ?? (m => Console.Error.WriteLine(m));
        _initBytes = System.Text.Encoding.UTF8.GetBytes(options.InitString);
        Address = address;
    }

    /// <summary>Where clients connect (for TCP port 0, the port actually bound).</summary>
    public IpiAddress Address { get; }
    public string Name => $"i-PI client via {Address}";
    /// <summary>Connections accepted so far.</summary>
    public int ClientsAccepted { get; private set; }
    /// <summary>Connections closed because the client broke the protocol or vanished.</summary>
    public int ClientsDropped { get; private set; }
    /// <summary>Force requests answered.</summary>
    public long Requests { get; private set; }
    /// <summary>True while a client is connected.</summary>
    public bool HasClient => _client is not null;

    /// <summary>Binds and listens (a stale UNIX socket file left by a dead server is replaced).</summary>
    public static IpiServerForceField Listen(IpiAddress address, IpiServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        options ??= new IpiServerOptions();
        if (options.ConnectTimeout <= TimeSpan.Zero || options.RequestTimeout <= TimeSpan.Zero)
            throw new DataException("i-PI server: connect and request timeouts must be positive");
        Socket listener;
        if (address.Transport == IpiTransport.Unix)
        {
            RemoveStaleSocket(address.SocketPath!);
            listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try { listener.Bind(new UnixDomainSocketEndPoint(address.SocketPath!)); }
            catch (SocketException e)
            {
                listener.Dispose();
                throw new DataException($"i-PI server: cannot listen on {address.SocketPath}: {e.Message}", e);
            }
        }
        else
        {
            var endPoint = address.Host is "*" ? new IPEndPoint(IPAddress.Any, address.Port) : (IPEndPoint)address.ResolveEndPoints()[0];
            listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            try { listener.Bind(endPoint); }
            catch (SocketException e)
            {
                listener.Dispose();
                throw new DataException($"i-PI server: cannot listen on {address}: {e.Message}", e);
            }
            address = address.WithPort(((IPEndPoint)listener.LocalEndPoint!).Port);
        }
        listener.Listen(8);
        var server = new IpiServerForceField(listener, address, options);
        server._log($"i-PI server: listening on {address}");
        return server;
    }

    /// <summary>Blocks until a client is connected (at most the connect timeout); Compute calls this itself.</summary>
    public void WaitForClient()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_client is not null) return;
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.ConnectTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            long remainingUs = (deadline - Stopwatch.GetTimestamp()) * 1_000_000 / Stopwatch.Frequency;
            if (remainingUs <= 0)
                throw new IpiTimeoutException(IpiTimeoutKind.Connect,
                    $"no i-PI client connected to {Address} within {_options.ConnectTimeout.TotalSeconds:0.#} s "
                    + "(start one, e.g. `mld serve MODEL --template X --ipi ADDRESS`, ASE's SocketClient or CP2K with RUN_TYPE DRIVER, or raise the connect timeout)");
            if (!_listener.Poll((int)Math.Min(remainingUs, 1_000_000), SelectMode.SelectRead)) continue;
            Socket socket;
            try { socket = _listener.Accept(); }
            catch (SocketException) { continue; } // the client gave up between poll and accept
            ClientsAccepted++;
            if (Address.Transport == IpiTransport.Tcp) socket.NoDelay = true;
            socket.SendTimeout = IpiWire.SocketTimeoutMs(_options.RequestTimeout); // positive: Listen checks it
            var who = socket.RemoteEndPoint is IPEndPoint ip ? $" from {ip}" : "";
            _client = new IpiConnection(socket, $"i-PI client #{ClientsAccepted}{who} on {Address}");
            _requestTimeoutMessage = $"{_client.Peer} did not complete a force request within {_options.RequestTimeout.TotalSeconds:0.#} s (request timeout); the connection was closed";
            _log($"i-PI server: client #{ClientsAccepted} connected{who}");
            return;
        }
    }

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int n = species.Length;
        if (positions.Length != 3 * n)
            throw new ArgumentException($"{n} atoms need {3 * n} coordinates, got {positions.Length}");
        result.Resize(n);
        while (true)
        {
            WaitForClient();
            var client = _client!;
            try
            {
                client.SetDeadline(_options.RequestTimeout, IpiTimeoutKind.Request, _requestTimeoutMessage);
                Exchange(client, positions, cell, n, result);
                client.ClearDeadline();
                client.StepsCompleted++;
                Requests++;
                return;
            }
            catch (IpiTimeoutException)
            {
                Drop();
                throw;
            }
            catch (IpiProtocolException e)
            {
                _log($"i-PI server: error: {e.Message}; closing that connection and waiting for another client");
                Drop();
            }
            catch (IpiClosedException)
            {
                _log($"i-PI server: error: {client.Peer}: connection lost (closed by the client between messages); waiting for another client");
                Drop();
            }
        }
    }

    private void Exchange(IpiConnection c, ReadOnlySpan<double> positions, Cell? cell, int n, ForceResult result)
    {
        // A client that was READY again after a completed step, without asking for INIT (our client, CP2K,
        // i-PI's drivers), gets the whole step in one write, STATUS POSDATA STATUS GETFORCE, and answers
        // READY HAVEDATA FORCEREADY: one round trip. A client that wants INIT after every GETFORCE (ASE's
        // SocketClient: READY at first, NEEDINIT afterwards) is driven message by message, as i-PI does.
        bool pipeline = c.ReadyWithoutInit;
        c.WriteHeader(IpiMessage.Status);
        if (!pipeline)
        {
            var first = ReadStatus(c);
            var status = first;
            if (status == IpiMessage.NeedInit)
            {
                c.WriteHeader(IpiMessage.Init);
                c.WriteInt32(0); // bead index: one replica
                c.WriteInt32(_initBytes.Length);
                c.WriteBytes(_initBytes);
                c.WriteHeader(IpiMessage.Status);
                status = ReadStatus(c);
            }
            if (status != IpiMessage.Ready)
                throw new IpiProtocolException($"{c.Peer} answered STATUS with {Word(status)} where READY was expected");
            c.ReadyWithoutInit = first == IpiMessage.Ready && c.StepsCompleted > 0;
        }

        c.WriteHeader(IpiMessage.PosData);
        if (cell is null)
        {
            Array.Clear(_cellRows);
            Array.Clear(_inverseRows);
        }
        else
        {
            cell.Matrix.CopyTo(_cellRows);
            cell.Inverse.CopyTo(_inverseRows);
        }
        c.WriteMatrixTransposed(_cellRows, 1.0 / Units.BohrInAngstrom);
        // i-PI's h⁻¹ = ((rows)ᵀ)⁻¹ = (rows⁻¹)ᵀ: our Inverse goes out transposed like the cell.
        c.WriteMatrixTransposed(_inverseRows, Units.BohrInAngstrom);
        c.WriteInt32(n);
        c.WriteDoubles(positions, 1.0 / Units.BohrInAngstrom);
        c.WriteHeader(IpiMessage.Status);
        if (pipeline)
        {
            c.WriteHeader(IpiMessage.GetForce);
            var first = ReadStatus(c);
            if (first != IpiMessage.Ready)
                throw new IpiProtocolException($"{c.Peer} answered STATUS with {Word(first)} where READY was expected (it was READY without INIT at the previous step)");
        }
        var afterPositions = ReadStatus(c);
        if (afterPositions != IpiMessage.HaveData)
            throw new IpiProtocolException($"{c.Peer} answered STATUS with {Word(afterPositions)} after POSDATA where HAVEDATA was expected");
        if (!pipeline) c.WriteHeader(IpiMessage.GetForce);

        var reply = c.ReadHeader(out var raw);
        if (reply != IpiMessage.ForceReady)
            throw new IpiProtocolException(reply == IpiMessage.Malformed
                ? $"{c.Peer} sent a malformed header {IpiWire.Describe(raw)} instead of FORCEREADY"
                : $"{c.Peer} sent {IpiWire.Describe(raw)} instead of FORCEREADY");
        c.Require(IpiWire.ForceReadyFixedBytes);
        double energy = c.ReadDouble() * Units.HartreeInEv;
        int atoms = c.ReadInt32();
        if (atoms != n)
            throw new IpiProtocolException($"{c.Peer}: FORCEREADY carries {atoms} atoms, expected {n}");
        bool finite = c.ReadDoubles(result.Forces, Units.HartreePerBohrInEvPerAngstrom);
        finite &= c.ReadMatrixTransposed(result.Virial, Units.HartreeInEv);
        int extra = c.ReadInt32();
        if (extra < 0 || extra > _options.MaxExtraBytes)
            throw new IpiProtocolException($"{c.Peer}: FORCEREADY announces an extra string of {extra} bytes (allowed 0..{_options.MaxExtraBytes})");
        result.Extrapolation = double.NaN; result.ExtrapolationAtom = -1; result.ExtrapolationInvariant = null;
        // Read when small enough to be mld serve's signal (--ipi-extra); anything else is the client's own business.
        if (extra > 0 && extra <= IpiExtra.MaxBytes) IpiExtra.Read(c.ReadString(extra), result);
        else c.Skip(extra);
        if (!finite || !double.IsFinite(energy))
            throw new IpiProtocolException($"{c.Peer}: FORCEREADY contains NaN or infinity (energy {energy} eV)");
        result.Energy = energy;
    }

    /// <summary>Reads the answer to a STATUS (pending writes are flushed first by the connection).</summary>
    private static IpiMessage ReadStatus(IpiConnection c)
    {
        var reply = c.ReadHeader(out var raw);
        return reply switch
        {
            IpiMessage.Ready or IpiMessage.NeedInit or IpiMessage.HaveData => reply,
            IpiMessage.Malformed => throw new IpiProtocolException($"{c.Peer} answered STATUS with a malformed header {IpiWire.Describe(raw)}"),
            _ => throw new IpiProtocolException($"{c.Peer} answered STATUS with {IpiWire.Describe(raw)} (expected READY, NEEDINIT or HAVEDATA)"),
        };
    }

    private static string Word(IpiMessage m) => m.ToString().ToUpperInvariant();

    private void Drop()
    {
        if (_client is null) return;
        ClientsDropped++;
        _client.Dispose();
        _client = null;
    }

    /// <summary>Sends EXIT to a connected client (so it ends cleanly), closes everything and removes the socket file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_client is { } c)
        {
            try
            {
                c.Socket.SendTimeout = 1000;
                c.WriteHeader(IpiMessage.Exit);
                c.Flush();
            }
            catch (Exception e) when (e is IpiProtocolException or IpiTimeoutException or SocketException or ObjectDisposedException) { }
            c.Dispose();
            _client = null;
        }
        _listener.Dispose();
        if (Address.Transport == IpiTransport.Unix)
        {
            try { File.Delete(Address.SocketPath!); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static void RemoveStaleSocket(string path)
    {
        if (!File.Exists(path)) return;
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new DataException($"i-PI server: another server is already listening on {path}");
            }
            catch (SocketException) { }
        }
        // Sockets have no size; refuse to delete a real file that happens to have the name.
        if (new FileInfo(path).Length != 0)
            throw new DataException($"i-PI server: {path} exists and is not a socket; remove it or choose another address");
        File.Delete(path);
    }
}
