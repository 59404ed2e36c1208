using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MolecularLearning.Core;

namespace MolecularLearning.Lammps;

/// <summary>
/// The per-step side of <see cref="LammpsRun"/>: LAMMPS's callback, the rank's forces, the ghost reactions sent to their
/// owners, and the extrapolation signal counted over a run command.
/// </summary>
public sealed unsafe partial class LammpsRun
{
    /// <summary>
    /// After a run command: how many force evaluations had an atom outside the model's training range (docs/extrapolation.md),
    /// and the furthest one, reported by the rank that owned it. Every rank takes part (one sum over ranks).
    /// </summary>
    private void ReportExtrapolation(string where)
    {
        if (!_signal || _evaluations == 0) return;
        var largest = new double[_size];
        largest[_rank] = _largest.Value;
        if (_size > 1) _mpi?.Sum(largest);
        int at = 0;
        for (int r = 1; r < _size; r++) if (largest[r] > largest[at]) at = r;
        if (_rank == 0)
            _output.WriteLine(_outside == 0
                ? $"mld lammps: {where}: extrapolation: every atom stayed inside the model's training range ({_evaluations} force evaluations)"
                : $"mld lammps: {where}: extrapolation: {_outside} of {_evaluations} force evaluations had an atom outside the model's training range");
        _output.Flush();
        if (_size > 1) _mpi?.Sum(0); // rank 0's line first
        if (_outside > 0 && _rank == at)
            _output.WriteLine($"mld lammps: {where}: furthest out: atom ID {_largest.Tag}'s invariant {_largest.Invariant} at step {_largest.Step}, " +
                $"{NumberText.Short(_largest.Value, decimals: 4)} training spreads beyond its range (rank {_rank})");
        _output.Flush();
    }

    /// <summary>
    /// LAMMPS's reverse communication, by atom ID: the reactions on this rank's ghosts that are images of other ranks'
    /// atoms reach the ranks that own those IDs. The library interface does not say which rank owns a ghost, so every
    /// rank gets every rank's list: sparse, (ID, fx, fy, fz) per such ghost (MPI_Allgatherv), when all the lists
    /// together are shorter than the dense form, 3 doubles per atom of the system summed over the ranks (MPI_Allreduce),
    /// which wins on many small domains. One gather of each rank's list length and largest ID picks the form, the same
    /// on every rank. Every rank calls it every step (collectives).
    /// </summary>
    private void SendGhostReactions(int nlocal, int n)
    {
        void* ids = null;
        if (n > 0) fixed (byte* p = _id) ids = _lib.ExtractAtom(_handle, p);
        long top = 0;
        int entries = 0;
        for (int i = 0; i < n; i++) top = Math.Max(top, Tag(ids, i));
        for (int i = nlocal; i < n; i++) if (_owners[i] < 0) entries++;
        if (_headers.Length != 2 * _size) { _headers = new double[2 * _size]; _counts = new int[_size]; _offsets = new int[_size]; }
        Span<double> header = [entries, top];
        _timer?.Mark(StepTimer.Part.ReactionsPack);
        _mpi!.Gather(header, _headers);
        _timer?.Mark(StepTimer.Part.Wait);
        long total = 0, largest = 0;
        for (int r = 0; r < _size; r++) { total += (long)_headers[2 * r]; largest = Math.Max(largest, (long)_headers[2 * r + 1]); }
        bool sparse = _exchange switch { "sparse" => true, "dense" => false, _ => 4 * total < 3 * largest };
        if (sparse) { SendSparse(nlocal, n, ids, entries, total); _sparseSteps++; }
        else { SendDense(nlocal, n, ids, 3 * largest); _denseSteps++; }
    }

