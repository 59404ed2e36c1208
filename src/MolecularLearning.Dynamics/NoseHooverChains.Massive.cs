using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MolecularLearning.Core;

namespace MolecularLearning.Dynamics;

/// <summary>
/// The massive chains (one per atom): all chains advance together, one sub-step at a time over padded vectors, with a
/// series exp for their tiny arguments; large boxes split over the force threads.
/// </summary>
public sealed partial class NoseHooverChains
{
    /// <summary>
    /// <see cref="HalfStep(double, ReadOnlySpan{double}, Span{double}, double?)"/>; many massive chains (≥ <see cref="ParallelChains"/>)
    /// are split over <paramref name="runner"/>'s threads (the chains are independent), as the forces are.
    /// </summary>
    public void HalfStep(double dt, double[] masses, double[] velocities, double? kineticEnergy, ParallelRunner runner)
    {
        if (!Massive || ChainCount < ParallelChains || runner.MaxWorkers <= 1)
        {
            HalfStep(dt, masses.AsSpan(), velocities.AsSpan(), kineticEnergy);
            return;
        }
        if (dt != _subDt) SubSteps(dt);
        _redone = 0;
        var work = _work ??= new MassiveWork(this);
        work.Masses = masses; work.Velocities = velocities;
        try { runner.Run(work, (_padded + ChunkChains - 1) / ChunkChains); }
        finally { work.Masses = work.Velocities = null; }
        if (_redone != 0) LibraryExpHalfSteps++;
    }

    /// <summary>Massive chains from which a half-step is split over threads; a chunk is <see cref="ChunkChains"/> of them (~0.1 ms).</summary>
    public const int ParallelChains = 8192;
    private const int ChunkChains = 2048; // a multiple of any vector width
    private MassiveWork? _work;
    private int _redone; // 1 when some chains of this half-step were redone with Vector.Exp

    private sealed class MassiveWork(NoseHooverChains owner) : IParallelWork
    {
        public double[]? Masses, Velocities;

        public void Execute(int chunk, int worker)
        {
            int c0 = chunk * ChunkChains;
            owner.MassiveRange(Masses, Velocities, c0, Math.Min(owner._padded, c0 + ChunkChains));
        }
    }

    /// <summary>
    /// The massive half-step for chains [<paramref name="c0"/>, <paramref name="c1"/>) of the padded work arrays (whole
    /// vectors): load, propagate (again with Vector.Exp if the series refused an argument), store, scale the atoms.
    /// </summary>
    private void MassiveRange(ReadOnlySpan<double> masses, Span<double> velocities, int c0, int c1)
    {
        Load(masses, velocities, c0, c1);
        bool three = Length == 3 && !GeneralKernel;
        if (!(three ? PropagateMassive3<SeriesExp>(c0, c1) : PropagateMassive<SeriesExp>(c0, c1)))
        {
            // An argument of exp beyond the series' range (or not finite): these chains' half-step again, with Vector.Exp.
            Volatile.Write(ref _redone, 1);
            Load(masses, velocities, c0, c1);
            if (three) PropagateMassive3<LibraryExp>(c0, c1); else PropagateMassive<LibraryExp>(c0, c1);
        }
        int n = ChainCount, m = Length, p = _padded, end = Math.Min(c1, n);
        if (end <= c0) return;
        for (int j = 0; j < m; j++)
        {
            _workXi.AsSpan(j * p + c0, end - c0).CopyTo(_xi.AsSpan(j * n + c0));
            _workV.AsSpan(j * p + c0, end - c0).CopyTo(_vxi.AsSpan(j * n + c0));
        }
        for (int i = c0; i < end; i++)
        {
            double s = _workScale[i];
            velocities[3 * i] *= s; velocities[3 * i + 1] *= s; velocities[3 * i + 2] *= s;
        }
    }

