using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MolecularLearning.Core;
using MolecularLearning.Protocols.Ipi;

namespace MolecularLearning.Protocols.Tests.Ipi;

/// <summary>
/// A smooth, species-dependent Gaussian pair repulsion under the minimum image: analytic energy,
/// forces and virial (W = Σ_pairs F_ij ⊗ d_ij), so a wrong unit, order or transpose shows up.
/// Records what it was called with.
/// </summary>
public sealed class GaussianPairForceField : IForceField
{
    private const double Sigma2 = 2.0 * 2.0;

    public string Name => "Gaussian pair test potential";
    public Cell? LastCell { get; private set; }
    public Species[]? LastSpecies { get; private set; }
    public int Calls { get; private set; }

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        Calls++;
        LastCell = cell;
        LastSpecies = species.ToArray();
        int n = species.Length;
        result.Resize(n);
        result.Clear();
        double energy = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                var d = Vec3.At(positions, i) - Vec3.At(positions, j);
                if (cell is not null) d = cell.MinimumImage(d);
                double a = 0.05 * species[i].AtomicNumber * species[j].AtomicNumber;
                double e = a * Math.Exp(-d.Norm2() / Sigma2);
                energy += e;
                var f = (2 * e / Sigma2) * d; // force on i
                for (int k = 0; k < 3; k++)
                {
                    double fk = k == 0 ? f.X : k == 1 ? f.Y : f.Z;
                    result.Forces[3 * i + k] += fk;
                    result.Forces[3 * j + k] -= fk;
                    result.Virial[3 * k] += fk * d.X;
                    result.Virial[3 * k + 1] += fk * d.Y;
                    result.Virial[3 * k + 2] += fk * d.Z;
                }
            }
        result.Energy = energy;
    }
}

/// <summary>A hand-driven i-PI peer over a real socket, for feeding exact (and broken) byte streams.</summary>
public sealed class FakePeer : IDisposable
{
    private readonly Socket _socket;

    public FakePeer(Socket socket)
    {
        _socket = socket;
        _socket.ReceiveTimeout = 10_000; // a broken test must fail, not hang
        _socket.SendTimeout = 10_000;
    }

    public static FakePeer Connect(IpiAddress address)
    {
        var socket = address.Transport == IpiTransport.Unix
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(address.Transport == IpiTransport.Unix
            ? new UnixDomainSocketEndPoint(address.SocketPath!)
            : new IPEndPoint(IPAddress.Loopback, address.Port));
        return new FakePeer(socket);
    }

    public void Header(string word) => Raw(Encoding.ASCII.GetBytes(word.PadRight(12)));
    public void Int(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, v); Raw(b); }
    public void Double(double v) { var b = new byte[8]; BinaryPrimitives.WriteDoubleLittleEndian(b, v); Raw(b); }
    public void Doubles(IEnumerable<double> values) { foreach (var v in values) Double(v); }
    public void Raw(byte[] bytes) => _socket.Send(bytes);

    public string ReadHeader() => Encoding.ASCII.GetString(ReadBytes(12)).TrimEnd();
    public int ReadInt() => BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4));
    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(ReadBytes(8));
    public double[] ReadDoubles(int n) { var a = new double[n]; for (int i = 0; i < n; i++) a[i] = ReadDouble(); return a; }

    public byte[] ReadBytes(int n)
    {
        var buffer = new byte[n];
        int got = 0;
        while (got < n)
        {
            int r = _socket.Receive(buffer, got, n - got, SocketFlags.None);
            if (r == 0) throw new EndOfStreamException($"peer closed after {got} of {n} bytes");
            got += r;
        }
        return buffer;
    }

    /// <summary>True once the other side has closed (reads EOF within the timeout, skipping what was still in flight).</summary>
    public bool SeesClose(int milliseconds = 5000)
    {
        try
        {
            _socket.ReceiveTimeout = milliseconds;
            var sink = new byte[4096];
            while (_socket.Receive(sink) > 0) { }
            return true;
        }
        catch (SocketException e) { return e.SocketErrorCode != SocketError.TimedOut; }
        catch (ObjectDisposedException) { return true; } // we hung up ourselves: the server's close cannot be observed
    }

    public void Dispose() => _socket.Dispose();
}

/// <summary>A plain listening socket standing in for an i-PI server (ASE's SocketIOCalculator).</summary>
public sealed class FakeServer : IDisposable
{
    private readonly Socket _listener;

    private FakeServer(Socket listener, IpiAddress address) { _listener = listener; Address = address; }

    public IpiAddress Address { get; }

    public static FakeServer Listen(bool tcp)
    {
        if (tcp)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            s.Listen(4);
            return new FakeServer(s, IpiAddress.Tcp("127.0.0.1", ((IPEndPoint)s.LocalEndPoint!).Port));
        }
        return At(TestAddresses.Unix());
    }

    /// <summary>A fake server on a given UNIX socket path (e.g. one a client is already trying to reach).</summary>
    public static FakeServer At(IpiAddress address)
    {
        var u = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        u.Bind(new UnixDomainSocketEndPoint(address.SocketPath!));
        u.Listen(4);
        return new FakeServer(u, address);
    }

    public FakePeer Accept()
    {
        if (!_listener.Poll(10_000_000, SelectMode.SelectRead)) throw new TimeoutException("no client connected to the fake server");
        return new FakePeer(_listener.Accept());
    }

    public void Dispose()
    {
        _listener.Dispose();
        if (Address.Transport == IpiTransport.Unix) File.Delete(Address.SocketPath!);
    }
}

public static class TestAddresses
{
    /// <summary>A fresh UNIX socket path under the i-PI prefix (short: sun_path is 107 bytes).</summary>
    public static IpiAddress Unix() => IpiAddress.Parse("unix:mlt" + Guid.NewGuid().ToString("N")[..12]);

    public static IpiAddress Tcp() => IpiAddress.Tcp("127.0.0.1", 0);
}

public static class Water
{
    /// <summary>Two water molecules in a triclinic cell (Å): enough for cell, order and species to matter.</summary>
    public static (Species[] Species, double[] Positions, Cell Cell) Triclinic()
    {
        var species = new[] { Elements.O, Elements.H, Elements.H, Elements.O, Elements.H, Elements.H };
        double[] positions =
        [
            0.10, 0.20, 0.30, 0.95, 0.25, 0.35, -0.15, 1.10, 0.28,
            2.60, 2.10, 1.90, 3.40, 2.50, 2.00, 2.20, 2.90, 1.50,
        ];
        var cell = Cell.FromLengthsAndAngles(5.1, 5.6, 6.2, 80, 95, 105);
        return (species, positions, cell);
    }
}
