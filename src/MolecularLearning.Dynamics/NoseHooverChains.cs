using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MolecularLearning.Core;

namespace MolecularLearning.Dynamics;

/// <summary>
/// Nosé–Hoover chain thermostat (Martyna, Klein &amp; Tuckerman 1992), integrated with the
/// Trotter factorisation of Martyna, Tuckerman, Tobias &amp; Klein (Mol. Phys. 87, 1117, 1996):
/// multiple time steps (<see cref="MultipleTimeSteps"/>, CP2K's NC) and a Suzuki–Yoshida scheme
/// (order 1, 3 or 5, CP2K's YOSHIDA). Either one chain for the whole system (CP2K REGION GLOBAL)
/// or one chain per atom (REGION MASSIVE), which thermostats every atom's three degrees of freedom
/// separately. Thermostat masses follow CP2K's NOSE TIMECON τ: Q₁ = N_f kT τ², Q_j = kT τ² (j ≥ 2),
/// with N_f the degrees of freedom the chain acts on.
/// </summary>
public sealed class NoseHooverChains
{
    private readonly double[] _xi;     // chain positions ξ, link-major: [j * ChainCount + chain]
    private readonly double[] _vxi;    // chain velocities v_ξ = p_ξ / Q (1/fs), same layout
    private readonly double[] _a = new double[8]; // the global chain's exp(−dt/8 v_{j+1}) of one sub-step
    // Massive chains work on copies padded to whole vectors (stride _padded): links, 2 × each atom's kinetic energy,
    // and each atom's velocity scale factor. Padding lanes start each half-step at rest and are never copied out.
    private readonly int _padded;
    private readonly double[] _workXi = [], _workV = [], _workKe = [], _workScale = [], _workA0 = [], _workA1 = [];
    // Per sub-step constants of the massive chains for time step _subDt: dt2, −dt8 and dt4 / Q_j ([k * Length + j]).
    private double _subDt = double.NaN;
    private readonly double[] _subDt2, _subMinusDt8, _subC;
    private readonly double[] _q;      // masses Q_j (eV fs²), the same for every chain
    private readonly double[] _weights;
    private readonly double _kT;
    private readonly double _chainDof; // N_f of one chain

    /// <param name="degreesOfFreedom">degrees of freedom of the whole system (3N, or 3N − 3 without centre-of-mass motion).</param>
    public NoseHooverChains(int atoms, int degreesOfFreedom, double temperatureK, double tauFs, int length = 3,
        bool massive = false, int multipleTimeSteps = 3, int yoshidaOrder = 3)
    {
        if (length < 1) throw new DataException($"Nosé–Hoover chain length must be ≥ 1, got {length}");
        if (!(tauFs > 0) || !double.IsFinite(tauFs)) throw new DataException($"thermostat time constant must be > 0 fs, got {tauFs}");
        if (!(temperatureK > 0) || !double.IsFinite(temperatureK)) throw new DataException($"thermostat temperature must be > 0 K, got {temperatureK}");
        if (multipleTimeSteps < 1) throw new DataException($"thermostat multiple time steps must be ≥ 1, got {multipleTimeSteps}");
        Length = length;
        Massive = massive;
        TemperatureK = temperatureK;
        TauFs = tauFs;
        MultipleTimeSteps = multipleTimeSteps;
        YoshidaOrder = yoshidaOrder;
        ChainCount = massive ? atoms : 1;
        // Massive chains share the system's degrees of freedom: 3 per atom, or (3N − 3)/N when the
        // centre-of-mass motion is projected out, so the chains aim at the same temperature that is reported.
        _chainDof = massive ? (double)degreesOfFreedom / atoms : degreesOfFreedom;
        _kT = Units.BoltzmannEvPerK * temperatureK;
        _q = new double[length];
        _q[0] = _chainDof * _kT * tauFs * tauFs;
        for (int j = 1; j < length; j++) _q[j] = _kT * tauFs * tauFs;
        _xi = new double[ChainCount * length];
        _vxi = new double[ChainCount * length];
        _weights = YoshidaWeights(yoshidaOrder);
        if (length > _a.Length) _a = new double[length];
        int subSteps = multipleTimeSteps * _weights.Length;
        _subDt2 = new double[subSteps]; _subMinusDt8 = new double[subSteps]; _subC = new double[subSteps * length];
        if (massive)
        {
            int width = Vector<double>.Count;
            _padded = (atoms + width - 1) / width * width;
            _workXi = new double[length * _padded]; _workV = new double[length * _padded];
            _workKe = new double[_padded]; _workScale = new double[_padded]; _workA0 = new double[_padded]; _workA1 = new double[_padded];
        }
    }

    public int Length { get; }
    public bool Massive { get; }
    public int ChainCount { get; }
    public double TemperatureK { get; }
    public double TauFs { get; }
    public int MultipleTimeSteps { get; }
    public int YoshidaOrder { get; }
    /// <summary>Chain positions, link-major: [j × ChainCount + chain] (dimensionless).</summary>
    public Span<double> Positions => _xi;
    /// <summary>Chain velocities, [j × ChainCount + chain] (1/fs).</summary>
    public Span<double> Velocities => _vxi;
    public ReadOnlySpan<double> Masses => _q;
    /// <summary>Massive half-steps that had to be redone with Vector.Exp (an exp argument beyond the series' range).</summary>
    public long LibraryExpHalfSteps { get; private set; }
    /// <summary>Tests: chains of 3 through the general kernel, to check that it and the 3-link one give the same numbers.</summary>
    internal bool GeneralKernel { get; set; }