    /// <summary>
    /// Fills the massive chains' work arrays for chains [c0, c1): the chains, each atom's 2 × kinetic energy, unit scale
    /// factors; padding chains (beyond the atoms) start at rest with no kinetic energy.
    /// </summary>
    private void Load(ReadOnlySpan<double> masses, ReadOnlySpan<double> velocities, int c0, int c1)
    {
        int n = ChainCount, m = Length, p = _padded, end = Math.Max(c0, Math.Min(c1, n));
        var ke = _workKe;
        for (int i = c0; i < end; i++)
        {
            double vx = velocities[3 * i], vy = velocities[3 * i + 1], vz = velocities[3 * i + 2];
            ke[i] = masses[i] * (vx * vx + vy * vy + vz * vz) * Units.AmuAngstrom2PerFs2InEv;
        }
        ke.AsSpan(end, c1 - end).Clear();
        _workScale.AsSpan(c0, c1 - c0).Fill(1);
        for (int j = 0; j < m; j++)
        {
            _xi.AsSpan(j * n + c0, end - c0).CopyTo(_workXi.AsSpan(j * p + c0)); _workXi.AsSpan(j * p + end, c1 - end).Clear();
            _vxi.AsSpan(j * n + c0, end - c0).CopyTo(_workV.AsSpan(j * p + c0)); _workV.AsSpan(j * p + end, c1 - end).Clear();
        }
    }

    /// <summary>The massive chains' per sub-step constants for time step <paramref name="dt"/>.</summary>
    private void SubSteps(double dt)
    {
        int m = Length, k = 0;
        for (int n = 0; n < MultipleTimeSteps; n++)
            foreach (var w in _weights)
            {
                double dt2 = w * dt / (2 * MultipleTimeSteps), dt4 = 0.5 * dt2, dt8 = 0.5 * dt4;
                _subDt2[k] = dt2; _subMinusDt8[k] = -dt8;
                for (int j = 0; j < m; j++) _subC[k * m + j] = dt4 / _q[j];
                k++;
            }
        _subDt = dt;
    }

    /// <summary>
    /// MTK's half-step (as <see cref="PropagateChain"/>) for all massive chains in the padded work arrays, a vector of
    /// chains at a time. Sub-step by sub-step over all chains rather than chain by chain: a sub-step is a chain of
    /// dependent exps, and independent vectors next to each other let the CPU overlap them.
    /// Divisions by Q are products with the precomputed dt4/Q, exps go through <typeparamref name="TExp"/>. Leaves each
    /// chain's velocity scale factor in _workScale. Returns false when <typeparamref name="TExp"/> refused an argument
    /// (the work arrays are then to be reloaded).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first step: skip tier 0
    private bool PropagateMassive<TExp>(int from, int to) where TExp : struct, IVectorExp
    {
        int m = Length, p = _padded, width = Vector<double>.Count;
        double[] v = _workV, x = _workXi, ke = _workKe, scale = _workScale;
        Span<Vector<double>> vs = stackalloc Vector<double>[m], a = stackalloc Vector<double>[m]; // per call: chunks run on several threads
        var nkT = new Vector<double>(_chainDof * _kT);
        var kT = new Vector<double>(_kT);
        var ok = Vector<long>.AllBitsSet;
        for (int k = 0; k < _subDt2.Length; k++)
        {
            var dt2 = new Vector<double>(_subDt2[k]); var mdt2 = -dt2; var mdt8 = new Vector<double>(_subMinusDt8[k]);
            var cs = _subC.AsSpan(k * m, m);
            for (int c = from; c < to; c += width)
            {
                for (int j = 0; j < m; j++) vs[j] = new Vector<double>(v, j * p + c);
                var twiceKe = new Vector<double>(ke, c);
                // Outside in: the last thermostat, then down the chain.
                if (m == 1) vs[0] += new Vector<double>(cs[0]) * (twiceKe - nkT);
                else
                {
                    vs[m - 1] += new Vector<double>(cs[m - 1]) * (new Vector<double>(_q[m - 2]) * vs[m - 2] * vs[m - 2] - kT);
                    for (int j = m - 2; j >= 0; j--)
                    {
                        var g = j == 0 ? twiceKe - nkT : new Vector<double>(_q[j - 1]) * vs[j - 1] * vs[j - 1] - kT;
                        a[j] = TExp.Exp(mdt8 * vs[j + 1], ref ok);
                        vs[j] = vs[j] * a[j] * a[j] + new Vector<double>(cs[j]) * g * a[j];
                    }
                }
                // The particles feel the first thermostat.
                var s = TExp.Exp(mdt2 * vs[0], ref ok);
                (new Vector<double>(scale, c) * s).CopyTo(scale, c);
                twiceKe *= s * s;
                twiceKe.CopyTo(ke, c);
                for (int j = 0; j < m; j++) (new Vector<double>(x, j * p + c) + dt2 * vs[j]).CopyTo(x, j * p + c);
                // Inside out, with the outside-in pass's factors (see PropagateChain).
                if (m == 1) vs[0] += new Vector<double>(cs[0]) * (twiceKe - nkT);
                else
                {
                    for (int j = 0; j < m - 1; j++)
                    {
                        var g = j == 0 ? twiceKe - nkT : new Vector<double>(_q[j - 1]) * vs[j - 1] * vs[j - 1] - kT;
                        vs[j] = vs[j] * a[j] * a[j] + new Vector<double>(cs[j]) * g * a[j];
                    }
                    vs[m - 1] += new Vector<double>(cs[m - 1]) * (new Vector<double>(_q[m - 2]) * vs[m - 2] * vs[m - 2] - kT);
                }
                for (int j = 0; j < m; j++) vs[j].CopyTo(v, j * p + c);
            }
        }
        return Vector.EqualsAll(ok, Vector<long>.AllBitsSet);
    }