    private void SendSparse(int nlocal, int n, void* ids, int entries, long total)
    {
        if (4 * total > Array.MaxLength) throw new DataException($"{total} ghost reactions: too many for the exchange; give --ghost-losses");
        var forces = _result.Forces;
        if (_send.Length < 4 * entries) _send = new double[4 * entries + 4 * entries / 4];
        if (_receive.Length < 4 * total) _receive = new double[4 * total + 4 * total / 4];
        int at = 0;
        for (int i = nlocal; i < n; i++)
        {
            if (_owners[i] >= 0) continue; // an image of this rank's own atom: folded already
            _send[at] = Tag(ids, i); _send[at + 1] = forces[3 * i]; _send[at + 2] = forces[3 * i + 1]; _send[at + 3] = forces[3 * i + 2];
            at += 4;
        }
        for (int r = 0, offset = 0; r < _size; r++) { _counts[r] = 4 * (int)_headers[2 * r]; _offsets[r] = offset; offset += _counts[r]; }
        _timer?.Mark(StepTimer.Part.ReactionsPack);
        _mpi!.Gather(_send, 4 * entries, _receive, _counts, _offsets);
        _timer?.Mark(StepTimer.Part.ReactionsSum);
        // Rank order, then each rank's ghost order: the same sums on every run.
        for (int r = 0; r < _size; r++)
        {
            if (r == _rank) continue;
            for (int e = _offsets[r], end = e + _counts[r]; e < end; e += 4)
            {
                long tag = (long)_receive[e];
                int local = tag < _localOfTag.Length ? _localOfTag[tag] - 1 : -1;
                if (local < 0) continue; // owned by a third rank
                forces[3 * local] += _receive[e + 1]; forces[3 * local + 1] += _receive[e + 2]; forces[3 * local + 2] += _receive[e + 3];
            }
        }
        _timer?.Mark(StepTimer.Part.ReactionsUnpack);
    }

    private void SendDense(int nlocal, int n, void* ids, long length)
    {
        if (length > Array.MaxLength) throw new DataException($"atom IDs up to {length / 3}: too many for the ghost-reaction exchange; give --ghost-losses");
        if (_send.Length < length) _send = new double[length];
        else Array.Clear(_send, 0, (int)length);
        if (_receive.Length < length) _receive = new double[length];
        var forces = _result.Forces;
        for (int i = nlocal; i < n; i++)
        {
            long at = 3 * (Tag(ids, i) - 1);
            _send[at] += forces[3 * i]; _send[at + 1] += forces[3 * i + 1]; _send[at + 2] += forces[3 * i + 2];
        }
        _timer?.Mark(StepTimer.Part.ReactionsPack);
        _mpi!.Sum(_send, _receive, length);
        _timer?.Mark(StepTimer.Part.ReactionsSum);
        for (int i = 0; i < nlocal; i++)
        {
            long at = 3 * (Tag(ids, i) - 1);
            forces[3 * i] += _receive[at]; forces[3 * i + 1] += _receive[at + 1]; forces[3 * i + 2] += _receive[at + 2];
        }
        _timer?.Mark(StepTimer.Part.ReactionsUnpack);
    }

    /// <summary>For each ghost, the local atom it is an image of (same tag), or −1 when another rank owns it (or atoms have no IDs). False without IDs.</summary>
    private bool Owners(int nlocal, int n)
    {
        void* ids;
        fixed (byte* p = _id) ids = _lib.ExtractAtom(_handle, p);
        // Same IDs in the same slots (and the same local count: its slots come first) give the same owners.
        if (_owners.Length < n) { _owners = new int[_species.Length]; _lastIds = []; }
        if (ids == null) { Array.Fill(_owners, -1, 0, n); return false; }
        if (!Changed(ref _lastIds, ids, (_bigTags ? 8L : 4L) * n, nlocal)) return _lastTagged;
        _lastTagged = FindOwners(ids, nlocal, n);
        return _lastTagged;
    }