    /// <summary>
    /// The thermostat's share of the conserved quantity (eV):
    /// Σ_chains [Σ_j ½ Q_j v_ξj² + N_f kT ξ₁ + kT Σ_{j≥2} ξ_j].
    /// </summary>
    public double Energy()
    {
        double e = 0;
        int n = ChainCount;
        for (int c = 0; c < n; c++)
        {
            e += _chainDof * _kT * _xi[c] + 0.5 * _q[0] * _vxi[c] * _vxi[c];
            for (int j = 1; j < Length; j++) e += _kT * _xi[j * n + c] + 0.5 * _q[j] * _vxi[j * n + c] * _vxi[j * n + c];
        }
        return e;
    }

    /// <summary>
    /// Propagates the chains and scales the particle velocities for half a time step (dt/2), the
    /// exp(iL_NHC dt/2) factor that brackets the velocity Verlet step. A caller that already has the kinetic
    /// energy (eV) of <paramref name="velocities"/> passes it as <paramref name="kineticEnergy"/>, so a single
    /// chain need not sum it again (massive chains use each atom's own).
    /// </summary>
    public void HalfStep(double dt, ReadOnlySpan<double> masses, Span<double> velocities, double? kineticEnergy = null)
    {
        if (!Massive)
        {
            double twiceKe = 2 * (kineticEnergy ?? Momentum.KineticEnergy(masses, velocities));
            double scale = PropagateChain(twiceKe, dt);
            foreach (ref var v in velocities) v *= scale;
            return;
        }
        if (dt != _subDt) SubSteps(dt);
        _redone = 0;
        // Chunk by chunk as on threads: a chunk is what a refused exp argument redoes, so the numbers do not depend on threads.
        for (int c0 = 0; c0 < _padded; c0 += ChunkChains) MassiveRange(masses, velocities, c0, Math.Min(_padded, c0 + ChunkChains));
        if (_redone != 0) LibraryExpHalfSteps++;
    }

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

    /// <summary>MTK's NHC half-step for the single (global) chain; returns the factor by which the particle velocities scale.</summary>
    private double PropagateChain(double twiceKe, double dt)
    {
        int m = Length;
        var xi = _xi.AsSpan(0, m);
        var v = _vxi.AsSpan(0, m);
        var a = _a.AsSpan(0, m);
        double nkT = _chainDof * _kT, kT = _kT;
        double totalScale = 1;
        for (int n = 0; n < MultipleTimeSteps; n++)
            foreach (var w in _weights)
            {
                double dt2 = w * dt / (2 * MultipleTimeSteps), dt4 = 0.5 * dt2, dt8 = 0.5 * dt4;
                // Outside in: the last thermostat, then down the chain.
                if (m == 1) v[0] += dt4 * (twiceKe - nkT) / _q[0];
                else
                {
                    v[m - 1] += dt4 * (_q[m - 2] * v[m - 2] * v[m - 2] - kT) / _q[m - 1];
                    for (int j = m - 2; j >= 0; j--)
                    {
                        double g = j == 0 ? (twiceKe - nkT) / _q[0] : (_q[j - 1] * v[j - 1] * v[j - 1] - kT) / _q[j];
                        a[j] = Math.Exp(-dt8 * v[j + 1]);
                        v[j] = v[j] * a[j] * a[j] + dt4 * g * a[j];
                    }
                }
                // The particles feel the first thermostat.
                double s = Math.Exp(-dt2 * v[0]);
                totalScale *= s;
                twiceKe *= s * s;
                for (int j = 0; j < m; j++) xi[j] += dt2 * v[j];
                // Inside out. v[j + 1] is still what the outside-in pass used for a[j] (v[j + 1] changes after v[j]
                // on the way out), so the same factor serves: one exp per link and sub-step instead of two, bit for bit.
                if (m == 1) v[0] += dt4 * (twiceKe - nkT) / _q[0];
                else
                {
                    for (int j = 0; j < m - 1; j++)
                    {
                        double g = j == 0 ? (twiceKe - nkT) / _q[0] : (_q[j - 1] * v[j - 1] * v[j - 1] - kT) / _q[j];
                        v[j] = v[j] * a[j] * a[j] + dt4 * g * a[j];
                    }
                    v[m - 1] += dt4 * (_q[m - 2] * v[m - 2] * v[m - 2] - kT) / _q[m - 1];
                }
            }
        return totalScale;
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

    /// <summary>Suzuki–Yoshida weights (they sum to one).</summary>
    public static double[] YoshidaWeights(int order) => order switch
    {
        1 => [1.0],
        3 => [1 / (2 - Math.Cbrt(2)), 1 - 2 / (2 - Math.Cbrt(2)), 1 / (2 - Math.Cbrt(2))],
        5 => FifthOrder(),
        _ => throw new DataException($"Suzuki–Yoshida order must be 1, 3 or 5, got {order}"),
    };

    private static double[] FifthOrder()
    {
        double w = 1 / (4 - Math.Pow(4, 1.0 / 3));
        return [w, w, 1 - 4 * w, w, w];
    }
}
