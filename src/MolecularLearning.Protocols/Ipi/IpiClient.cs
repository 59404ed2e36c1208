using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using MolecularLearning.Core;

namespace MolecularLearning.Protocols.Ipi;

public sealed class IpiClientOptions
{
    /// <summary>How long to keep retrying while the server is not up yet (the driver's --connect-timeout); null retries until cancelled.</summary>
    public TimeSpan? ConnectTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>
    /// Longest wait for the server's next message once connected (the driver's --request-timeout): a server that
    /// accepts and never sends, or stops between steps, ends the run with <see cref="IpiTimeoutException"/>; null waits forever.
    /// </summary>
    public TimeSpan? RequestTimeout { get; init; } = TimeSpan.FromSeconds(600);
    /// <summary>First pause between connection attempts; it doubles up to <see cref="MaxRetryInterval"/>.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxRetryInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Connection attempts before giving up, whatever the connect timeout (null: bounded by the timeout only).</summary>
    public int? MaxConnectAttempts { get; init; } = 1000;
    /// <summary>Once the server has started a message, the rest must arrive within this (a server that dies mid-message does not hang us).</summary>
    public TimeSpan MessageTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>
    /// The "extra" string returned with every FORCEREADY (i-PI parses it as JSON). Empty by default:
    /// ASE 3.22's SocketIOCalculator fails on an extra string longer than one byte.
    /// </summary>
    public string Extra { get; init; } = "";
    /// <summary>
    /// Send the extrapolation signal of each step as the extra string, JSON as i-PI reads it:
    /// {"extrapolation": x, "atom": i, "invariant": "..."} (x in training spreads; i 0-based), or {} when the model
    /// reports none. Opt-in (`mld serve --ipi-extra`): ASE 3.22 cannot read extra strings.
    /// </summary>
    public bool ExtrapolationExtra { get; init; }
    /// <summary>
    /// Evaluate every configuration as an isolated system, whatever cell the server sends. i-PI has no periodicity
    /// flag: ASE's SocketIOCalculator sends the box of a non-periodic Atoms (pbc False) as the cell, and each client
    /// decides from its own setup (mld serve: a template with pbc="F F F").
    /// </summary>
    public bool Isolated { get; init; }
    /// <summary>POSDATA atom counts above this are refused before anything is allocated.</summary>
    public int MaxAtoms { get; init; } = 10_000_000;
    /// <summary>INIT strings longer than this are refused.</summary>
    public int MaxInitBytes { get; init; } = 1 << 20;
    /// <summary>Progress and diagnostics (connected, EXIT...); null writes to standard error.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// Serves forces to an i-PI server (i-PI itself, ASE's SocketIOCalculator, LAMMPS fix ipi...):
/// connects, answers STATUS with NEEDINIT / READY / HAVEDATA, evaluates every POSDATA with an
/// <see cref="IForceField"/> and returns it on GETFORCE, in atomic units. i-PI does not send
/// species, so they come from a template whose atom order must match the server's.
/// Allocation-free per step (buffers are sized from the template; an unchanged cell is reused).
/// </summary>
public sealed class IpiClient
{
    /// <summary>Configurations evaluated so far (POSDATA messages).</summary>
    public long StepsServed { get; private set; }
    /// <summary>Bead (replica) index from the last INIT, -1 before any.</summary>
    public int BeadIndex { get; private set; } = -1;
    /// <summary>The server's last INIT string, null before any.</summary>
    public string? InitString { get; private set; }

