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
public sealed partial class NoseHooverChains
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
    /// How far above its target a global chain of several links settles while it takes out a steady heat
    /// <paramref name="heatEvPerPs"/> (K), at most: τP/(N_f k_B), the offset of links that do not fluctuate (averaging the
    /// first link's equation gives ⟨2K⟩ − N_f kT = Q₁⟨v₁v₂⟩; docs/thermostats.md). Null where there is no such offset:
    /// a chain of one link, massive chains (one per atom, each taking out its own atom's heat).
    /// </summary>
    public double? WarmOffsetBound(double heatEvPerPs)
        => Length > 1 && !Massive ? TauFs * heatEvPerPs / Units.FemtosecondsPerPicosecond / (_chainDof * Units.BoltzmannEvPerK) : null;

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