    /// <summary>
    /// <see cref="PropagateMassive"/> for chains of 3 (the default): the links in registers, each sub-step in three passes
    /// over the chains (shorter dependency chains per vector, so the CPU overlaps more vectors). Per chain the same
    /// operations in the same order, so the same numbers (NoseHooverChainsTests checks it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool PropagateMassive3<TExp>(int from, int to) where TExp : struct, IVectorExp
    {
        nuint p = (nuint)_padded, p2 = 2 * p, width = (nuint)Vector<double>.Count, end = (nuint)to;
        // Unchecked loads: from ≤ c < to ≤ p, multiples of the width, and the arrays hold m·p and p values.
        Debug.Assert(from >= 0 && to <= _padded && from % Vector<double>.Count == 0 && to % Vector<double>.Count == 0);
        ref double v = ref MemoryMarshal.GetArrayDataReference(_workV), x = ref MemoryMarshal.GetArrayDataReference(_workXi);
        ref double ke = ref MemoryMarshal.GetArrayDataReference(_workKe), scale = ref MemoryMarshal.GetArrayDataReference(_workScale);
        ref double f0 = ref MemoryMarshal.GetArrayDataReference(_workA0), f1 = ref MemoryMarshal.GetArrayDataReference(_workA1);
        var nkT = new Vector<double>(_chainDof * _kT);
        var kT = new Vector<double>(_kT);
        var q0 = new Vector<double>(_q[0]); var q1 = new Vector<double>(_q[1]);
        var ok = Vector<long>.AllBitsSet;
        for (int k = 0; k < _subDt2.Length; k++)
        {
            var dt2 = new Vector<double>(_subDt2[k]); var mdt2 = -dt2; var mdt8 = new Vector<double>(_subMinusDt8[k]);
            var c0 = new Vector<double>(_subC[3 * k]); var c1 = new Vector<double>(_subC[3 * k + 1]); var c2 = new Vector<double>(_subC[3 * k + 2]);
            // Outside in to the first link's factor a0; the particles' scale, positions and the inside-out first link; the rest.
            for (nuint c = (nuint)from; c < end; c += width)
            {
                var v0 = Vector.LoadUnsafe(ref v, c); var v1 = Vector.LoadUnsafe(ref v, p + c); var v2 = Vector.LoadUnsafe(ref v, p2 + c);
                v2 += c2 * (q1 * v1 * v1 - kT);
                var a1 = TExp.Exp(mdt8 * v2, ref ok);
                v1 = v1 * a1 * a1 + c1 * (q0 * v0 * v0 - kT) * a1;
                a1.StoreUnsafe(ref f1, c);
                TExp.Exp(mdt8 * v1, ref ok).StoreUnsafe(ref f0, c);
                v1.StoreUnsafe(ref v, p + c); v2.StoreUnsafe(ref v, p2 + c);
            }
            for (nuint c = (nuint)from; c < end; c += width)
            {
                var v0 = Vector.LoadUnsafe(ref v, c);
                var twiceKe = Vector.LoadUnsafe(ref ke, c);
                var a0 = Vector.LoadUnsafe(ref f0, c);
                v0 = v0 * a0 * a0 + c0 * (twiceKe - nkT) * a0;
                var s = TExp.Exp(mdt2 * v0, ref ok);
                (Vector.LoadUnsafe(ref scale, c) * s).StoreUnsafe(ref scale, c);
                twiceKe *= s * s;
                twiceKe.StoreUnsafe(ref ke, c);
                (Vector.LoadUnsafe(ref x, c) + dt2 * v0).StoreUnsafe(ref x, c);
                (Vector.LoadUnsafe(ref x, p + c) + dt2 * Vector.LoadUnsafe(ref v, p + c)).StoreUnsafe(ref x, p + c);
                (Vector.LoadUnsafe(ref x, p2 + c) + dt2 * Vector.LoadUnsafe(ref v, p2 + c)).StoreUnsafe(ref x, p2 + c);
                v0 = v0 * a0 * a0 + c0 * (twiceKe - nkT) * a0;
                v0.StoreUnsafe(ref v, c);
            }
            for (nuint c = (nuint)from; c < end; c += width)
            {
                var v0 = Vector.LoadUnsafe(ref v, c); var v1 = Vector.LoadUnsafe(ref v, p + c); var v2 = Vector.LoadUnsafe(ref v, p2 + c);
                var a1 = Vector.LoadUnsafe(ref f1, c);
                v1 = v1 * a1 * a1 + c1 * (q0 * v0 * v0 - kT) * a1;
                v2 += c2 * (q1 * v1 * v1 - kT);
                v1.StoreUnsafe(ref v, p + c); v2.StoreUnsafe(ref v, p2 + c);
            }
        }
        return Vector.EqualsAll(ok, Vector<long>.AllBitsSet);
    }

