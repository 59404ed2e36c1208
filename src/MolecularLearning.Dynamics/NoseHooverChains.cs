using System.Numerics;
using System.Runtime.CompilerServices;
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
    private readonly double[] _xi;     // chain positions ξ, link-major: [j * ChainCount + chain] (SIMD over chains)
    private readonly double[] _vxi;    // chain velocities v_ξ = p_ξ / Q (1/fs), same layout
    private readonly double[] _a = new double[8]; // the global chain's exp(−dt/8 v_{j+1}) of one sub-step
    // Massive chains: 2 × each atom's kinetic energy (then its scale factor), one vector block of links, the tail's padded copy.
    private readonly double[] _twiceKe = [], _tailXi = [], _tailV = [], _tailKe = [];
    private readonly Vector<double>[] _vBlock, _xiBlock, _aBlock;
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
        _vBlock = new Vector<double>[length]; _xiBlock = new Vector<double>[length]; _aBlock = new Vector<double>[length];
        if (massive)
        {
            int width = Vector<double>.Count;
            _twiceKe = new double[atoms];
            _tailXi = new double[length * width]; _tailV = new double[length * width]; _tailKe = new double[width];
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
        int n = ChainCount;
        var ke = _twiceKe.AsSpan(0, n);
        for (int i = 0; i < n; i++)
        {
            double vx = velocities[3 * i], vy = velocities[3 * i + 1], vz = velocities[3 * i + 2];
            ke[i] = masses[i] * (vx * vx + vy * vy + vz * vz) * Units.AmuAngstrom2PerFs2InEv;
        }
        int width = Vector<double>.Count, full = n - n % width;
        for (int c = 0; c < full; c += width) PropagateMassive(_xi, _vxi, n, c, _twiceKe, dt);
        if (full < n)
        {
            // The last chains, fewer than a vector: through a padded copy, so every chain takes the same arithmetic.
            int m = Length, rest = n - full;
            Array.Clear(_tailXi); Array.Clear(_tailV); Array.Clear(_tailKe);
            for (int j = 0; j < m; j++)
            {
                _xi.AsSpan(j * n + full, rest).CopyTo(_tailXi.AsSpan(j * width));
                _vxi.AsSpan(j * n + full, rest).CopyTo(_tailV.AsSpan(j * width));
            }
            _twiceKe.AsSpan(full, rest).CopyTo(_tailKe);
            PropagateMassive(_tailXi, _tailV, width, 0, _tailKe, dt);
            for (int j = 0; j < m; j++)
            {
                _tailXi.AsSpan(j * width, rest).CopyTo(_xi.AsSpan(j * n + full));
                _tailV.AsSpan(j * width, rest).CopyTo(_vxi.AsSpan(j * n + full));
            }
            _tailKe.AsSpan(0, rest).CopyTo(_twiceKe.AsSpan(full));
        }
        // PropagateMassive leaves each chain's velocity scale factor in _twiceKe.
        for (int i = 0; i < n; i++)
        {
            double s = ke[i];
            velocities[3 * i] *= s; velocities[3 * i + 1] *= s; velocities[3 * i + 2] *= s;
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

    /// <summary>
    /// The same half-step for <see cref="Vector{T}.Count"/> massive chains at once, c .. c + width − 1, stored
    /// link-major (xi[j · stride + c]). twiceKe[c..] holds each chain's 2 × kinetic energy on entry and its
    /// velocity scale factor on return. Same operations in the same order as <see cref="PropagateChain"/>; only
    /// exp differs (Vector.Exp, within an ulp of Math.Exp).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first step: skip tier 0
    private void PropagateMassive(double[] xiArray, double[] vArray, int stride, int c, double[] twiceKeArray, double dt)
    {
        int m = Length;
        if (m == 3) { PropagateMassive3(xiArray, vArray, stride, c, twiceKeArray, dt); return; }
        var vs = _vBlock.AsSpan(0, m);
        var xs = _xiBlock.AsSpan(0, m);
        var a = _aBlock.AsSpan(0, m);
        for (int j = 0; j < m; j++)
        {
            vs[j] = new Vector<double>(vArray, j * stride + c);
            xs[j] = new Vector<double>(xiArray, j * stride + c);
        }
        var twiceKe = new Vector<double>(twiceKeArray, c);
        var nkT = new Vector<double>(_chainDof * _kT);
        var kT = new Vector<double>(_kT);
        var total = Vector<double>.One;
        for (int n = 0; n < MultipleTimeSteps; n++)
            foreach (var w in _weights)
            {
                double dt2s = w * dt / (2 * MultipleTimeSteps), dt4s = 0.5 * dt2s, dt8s = 0.5 * dt4s;
                var dt2 = new Vector<double>(dt2s); var dt4 = new Vector<double>(dt4s); var mdt8 = new Vector<double>(-dt8s);
                if (m == 1) vs[0] += dt4 * (twiceKe - nkT) / new Vector<double>(_q[0]);
                else
                {
                    vs[m - 1] += dt4 * (new Vector<double>(_q[m - 2]) * vs[m - 2] * vs[m - 2] - kT) / new Vector<double>(_q[m - 1]);
                    for (int j = m - 2; j >= 0; j--)
                    {
                        var g = j == 0 ? (twiceKe - nkT) / new Vector<double>(_q[0])
                            : (new Vector<double>(_q[j - 1]) * vs[j - 1] * vs[j - 1] - kT) / new Vector<double>(_q[j]);
                        a[j] = Vector.Exp(mdt8 * vs[j + 1]);
                        vs[j] = vs[j] * a[j] * a[j] + dt4 * g * a[j];
                    }
                }
                var s = Vector.Exp(-dt2 * vs[0]);
                total *= s;
                twiceKe *= s * s;
                for (int j = 0; j < m; j++) xs[j] += dt2 * vs[j];
                if (m == 1) vs[0] += dt4 * (twiceKe - nkT) / new Vector<double>(_q[0]);
                else
                {
                    for (int j = 0; j < m - 1; j++)
                    {
                        var g = j == 0 ? (twiceKe - nkT) / new Vector<double>(_q[0])
                            : (new Vector<double>(_q[j - 1]) * vs[j - 1] * vs[j - 1] - kT) / new Vector<double>(_q[j]);
                        vs[j] = vs[j] * a[j] * a[j] + dt4 * g * a[j];
                    }
                    vs[m - 1] += dt4 * (new Vector<double>(_q[m - 2]) * vs[m - 2] * vs[m - 2] - kT) / new Vector<double>(_q[m - 1]);
                }
            }
        for (int j = 0; j < m; j++)
        {
            vs[j].CopyTo(vArray, j * stride + c);
            xs[j].CopyTo(xiArray, j * stride + c);
        }
        total.CopyTo(twiceKeArray, c);
    }

    /// <summary>
    /// <see cref="PropagateMassive"/> for chains of 3 (the default) with the links in registers: the same operations in
    /// the same order, so the same numbers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PropagateMassive3(double[] xiArray, double[] vArray, int stride, int c, double[] twiceKeArray, double dt)
    {
        var v0 = new Vector<double>(vArray, c); var v1 = new Vector<double>(vArray, stride + c); var v2 = new Vector<double>(vArray, 2 * stride + c);
        var x0 = new Vector<double>(xiArray, c); var x1 = new Vector<double>(xiArray, stride + c); var x2 = new Vector<double>(xiArray, 2 * stride + c);
        var twiceKe = new Vector<double>(twiceKeArray, c);
        var nkT = new Vector<double>(_chainDof * _kT);
        var kT = new Vector<double>(_kT);
        var q0 = new Vector<double>(_q[0]); var q1 = new Vector<double>(_q[1]); var q2 = new Vector<double>(_q[2]);
        var total = Vector<double>.One;
        for (int n = 0; n < MultipleTimeSteps; n++)
            foreach (var w in _weights)
            {
                double dt2s = w * dt / (2 * MultipleTimeSteps), dt4s = 0.5 * dt2s, dt8s = 0.5 * dt4s;
                var dt2 = new Vector<double>(dt2s); var dt4 = new Vector<double>(dt4s); var mdt8 = new Vector<double>(-dt8s);
                v2 += dt4 * (q1 * v1 * v1 - kT) / q2;
                var g = (q0 * v0 * v0 - kT) / q1;
                var a1 = Vector.Exp(mdt8 * v2);
                v1 = v1 * a1 * a1 + dt4 * g * a1;
                g = (twiceKe - nkT) / q0;
                var a0 = Vector.Exp(mdt8 * v1);
                v0 = v0 * a0 * a0 + dt4 * g * a0;
                var s = Vector.Exp(-dt2 * v0);
                total *= s;
                twiceKe *= s * s;
                x0 += dt2 * v0; x1 += dt2 * v1; x2 += dt2 * v2;
                g = (twiceKe - nkT) / q0;
                v0 = v0 * a0 * a0 + dt4 * g * a0;
                g = (q0 * v0 * v0 - kT) / q1;
                v1 = v1 * a1 * a1 + dt4 * g * a1;
                v2 += dt4 * (q1 * v1 * v1 - kT) / q2;
            }
        v0.CopyTo(vArray, c); v1.CopyTo(vArray, stride + c); v2.CopyTo(vArray, 2 * stride + c);
        x0.CopyTo(xiArray, c); x1.CopyTo(xiArray, stride + c); x2.CopyTo(xiArray, 2 * stride + c);
        total.CopyTo(twiceKeArray, c);
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
