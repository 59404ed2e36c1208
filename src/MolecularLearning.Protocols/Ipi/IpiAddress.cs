using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MolecularLearning.Core;

namespace MolecularLearning.Protocols.Ipi;

public enum IpiTransport { Unix, Tcp }

/// <summary>
/// Where an i-PI server listens: a UNIX-domain socket file or a TCP host and port.
/// Text forms (<see cref="Parse"/>): <c>unix:NAME</c> (the socket file is the sockets prefix, by
/// i-PI's convention <c>/tmp/ipi_</c>, followed by NAME), an absolute socket path <c>/run/x.sock</c>
/// (sockets outside /tmp), or <c>HOST:PORT</c> (also <c>[::1]:PORT</c>, <c>tcp:HOST:PORT</c>).
/// A leading <c>ipi:</c> (as in <c>mld run --forces ipi:unix:NAME</c>) is accepted and ignored.
/// </summary>
public sealed record IpiAddress
{
    /// <summary>i-PI's (and ASE's) default prefix of UNIX socket names.</summary>
    public const string DefaultSocketsPrefix = "/tmp/ipi_";

    /// <summary>sun_path holds 108 bytes on Linux, including the terminating NUL.</summary>
    public const int MaxUnixPathBytes = 107;

    private IpiAddress(IpiTransport transport, string? socketPath, string? host, int port)
    {
        Transport = transport;
        SocketPath = socketPath;
        Host = host;
        Port = port;
    }

    public IpiTransport Transport { get; }
    /// <summary>Absolute path of the socket file (UNIX transport), else null.</summary>
    public string? SocketPath { get; }
    /// <summary>Host name or IP literal (TCP transport), else null.</summary>
    public string? Host { get; }
    /// <summary>TCP port (0 for UNIX sockets; 0 on a listener means "any free port").</summary>
    public int Port { get; }

    public static IpiAddress Unix(string socketPath)
    {
        if (string.IsNullOrWhiteSpace(socketPath)) throw new DataException("i-PI address: empty UNIX socket path");
        var full = Path.GetFullPath(socketPath);
        if (Encoding.UTF8.GetByteCount(full) > MaxUnixPathBytes)
            throw new DataException($"i-PI address: UNIX socket path '{full}' is longer than {MaxUnixPathBytes} bytes, the limit of the operating system");
        return new IpiAddress(IpiTransport.Unix, full, null, 0);
    }

    /// <param name="port">1..65535; 0 only for a listener that should pick a free port.</param>
    public static IpiAddress Tcp(string host, int port)
    {
        if (string.IsNullOrWhiteSpace(host)) throw new DataException("i-PI address: missing host before ':PORT'");
        if (port is < 0 or > 65535) throw new DataException($"i-PI address: port {port} is outside 1..65535");
        return new IpiAddress(IpiTransport.Tcp, null, host.Trim(), port);
    }

    /// <summary>
    /// Parses <c>unix:NAME</c>, an absolute socket path, or <c>HOST:PORT</c>.
    /// <paramref name="socketsPrefix"/> replaces <see cref="DefaultSocketsPrefix"/> for <c>unix:NAME</c>
    /// (i-PI's <c>sockets_prefix</c>); it does not affect absolute paths.
    /// </summary>
    public static IpiAddress Parse(string text, string? socketsPrefix = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Trim();
        if (s.StartsWith("ipi:", StringComparison.OrdinalIgnoreCase)) s = s[4..];
        if (s.Length == 0) throw Bad(text, "it is empty");
        if (socketsPrefix is not null && socketsPrefix.Trim().Length == 0)
            throw new DataException("i-PI sockets prefix is empty (i-PI's default is /tmp/ipi_)");

        if (s.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            var name = s[5..];
            if (name.Length == 0) throw Bad(text, "no socket name after 'unix:'");
            if (name.Any(char.IsWhiteSpace) || name.Contains('\0')) throw Bad(text, "the socket name contains blanks");
            return Unix(name.StartsWith('/') ? name : (socketsPrefix ?? DefaultSocketsPrefix) + name);
        }
        if (s.StartsWith('/')) return Unix(s);
        if (s.StartsWith("tcp:", StringComparison.OrdinalIgnoreCase)) s = s[4..];
        else if (s.StartsWith("inet:", StringComparison.OrdinalIgnoreCase)) s = s[5..];

        string host, port;
        if (s.StartsWith('['))
        {
            int close = s.IndexOf(']');
            if (close < 0 || close + 1 >= s.Length || s[close + 1] != ':') throw Bad(text, "expected [IPv6]:PORT");
            host = s[1..close];
            port = s[(close + 2)..];
        }
        else
        {
            int colon = s.LastIndexOf(':');
            if (colon < 0)
                throw Bad(text, s.Contains('/') || s.StartsWith('.')
                    ? "a socket path must be absolute (start with /)"
                    : "expected unix:NAME, HOST:PORT or an absolute socket path");
            host = s[..colon];
            port = s[(colon + 1)..];
            if (host.Contains(':')) throw Bad(text, "an IPv6 host must be written in brackets, [::1]:PORT");
        }
        if (host.Length == 0) throw Bad(text, "missing host before ':PORT'");
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535)
            throw Bad(text, $"port '{port}' is not a number in 1..65535");
        return Tcp(host, p);
    }

    /// <summary>Like <see cref="Parse"/> without throwing; <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string text, string? socketsPrefix, out IpiAddress? address, out string? error)
    {
        try
        {
            address = Parse(text, socketsPrefix);
            error = null;
            return true;
        }
        catch (DataException e)
        {
            address = null;
            error = e.Message;
            return false;
        }
    }

    /// <summary>The same address with another port (a TCP listener bound to port 0 reports its real port this way).</summary>
    public IpiAddress WithPort(int port) => Transport == IpiTransport.Tcp ? Tcp(Host!, port) : this;

    /// <summary>The endpoints to try, in order (a host name may resolve to several addresses).</summary>
    internal IReadOnlyList<EndPoint> ResolveEndPoints()
    {
        if (Transport == IpiTransport.Unix) return [new UnixDomainSocketEndPoint(SocketPath!)];
        if (IPAddress.TryParse(Host, out var ip)) return [new IPEndPoint(ip, Port)];
        IPAddress[] addresses;
        try { addresses = Dns.GetHostAddresses(Host!); }
        catch (SocketException e) { throw new DataException($"i-PI address {this}: cannot resolve host '{Host}': {e.Message}"); }
        if (addresses.Length == 0) throw new DataException($"i-PI address {this}: host '{Host}' has no address");
        // IPv4 first: i-PI and ASE listen on IPv4 by default.
        return addresses.OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1)
            .Select(a => (EndPoint)new IPEndPoint(a, Port)).ToList();
    }

    /// <summary>Canonical text that <see cref="Parse"/> reads back: the socket path, or HOST:PORT.</summary>
    public override string ToString() => Transport == IpiTransport.Unix
        ? SocketPath!
        : (Host!.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}");

    private static DataException Bad(string text, string why) =>
        new($"bad i-PI address '{text}': {why} (use unix:NAME for {DefaultSocketsPrefix}NAME, an absolute socket path, or HOST:PORT)");
}