    /// <summary>e^x of a vector for the massive chains' kernels; clears lanes of <c>ok</c> whose argument it cannot take.</summary>
    internal interface IVectorExp
    {
        static abstract Vector<double> Exp(Vector<double> x, ref Vector<long> ok);
    }

    /// <summary>Any argument: <see cref="Vector.Exp(Vector{double})"/>.</summary>
    internal readonly struct LibraryExp : IVectorExp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<double> Exp(Vector<double> x, ref Vector<long> ok) => Vector.Exp(x);
    }

    /// <summary>
    /// |x| ≤ 1/8 (the chains' arguments, dt/2 · v_ξ, are ~10⁻²): 1 + x·p(x) with p the Taylor series of (e^x − 1)/x to
    /// x⁹ (remainder &lt; 10⁻¹⁸, below rounding), in Estrin's form (5 dependent operations instead of 11) and without
    /// Vector.Exp's range reduction or call: as exact, at a fraction of the latency. Other lanes (and NaN) clear <c>ok</c>.
    /// </summary>
    internal readonly struct SeriesExp : IVectorExp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<double> Exp(Vector<double> x, ref Vector<long> ok)
        {
            ok &= Vector.LessThanOrEqual(Vector.Abs(x), new Vector<double>(0.125));
            var x2 = x * x;
            var x4 = x2 * x2;
            var x8 = x4 * x4;
            var p01 = Vector.MultiplyAddEstimate(x, new Vector<double>(1.0 / 2), Vector<double>.One);
            var p23 = Vector.MultiplyAddEstimate(x, new Vector<double>(1.0 / 24), new Vector<double>(1.0 / 6));
            var p45 = Vector.MultiplyAddEstimate(x, new Vector<double>(1.0 / 720), new Vector<double>(1.0 / 120));
            var p67 = Vector.MultiplyAddEstimate(x, new Vector<double>(1.0 / 40320), new Vector<double>(1.0 / 5040));
            var p89 = Vector.MultiplyAddEstimate(x, new Vector<double>(1.0 / 3628800), new Vector<double>(1.0 / 362880));
            var p03 = Vector.MultiplyAddEstimate(x2, p23, p01);
            var p47 = Vector.MultiplyAddEstimate(x2, p67, p45);
            var p = Vector.MultiplyAddEstimate(x8, p89, Vector.MultiplyAddEstimate(x4, p47, p03));
            return Vector.MultiplyAddEstimate(x, p, Vector<double>.One);
        }
    }
}