    private bool FindOwners(void* ids, int nlocal, int n)
    {
        long max = 0;
        for (int i = 0; i < n; i++) max = Math.Max(max, Tag(ids, i));
        if (max == 0) { Array.Fill(_owners, -1, 0, n); return false; }
        // Kept until the IDs change again: the sparse ghost-reaction exchange maps the IDs it receives with it.
        if (_localOfTag.Length <= max) _localOfTag = new int[max + 1 + max / 4];
        else Array.Clear(_localOfTag);
        for (int i = 0; i < nlocal; i++) _localOfTag[Tag(ids, i)] = i + 1;
        for (int i = 0; i < nlocal; i++) _owners[i] = -1;
        for (int i = nlocal; i < n; i++) _owners[i] = _localOfTag[Tag(ids, i)] - 1;
        return true;
    }

    /// <summary>
    /// Whether <paramref name="bytes"/> bytes at <paramref name="data"/> (and <paramref name="tail"/>) differ from the last
    /// call's copy in <paramref name="last"/>; keeps the new copy. A compare of a few kB per step instead of a pass per atom.
    /// </summary>
    private static bool Changed(ref byte[] last, void* data, long bytes, int tail = 0)
    {
        var now = new ReadOnlySpan<byte>(data, checked((int)bytes));
        int length = now.Length + sizeof(int);
        if (last.Length == length && now.SequenceEqual(last.AsSpan(0, now.Length)) && BitConverter.ToInt32(last, now.Length) == tail) return false;
        if (last.Length != length) last = new byte[length];
        now.CopyTo(last);
        BitConverter.TryWriteBytes(last.AsSpan(now.Length), tail);
        return true;
    }

    /// <summary>LAMMPS's box as a cell when it is periodic in x, y and z and has not changed since the first evaluation (else null).</summary>
    private Cell? PeriodicCell()
    {
        if (_boxVaries) return null;
        int* periodic;
        fixed (byte* p = _periodicity) periodic = (int*)_lib.ExtractGlobal(_handle, p);
        if (periodic == null || periodic[0] == 0 || periodic[1] == 0 || periodic[2] == 0) return null;
        double* lo, hi;
        fixed (byte* p = _boxlo) lo = (double*)_lib.ExtractGlobal(_handle, p);
        fixed (byte* p = _boxhi) hi = (double*)_lib.ExtractGlobal(_handle, p);
        int* triclinic;
        fixed (byte* p = _triclinic) triclinic = (int*)_lib.ExtractGlobal(_handle, p);
        double xy = 0, xz = 0, yz = 0;
        if (triclinic != null && *triclinic != 0)
        {
            fixed (byte* p = _xy) xy = *(double*)_lib.ExtractGlobal(_handle, p);
            fixed (byte* p = _xz) xz = *(double*)_lib.ExtractGlobal(_handle, p);
            fixed (byte* p = _yz) yz = *(double*)_lib.ExtractGlobal(_handle, p);
        }
        // LAMMPS's restricted triclinic box: a along x, b in the xy plane.
        Span<double> box = [hi[0] - lo[0], 0, 0, xy, hi[1] - lo[1], 0, xz, yz, hi[2] - lo[2]];
        if (_cell is null || !box.SequenceEqual(_box))
        {
            // A box that changes (a barostat, fix deform, change_box) would rebuild the cell path's lists at every change,
            // while the domain path's lists follow the atoms: from the first change on, the run takes the domain path.
            if (_cell is not null) { _boxVaries = true; return null; }
            _cell = new Cell(box);
            box.CopyTo(_box);
        }
        return _cell;
    }

    private long Tag(void* ids, int i) => _bigTags ? ((long*)ids)[i] : ((int*)ids)[i];

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Callback(nint self, long step, int nlocal, nint tag, nint x, nint f)
    {
        var run = (LammpsRun)GCHandle.FromIntPtr(self).Target!;
        try { run.Forces(step, nlocal, tag, x, f); }
        catch (Exception e)
        {
            run.Fail($"step {step}: {e.Message}", collective: false);
            Environment.Exit(CliExit); // no exception may cross into LAMMPS
        }
    }

