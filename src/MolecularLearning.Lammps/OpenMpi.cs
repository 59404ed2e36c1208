using System.Runtime.InteropServices;
using MolecularLearning.Core;

namespace MolecularLearning.Lammps;

/// <summary>
/// The two MPI calls the coupling needs beyond LAMMPS's library interface: a sum over ranks (fix external's energy
/// and virial are global values: LAMMPS 2021+ divides the virial by the rank count before its own sum) and an abort
/// that ends every rank.
/// Open MPI only (its handles are exported symbols), which is what Debian's liblammps0 is built with.
/// </summary>
public sealed unsafe class OpenMpi
{
    private readonly delegate* unmanaged[Cdecl]<void*, void*, int, nint, nint, nint, int> _allreduce;
    private readonly delegate* unmanaged[Cdecl]<nint, int, int> _abort;
    private readonly delegate* unmanaged[Cdecl]<void*, int, nint, void*, int, nint, nint, int> _allgather;
    private readonly delegate* unmanaged[Cdecl]<void*, int, nint, void*, int*, int*, nint, nint, int> _allgatherv;
    private readonly nint _comm, _double, _sum, _max;

    private OpenMpi(nint library, int fortranComm)
    {
        nint Get(string name) => NativeLibrary.TryGetExport(library, name, out var p)
            ? p
            : throw new DataException($"libmpi.so.40: has no {name}: mld lammps supports LAMMPS built with Open MPI");
        _allreduce = (delegate* unmanaged[Cdecl]<void*, void*, int, nint, nint, nint, int>)Get("MPI_Allreduce");
        _abort = (delegate* unmanaged[Cdecl]<nint, int, int>)Get("MPI_Abort");
        _allgather = (delegate* unmanaged[Cdecl]<void*, int, nint, void*, int, nint, nint, int>)Get("MPI_Allgather");
        _allgatherv = (delegate* unmanaged[Cdecl]<void*, int, nint, void*, int*, int*, nint, nint, int>)Get("MPI_Allgatherv");
        var f2c = (delegate* unmanaged[Cdecl]<int, nint>)Get("MPI_Comm_f2c");
        _comm = f2c(fortranComm);
        _double = Get("ompi_mpi_double");
        _sum = Get("ompi_mpi_op_sum");
        _max = Get("ompi_mpi_op_max");
    }

    /// <summary>Binds to Open MPI for LAMMPS's communicator (its Fortran handle, from lammps_get_mpi_comm).</summary>
    public static OpenMpi Bind(int fortranComm)
    {
        if (!NativeLibrary.TryLoad("libmpi.so.40", out var library))
            throw new DataException("cannot load libmpi.so.40: mld lammps supports LAMMPS built with Open MPI (Debian's liblammps0)");
        return new OpenMpi(library, fortranComm);
    }

    public double Sum(double value)
    {
        Span<double> one = [value];
        Sum(one);
        return one[0];
    }

    /// <summary>Replaces each value by its sum over the ranks (MPI_Allreduce, MPI_SUM).</summary>
    public void Sum(Span<double> values)
    {
        Span<double> total = stackalloc double[values.Length];
        int rc;
        fixed (double* v = values) fixed (double* t = total) rc = _allreduce(v, t, values.Length, _double, _sum, _comm);
        if (rc != 0) throw new InvalidOperationException($"MPI_Allreduce failed ({rc})");
        total.CopyTo(values);
    }

    /// <summary>The largest of <paramref name="value"/> over the ranks (MPI_Allreduce, MPI_MAX); exact for integers below 2^53.</summary>
    public double Max(double value)
    {
        double total;
        int rc = _allreduce(&value, &total, 1, _double, _max, _comm);
        if (rc != 0) throw new InvalidOperationException($"MPI_Allreduce failed ({rc})");
        return total;
    }

    /// <summary><paramref name="receive"/> = the sum of <paramref name="send"/> over the ranks, for arrays too large for the stack.</summary>
    public void Sum(double[] send, double[] receive)
    {
        if (receive.Length != send.Length) throw new ArgumentException("send and receive differ in length");
        Sum(send, receive, send.Length);
    }

    /// <summary>As above, for the first <paramref name="length"/> values.</summary>
    public void Sum(double[] send, double[] receive, long length)
    {
        if (send.Length < length || receive.Length < length) throw new ArgumentException($"{length} values: send or receive is shorter");
        for (long at = 0; at < length; at += Chunk)
        {
            int count = (int)Math.Min(Chunk, length - at);
            int rc;
            fixed (double* v = &send[at]) fixed (double* t = &receive[at]) rc = _allreduce(v, t, count, _double, _sum, _comm);
            if (rc != 0) throw new InvalidOperationException($"MPI_Allreduce failed ({rc})");
        }
    }

    /// <summary><paramref name="receive"/>[r·k .. r·k + k) = rank r's <paramref name="send"/> (k values each; MPI_Allgather).</summary>
    public void Gather(ReadOnlySpan<double> send, Span<double> receive)
    {
        int rc;
        fixed (double* v = send) fixed (double* t = receive) rc = _allgather(v, send.Length, _double, t, send.Length, _double, _comm);
        if (rc != 0) throw new InvalidOperationException($"MPI_Allgather failed ({rc})");
    }

    /// <summary>Every rank's <paramref name="send"/>[0, count) at <paramref name="offsets"/>[rank] in <paramref name="receive"/> (MPI_Allgatherv; counts[r] from rank r).</summary>
    public void Gather(double[] send, int count, double[] receive, int[] counts, int[] offsets)
    {
        int rc;
        fixed (double* v = send) fixed (double* t = receive) fixed (int* c = counts) fixed (int* o = offsets)
            rc = _allgatherv(v, count, _double, t, c, o, _double, _comm);
        if (rc != 0) throw new InvalidOperationException($"MPI_Allgatherv failed ({rc})");
    }

    /// <summary>MPI counts are ints: large exchanges go in pieces.</summary>
    private const int Chunk = 1 << 26;

    public void Abort(int code) => _abort(_comm, code);
}