    /// <summary>
    /// Connects (retrying while the server is not up, within <see cref="IpiClientOptions.ConnectTimeout"/>)
    /// and serves until the server sends EXIT or closes the connection between messages.
    /// Protocol violations end the run with <see cref="IpiProtocolException"/>.
    /// </summary>
    public Task RunAsync(IForceField forceField, Species[] template, IpiAddress address, IpiClientOptions? options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(forceField);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(address);
        if (template.Length == 0) throw new DataException("i-PI client: the template structure has no atoms");
        options ??= new IpiClientOptions();
        // A dedicated thread with blocking socket calls: the lowest latency and no per-step allocation.
        return Task.Factory.StartNew(() => Run(forceField, template, address, options, ct),
            ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Run(IForceField forceField, Species[] template, IpiAddress address, IpiClientOptions options, CancellationToken ct)
    {
        var log = options.Log ?? (m => Console.Error.WriteLine(m));
        var socket = Connect(address, options, log, ct);
        int n = template.Length;
        var conn = new IpiConnection(socket, $"i-PI server at {address}",
            Math.Max(1 << 16, IpiWire.HeaderLength + IpiWire.PosDataFixedBytes + 24 * n + 64));
        using var cancel = ct.Register(conn.Dispose);
        try
        {
            Serve(conn, forceField, template, options, log, ct);
        }
        catch (Exception e) when (ct.IsCancellationRequested && e is not OperationCanceledException)
        {
            throw new OperationCanceledException("i-PI client cancelled", e, ct);
        }
        finally
        {
            conn.Dispose();
        }
    }

    private static Socket Connect(IpiAddress address, IpiClientOptions options, Action<string> log, CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        bool announced = false;
        int attempts = 0;
        var interval = options.RetryInterval;
        while (true)
        {
            attempts++;
            ct.ThrowIfCancellationRequested();
            string? why = null;
            foreach (var endPoint in address.ResolveEndPoints())
            {
                var socket = address.Transport == IpiTransport.Unix
                    ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                    : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Connect(endPoint);
                    socket.SendTimeout = IpiWire.SocketTimeoutMs(options.MessageTimeout);
                    log($"i-PI client: connected to {address}");
                    return socket;
                }
                catch (SocketException e)
                {
                    socket.Dispose();
                    why = e.SocketErrorCode.ToString();
                }
            }
            var waited = DateTime.UtcNow - started;
            if (options.ConnectTimeout is { } limit && waited >= limit)
                throw new IpiTimeoutException(IpiTimeoutKind.Connect,
                    $"no i-PI server answered at {address} within {limit.TotalSeconds:0.#} s ({attempts} attempts, last error: {why}); start the server first or raise --connect-timeout");
            if (options.MaxConnectAttempts is { } most && attempts >= most)
                throw new IpiTimeoutException(IpiTimeoutKind.Connect,
                    $"no i-PI server answered at {address} after {attempts} attempts in {waited.TotalSeconds:0.#} s (last error: {why}); start the server first");
            if (!announced)
            {
                log($"i-PI client: waiting for a server at {address} ({why}), retrying"
                    + (options.ConnectTimeout is { } t ? $" for up to {t.TotalSeconds:0.#} s" : " until stopped"));
                announced = true;
            }
            var pause = interval;
            interval = TimeSpan.FromTicks(Math.Min(2 * interval.Ticks, Math.Max(options.MaxRetryInterval.Ticks, options.RetryInterval.Ticks)));
            if (options.ConnectTimeout is { } l2 && l2 - waited < pause) pause = l2 - waited;
            if (pause > TimeSpan.Zero && ct.WaitHandle.WaitOne(pause)) ct.ThrowIfCancellationRequested();
        }
    }

    private void Serve(IpiConnection conn, IForceField forceField, Species[] template, IpiClientOptions options, Action<string> log, CancellationToken ct)
    {
        int n = template.Length;
        var positions = new double[3 * n];
        var rows = new double[9];
        var lastRows = new double[9];
        Cell? cell = null;
        bool haveCell = false, cellIgnored = false;
        var result = new ForceResult(n);
        var extra = Encoding.UTF8.GetBytes(options.Extra);
        bool initialised = false, haveData = false;
        var messageTimeout = options.RequestTimeout is { } rt && rt < options.MessageTimeout ? rt : options.MessageTimeout;
        string unfinished = $"{conn.Peer} started a message but did not finish it within {messageTimeout.TotalSeconds:0.#} s";
        string silent = $"{conn.Peer} sent nothing for {options.RequestTimeout?.TotalSeconds:0.#} s (--request-timeout); giving up";

        while (true)
        {
            IpiMessage message;
            ReadOnlySpan<byte> raw;
            if (options.RequestTimeout is { } idle) conn.SetDeadline(idle, IpiTimeoutKind.Request, silent);
            try { message = conn.ReadHeader(out raw); }
            catch (IpiClosedException)
            {
                ct.ThrowIfCancellationRequested(); // our own shutdown on cancellation also reads as a close
                // ASE's SocketIOCalculator closes without EXIT when it is done: a normal end.
                log($"i-PI client: {conn.Peer} closed the connection after {StepsServed} steps");
                return;
            }
            conn.SetDeadline(messageTimeout, IpiTimeoutKind.Request, unfinished);
            switch (message)
            {
                case IpiMessage.Status:
                    // Replies are flushed when the next read would block (see IpiConnection).
                    conn.WriteHeader(!initialised ? IpiMessage.NeedInit : haveData ? IpiMessage.HaveData : IpiMessage.Ready);
                    break;

                case IpiMessage.Init:
                {
                    int bead = conn.ReadInt32();
                    int length = conn.ReadInt32();
                    if (length < 0 || length > options.MaxInitBytes)
                        throw new IpiProtocolException($"{conn.Peer}: INIT announces a string of {length} bytes (allowed 0..{options.MaxInitBytes})");
                    var text = conn.ReadString(length);
                    RefuseBatching(text, conn.Peer);
                    BeadIndex = bead;
                    InitString = text;
                    initialised = true;
                    break;
                }

                case IpiMessage.PosData:
                {
                    if (haveData)
                        throw new IpiProtocolException($"{conn.Peer} sent POSDATA before collecting the previous forces with GETFORCE");
                    conn.Require(IpiWire.PosDataFixedBytes);
                    bool finiteCell = conn.ReadMatrixTransposed(rows, Units.BohrInAngstrom);
                    conn.Skip(72); // h⁻¹: legacy, recomputed from h
                    int atoms = conn.ReadInt32();
                    if (atoms < 0 || atoms > options.MaxAtoms)
                        throw new IpiProtocolException($"{conn.Peer}: POSDATA announces {atoms} atoms, refused (allowed 1..{options.MaxAtoms})");
                    if (atoms != n)
                        throw new IpiProtocolException($"{conn.Peer}: POSDATA has {atoms} atoms but the template has {n}"
                            + (atoms > n && atoms % n == 0 ? $" ({atoms / n}× the template: is the server batching structures? set its batch size to 1)" : "")
                            + "; use a template with the server's atoms in the server's order");
                    if (!finiteCell) throw new IpiProtocolException($"{conn.Peer}: POSDATA cell has a NaN or infinite component");
                    if (!conn.ReadDoubles(positions, Units.BohrInAngstrom))
                        throw new IpiProtocolException($"{conn.Peer}: POSDATA positions contain NaN or infinity (step {StepsServed})");
                    initialised = true; // servers that ignore NEEDINIT (CP2K-style) are fine
                    if (options.Isolated)
                    {
                        if (!cellIgnored && rows.AsSpan().ContainsAnyExcept(0.0))
                        {
                            log($"i-PI client: the server sends a cell, ignored: the template is not periodic (pbc=\"F F F\"), so the atoms are evaluated as an isolated system");
                            cellIgnored = true;
                        }
                    }
                    else if (!haveCell || !rows.AsSpan().SequenceEqual(lastRows))
                    {
                        cell = MakeCell(rows, conn.Peer);
                        rows.CopyTo(lastRows, 0);
                        haveCell = true;
                    }
                    forceField.Compute(template, positions, cell, result);
                    CheckFinite(result, forceField, StepsServed);
                    StepsServed++;
                    haveData = true;
                    break;
                }

                case IpiMessage.GetForce:
                    if (!haveData) throw new IpiProtocolException($"{conn.Peer} sent GETFORCE before any POSDATA");
                    conn.WriteHeader(IpiMessage.ForceReady);
                    conn.WriteDouble(result.Energy / Units.HartreeInEv);
                    conn.WriteInt32(n);
                    conn.WriteDoubles(result.Forces, 1.0 / Units.HartreePerBohrInEvPerAngstrom);
                    conn.WriteMatrixTransposed(result.Virial, 1.0 / Units.HartreeInEv);
                    var bytes = options.ExtrapolationExtra ? IpiExtra.Write(result) : extra;
                    conn.WriteInt32(bytes.Length);
                    conn.WriteBytes(bytes);
                    haveData = false;
                    break;

                case IpiMessage.Exit:
                    log($"i-PI client: EXIT from {conn.Peer} after {StepsServed} steps");
                    return;

                case IpiMessage.Malformed:
                    throw new IpiProtocolException($"{conn.Peer} sent a malformed header {IpiWire.Describe(raw)}");

                default:
                    throw new IpiProtocolException($"{conn.Peer} sent an unexpected message {IpiWire.Describe(raw)} (a client expects STATUS, INIT, POSDATA, GETFORCE or EXIT)");
            }
            conn.ClearDeadline();
        }
    }

    /// <summary>An all-zero h means no periodicity (what ASE sends for an atoms object without a cell).</summary>
    private static Cell? MakeCell(double[] rows, string peer)
    {
        if (rows.All(v => v == 0)) return null;
        try { return new Cell(rows); }
        catch (DataException e) { throw new IpiProtocolException($"{peer}: POSDATA cell is unusable: {e.Message}", e); }
    }

    private static void CheckFinite(ForceResult result, IForceField forceField, long step)
    {
        bool ok = double.IsFinite(result.Energy);
        foreach (var f in result.Forces) ok &= double.IsFinite(f);
        foreach (var w in result.Virial) ok &= double.IsFinite(w);
        if (!ok) throw new DataException($"i-PI client: {forceField.Name} returned a non-finite energy, force or virial at step {step}; not sending it");
    }

    // i-PI announces request batching in the INIT string (its ffsocket "batch_size"). We evaluate one
    // structure per POSDATA, so a batch size above 1 is refused here, before any batched POSDATA could be misread.
    private static readonly Regex BatchSize = new(@"batch[_\s-]*size[""']?\s*[:=]\s*[""']?\s*(\d+)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    internal static void RefuseBatching(string initString, string peer)
    {
        var m = BatchSize.Match(initString);
        if (m.Success && (!int.TryParse(m.Groups[1].Value, out int size) || size > 1))
            throw new IpiProtocolException($"{peer} asks for batched requests ({m.Value.Trim()} in its INIT string); this client evaluates one structure per request: set batch_size to 1 in the i-PI <ffsocket>");
    }
}