    private void Forces(long step, int nlocal, nint tag, nint x, nint f)
    {
        _timer?.BeginStep();
        int nghost;
        fixed (byte* g = _nghost) nghost = *(int*)_lib.ExtractGlobal(_handle, g);
        int n = nlocal + nghost;
        _timedAtoms = (nlocal, nghost);
        if (_species.Length < n) { _species = new Species[Math.Max(n, _species.Length * 5 / 4)]; _lastTypes = []; }
        int* type;
        fixed (byte* t = _type) type = (int*)_lib.ExtractAtom(_handle, t);
        if (Changed(ref _lastTypes, type, 4L * n))
            for (int i = 0; i < n; i++) _species[i] = _typeSpecies[type[i]];
        _agreed = false;
        if (n > 0)
        {
            var positions = new ReadOnlySpan<double>(*(double**)x, 3 * n);
            bool tagged = Owners(nlocal, n);
            _timer?.Mark(StepTimer.Part.Prepare);
            // One rank of a periodic box: every ghost is an image of an owned atom, so the owned atoms and the box are the
            // whole system, evaluated as in-process (no ghosts, no per-ghost passes).
            if (_size == 1 && tagged && _forceField is IForceField whole && PeriodicCell() is { } cell)
                whole.Compute(_species.AsSpan(0, nlocal), positions[..(3 * nlocal)], cell, _result);
            else if (SendsGhostReactions)
            {
                if (!tagged) throw new DataException("the atoms have no IDs (atom_modify id no): mld lammps needs them to send ghost reactions to their owners; give --ghost-losses");
                _forceField.ComputeDomainWithGhostReactions(_species.AsSpan(0, n), positions, nlocal, _owners.AsSpan(0, n), _result);
            }
            else _forceField.ComputeDomain(_species.AsSpan(0, n), positions, nlocal, _owners.AsSpan(0, n), _result);
        }
        else _result.Clear();
        _timer?.Mark(StepTimer.Part.Evaluate);
        if (_rebuildsTogether && !_agreed) { _mpi!.Max(0); _timer?.Mark(StepTimer.Part.Wait); } // evaluated nothing: its part in the others' agreement
        if (SendsGhostReactions && _size > 1) SendGhostReactions(nlocal, n);
        if (n > 0) new ReadOnlySpan<double>(_result.Forces, 0, 3 * nlocal).CopyTo(new Span<double>(*(double**)f, 3 * nlocal));
        var w = _result.Virial;
        // LAMMPS's order xx, yy, zz, xy, xz, yz; the agent-mode virial need not be symmetric, LAMMPS keeps the symmetric part.
        // Energy and virial are totals over the ranks (fix external divides the virial by the rank count itself).
        _stepSums[0] = w[0]; _stepSums[1] = w[4]; _stepSums[2] = w[8];
        _stepSums[3] = 0.5 * (w[1] + w[3]); _stepSums[4] = 0.5 * (w[2] + w[6]); _stepSums[5] = 0.5 * (w[5] + w[7]);
        _stepSums[6] = _result.Energy;
        double signal = _result.Extrapolation;
        _stepSums[7] = signal > 0 ? 1 : 0;
        _stepSums[8] = double.IsNaN(signal) ? 0 : 1; // a rank owning no atom has none
        if (signal > _largest.Value)
            _largest = (signal, step, tag == 0 ? _result.ExtrapolationAtom + 1 : Tag((void*)tag, _result.ExtrapolationAtom), _result.ExtrapolationInvariant);
        if (_size > 1) _mpi?.Sum(_stepSums);
        _timer?.Mark(StepTimer.Part.StepSums);
        double energy = _stepSums[6];
        _evaluations++;
        if (_stepSums[7] > 0) _outside++;
        if (_stepSums[8] > 0) _signal = true;
        fixed (byte* id = _fixId)
        {
            _lib.FixExternalSetEnergyGlobal(_handle, id, energy);
            fixed (double* v = _stepSums) _lib.FixExternalSetVirialGlobal(_handle, id, v);
        }
        _timer?.EndStep();
    }
}
