using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// The evaluator's fast path for the default families of both defaults and the accurate preset: sorted distances, a
/// ladder of evenly spaced, equal-width Gaussians (radial sums) under any cutoff power, angles between sorted neighbours,
/// the smooth shells and shell angles (<see cref="KernelShells"/>) and the angular sums over neighbour pairs with Gaussian
/// h_n (<see cref="KernelAngular{V}"/>), with the pair walls and range walls. <see cref="TryCreate"/> returns null for any
/// other basis (inverse powers, other Gaussians, families added later), which then takes the generic path of <see cref="InvariantSet"/>.
/// </summary>
/// <remarks>
/// Per agent, one fused pass decodes the compact neighbour row straight into structure-of-arrays scratch
/// (trimmed at the cutoff without branches), then the radial sums, the sorted-distance ranks and the angular sums run a vector
/// of entries (or pairs) at a time (eight at 512 bits, <see cref="ISimd{V}"/>); the sorted angles and the shells, a few entries per agent,
/// run scalar. The Gaussians are exact, not tabulated: with x_n = (r − μ_0)/w − nδ
/// (δ = spacing/width), g_n = exp(−x_n²/2) = exp(−x_0²/2) · exp(δ x_0)^n · exp(−n²δ²/2), so the whole ladder
/// costs two exponentials per entry. φ_n' is not stored: once λ = ∂L/∂I is known, the gradient pass rebuilds
/// Σ_n λ_n φ_n' from four numbers per entry as polynomials in exp(δ x_0). Results agree with the generic path (exact radial
/// functions) to rounding; the generic evaluator's Hermite table differs from both by ~1e-9.
/// </remarks>

/// <summary>
/// The fast evaluator of the default families, written once over <see cref="ISimd{V}"/> (<see cref="SortedGaussianKernel{V}"/>)
/// and run at the widest vector width the CPU accelerates: 512 bits (AVX-512), 256 (AVX2) or 128 (SSE, ARM NEON).
/// </summary>
public abstract class SortedGaussianKernel
{
    private protected SortedGaussianKernel() { }

    /// <summary>Bits per vector this kernel runs at: 512, 256 or 128.</summary>
    public abstract int VectorBits { get; }

    /// <summary>Evaluates agents [from, to): forces (agent: F_i; conservative: scattered), energy and virial of the chunk.</summary>
    /// <remarks>The list's rows must be grouped by neighbour species (<see cref="NeighbourList.SetGrouping"/> with the types).</remarks>
    /// <remarks>With <paramref name="extrapolation"/> (the model has training ranges), each agent's signal and its invariant (−1: inside) go to [i].</remarks>
    internal abstract double Run(int from, int to, KernelScratch s, NeighbourList list, PaddedCoordinates xyz, int[] types, double[] forces, bool conservative, Span<double> virial,
        double[]? extrapolation = null, int[]? extrapolationInvariant = null);

    /// <summary>The widest width (bits) with hardware acceleration, or 0 when none.</summary>
    public static int WidestAcceleratedBits =>
        Simd512.IsHardwareAccelerated ? 512 : Simd256.IsHardwareAccelerated ? 256 : Simd128.IsHardwareAccelerated ? 128 : 0;

    /// <summary>Whether this machine accelerates vectors of <paramref name="vectorBits"/> bits (512, 256 or 128).</summary>
    public static bool IsAccelerated(int vectorBits) => vectorBits switch
    {
        512 => Simd512.IsHardwareAccelerated,
        256 => Simd256.IsHardwareAccelerated,
        128 => Simd128.IsHardwareAccelerated,
        _ => false,
    };

    /// <summary>
    /// The kernel for this model at <paramref name="vectorBits"/> (0: the widest the machine accelerates; 512, 256 or 128
    /// to force one), or null when that width is not hardware-accelerated or the model's basis needs the generic path
    /// (<see cref="Unsupported"/> says why).
    /// </summary>
    public static SortedGaussianKernel? TryCreate(LearnedModel model, int vectorBits = 0)
    {
        if (vectorBits == 0) vectorBits = WidestAcceleratedBits;
        if (vectorBits is not (512 or 256 or 128)) throw new ArgumentOutOfRangeException(nameof(vectorBits), vectorBits, "vector width: 0, 512, 256 or 128 bits");
        if (!IsAccelerated(vectorBits) || Unsupported(model) is not null) return null;
        return vectorBits switch
        {
            512 => new SortedGaussianKernel<Simd512>(model),
            256 => new SortedGaussianKernel<Simd256>(model),
            _ => new SortedGaussianKernel<Simd128>(model),
        };
    }

    /// <summary>Why this model's basis cannot use the kernel (it then takes the generic path of <see cref="InvariantSet"/>), or null when it can.</summary>
    public static string? Unsupported(LearnedModel model)
    {
        var set = model.Invariants;
        // Only the families this kernel computes (shells and angular sums included; any f_c power): anything else (families added later) is generic.
        foreach (var f in set.Families)
            if (f is not (SortedDistances or RadialSums or AngularSums or SortedAngles or Shells or ShellAngles)) return $"the basis has invariant family '{f.Name}', which the fast kernel does not know";
        if (set.Species.Count > 8) return $"{set.Species.Count} species (the fast kernel takes up to 8)";
        if (!KernelAngular<Simd128>.Computes(set.AngularSums)) return "the angular sums' radial functions are not all Gaussians";
        if (!set.RadialSums.Ladder(set.Cutoff, out _, out _, out _, out var why)) return why;
        return null;
    }

    /// <summary>
    /// Bonnet's recursion P_{l+1} = A_l x P_l − B_l P_{l−1} with the divisions folded into constants: A_l = (2l+1)/(l+1),
    /// B_l = l/(l+1) for l = 1..degree−1 (index 0 unused). Shared by the sorted angles and the angular sums.
    /// </summary>
    internal static (double[] A, double[] B) BonnetConstants(int degree)
    {
        var a = new double[Math.Max(1, degree)];
        var b = new double[a.Length];
        for (int l = 1; l < degree; l++) { a[l] = (2.0 * l + 1) / (l + 1); b[l] = (double)l / (l + 1); }
        return (a, b);
    }

    internal static double Cosine(KernelScratch s, int ej, int ek) =>
        (s.Dx[ej] * s.Dx[ek] + s.Dy[ej] * s.Dy[ek] + s.Dz[ej] * s.Dz[ek]) / (s.R[ej] * s.R[ek]);

    /// <summary>
    /// The force of ∂L/∂cos θ = <paramref name="ac"/> on the angle between entries ej and ek: ac ∂cos θ/∂d for both legs,
    /// into F_i, the angle virial and (conservative) the neighbours. Shared by the sorted angles and the shell angles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CosineForce(KernelScratch s, int ej, int ek, double c, double ac, double[] forces, bool conservative, ref double fx, ref double fy, ref double fz)
    {
        double ij = 1 / s.R[ej], ik = 1 / s.R[ek];
        double ujx = s.Dx[ej] * ij, ujy = s.Dy[ej] * ij, ujz = s.Dz[ej] * ij;
        double ukx = s.Dx[ek] * ik, uky = s.Dy[ek] * ik, ukz = s.Dz[ek] * ik;
        EntryForce(s, ej, ac * (ukx - c * ujx) * ij, ac * (uky - c * ujy) * ij, ac * (ukz - c * ujz) * ij, forces, conservative, ref fx, ref fy, ref fz);
        EntryForce(s, ek, ac * (ujx - c * ukx) * ik, ac * (ujy - c * uky) * ik, ac * (ujz - c * ukz) * ik, forces, conservative, ref fx, ref fy, ref fz);
    }

    /// <summary>
    /// g = ∂L/∂d_e of one entry, outside the SIMD radial pass: into F_i (Σ_e ∂L/∂d_e), the angle virial and
    /// (conservative) the neighbour's force.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void EntryForce(KernelScratch s, int e, double gx, double gy, double gz, double[] forces, bool conservative, ref double fx, ref double fy, ref double fz)
    {
        fx += gx; fy += gy; fz += gz;
        double dx = s.Dx[e], dy = s.Dy[e], dz = s.Dz[e];
        var w = s.AngleVirial;
        w[0] -= gx * dx; w[1] -= gx * dy; w[2] -= gx * dz;
        w[3] -= gy * dx; w[4] -= gy * dy; w[5] -= gy * dz;
        w[6] -= gz * dx; w[7] -= gz * dy; w[8] -= gz * dz;
        if (conservative)
        {
            int j = 3 * s.Atom[e];
            forces[j] -= gx; forces[j + 1] -= gy; forces[j + 2] -= gz;
        }
    }

}

/// <summary>
/// The kernel at the width of <typeparamref name="V"/>: one source, specialised by the JIT per vector type.
/// </summary>
internal sealed partial class SortedGaussianKernel<V> : SortedGaussianKernel where V : struct, ISimd<V>
{
    private static int W => V.Count; // doubles in a vector

    public override int VectorBits => 64 * V.Count;

    private readonly InvariantSet _set;
    private readonly int _species, _nr;
    private readonly double _mu0, _invWidth, _delta;
    private readonly double[] _ladderFactor;  // c_n = exp(−n²δ²/2): g_n = exp(−x_0²/2) · exp(δ x_0)^n · c_n
    private readonly double _rcList2, _rcSorted, _rcRadial, _invRcRadial2;
    private readonly int _cutoffPower;                           // P of f_c = (1 − r²/r_c²)^P
    private readonly int[] _sortedCounts, _sortedOffset;
    private readonly int _sortedTotal;
    private readonly SortedAngles _sortedAngles;
    private readonly int _radialOffset, _angleOffset, _angleDegree;
    private readonly int _angles;                                // sorted angles
    private readonly double[] _wallRMin, _wallStrength;
    private readonly int _k, _kPadded;                           // invariants, and rounded up to whole vectors
    private readonly double[][] _lossB;                          // per agent species: b (padded with zeros)
    private readonly double[]?[] _lossC;                         // per agent species: C, K rows of _kPadded (null: order 1), or compacted (below)
    private readonly int[]?[] _quadratic;                        // per agent species: the invariants with a non-zero row of C, when some rows are zero (null: all)
    private readonly double[]?[] _boundMin, _boundMax, _boundInvScale; // range walls (null: none)
    private readonly double[] _boundStrength, _boundCap;
    private readonly double[] _bonnetA, _bonnetB;                // P_{l+1} = A_l x P_l − B_l P_{l−1}: (2l+1)/(l+1), l/(l+1)
    private readonly KernelShells? _shells;                      // smooth shells and shell angles (null: none)
    private readonly KernelAngular<V>? _angular;                    // angular sums over neighbour pairs (null: none)
    private readonly bool[] _angularLinear;                      // per agent species: λ of the angular sums is b, whatever I (see the constructor)
    private readonly ExtrapolationMonitor? _monitor;             // training ranges (null: the model file has none)

    internal SortedGaussianKernel(LearnedModel model)
    {
        _set = model.Invariants;
        _species = _set.Species.Count;
        var radial = _set.RadialSums;
        _nr = radial.Functions.Length;
        radial.Ladder(_set.Cutoff, out _mu0, out _invWidth, out _delta, out _);
        _ladderFactor = new double[Math.Max(1, _nr)];
        for (int n = 0; n < _nr; n++) _ladderFactor[n] = Math.Exp(-(double)n * n * _delta * _delta / 2);
        _rcList2 = _set.Cutoff * _set.Cutoff;
        _rcSorted = _set.Sorted.Radius;
        _rcRadial = radial.Radius;
        _invRcRadial2 = 1 / (_rcRadial * _rcRadial);
        _cutoffPower = radial.CutoffPower;
        _sortedCounts = [.. _set.Sorted.Counts];
        _sortedOffset = new int[_species];
        for (int t = 0; t < _species; t++) _sortedOffset[t] = _set.Sorted.SlotOffset(t);
        _sortedTotal = _set.Sorted.Count;
        _radialOffset = radial.Offset;
        _sortedAngles = _set.SortedAngles;
        _angleOffset = _sortedAngles.Offset;
        _angleDegree = _sortedAngles.Degree;
        _angles = _sortedAngles.Angles;
        _wallRMin = model.WallRMin;
        _wallStrength = model.WallStrength;
        (_bonnetA, _bonnetB) = BonnetConstants(_angleDegree);
        _shells = KernelShells.Create(_set.Shells, _set.ShellAngles, _species);
        _angular = KernelAngular<V>.Create(_set.AngularSums, _species);
        _angularLinear = new bool[_species];
        _k = _set.Count;
        _kPadded = (_k + W - 1) / W * W;
        _monitor = ExtrapolationMonitor.Create(model, W);
        _lossB = new double[_species][];
        _lossC = new double[]?[_species];
        _quadratic = new int[]?[_species];
        _boundMin = new double[]?[_species]; _boundMax = new double[]?[_species]; _boundInvScale = new double[]?[_species];
        _boundStrength = new double[_species];
        _boundCap = new double[_species];
        for (int t = 0; t < _species; t++)
        {
            var loss = model.Losses[t];
            _lossB[t] = new double[_kPadded];
            loss.Linear.CopyTo(_lossB[t]);
            if (loss.Order == 2)
            {
                // Families that enter linearly (FitOptions.LinearFamilies: the accurate preset's angular sums) have zero rows
                // and columns in C: C I then runs on the other invariants alone, gathered into a compact vector.
                var full = loss.Quadratic;
                var nonZero = new List<int>();
                for (int a = 0; a < _k; a++) if (full.Slice(a * _k, _k).ContainsAnyExcept(0.0)) nonZero.Add(a);
                int[] rows = [.. nonZero];
                if (rows.Length < _k) _quadratic[t] = rows;
                int kq = rows.Length, kqp = (kq + W - 1) / W * W;
                var c = new double[kq * kqp];
                for (int a = 0; a < kq; a++)
                    for (int b = 0; b < kq; b++) c[a * kqp + b] = full[rows[a] * _k + rows[b]];
                _lossC[t] = c;
            }
            if (loss.Bounds is { } bounds)
            {
                // Padding lanes: the range [0, 0] around a value 0, so they never switch a wall on.
                _boundMin[t] = new double[_kPadded]; _boundMax[t] = new double[_kPadded]; _boundInvScale[t] = new double[_kPadded];
                bounds.Min.CopyTo(_boundMin[t]!, 0); bounds.Max.CopyTo(_boundMax[t]!, 0);
                for (int a = 0; a < _kPadded; a++) _boundInvScale[t]![a] = a < _k ? 1 / bounds.Scale[a] : 1;
                _boundStrength[t] = bounds.Strength;
                _boundCap[t] = bounds.Cap;
            }
            // A linear angular family (FitOptions.LinearFamilies, the accurate preset): zero rows of C and no range walls
            // (the fit leaves linear invariants unwalled) make λ of the angular sums b whatever their values, and their
            // share of the loss, b · I, comes out of the gradient pass: the sums themselves are not needed.
            if (_angular is not null) _angularLinear[t] = ExtrapolationMonitor.AngularSumsUnused(_set, loss);
        }
    }

    /// <summary>
    /// L(I) = b·I + ½ Iᵀ C I plus the range walls, and λ = ∂L/∂I (as <see cref="QuadraticLoss.Evaluate"/>), C I from
    /// <see cref="Product"/> (on the invariants with non-zero rows of C only, when some rows are zero).
    /// </summary>
    private double Loss(int ti, KernelScratch s)
    {
        double[] values = s.Values, lambda = s.Lambda;
        int kp = _kPadded;
        if (values.Length < kp || lambda.Length < kp) throw new InvalidOperationException("kernel scratch too small");
        ref double iv = ref MemoryMarshal.GetArrayDataReference(values);
        ref double lv = ref MemoryMarshal.GetArrayDataReference(lambda);
        ref double bv = ref MemoryMarshal.GetArrayDataReference(_lossB[ti]);
        var c = _lossC[ti];
        if (c is not null)
        {
            if (_quadratic[ti] is { } rows)
            {
                int kq = rows.Length, kqp = (kq + W - 1) / W * W;
                var x = s.QuadraticValues; var y = s.QuadraticProduct;
                if (x.Length < kqp || y.Length < kqp) throw new InvalidOperationException("kernel scratch too small");
                for (int a = 0; a < kq; a++) x[a] = values[rows[a]];
                Product(c, kq, kqp, ref MemoryMarshal.GetArrayDataReference(x), ref MemoryMarshal.GetArrayDataReference(y));
                lambda.AsSpan(0, kp).Clear();
                for (int a = 0; a < kq; a++) lambda[rows[a]] = y[a];
            }
            else Product(c, _k, kp, ref iv, ref lv);
        }
        var loss = V.Zero;
        for (int v = 0; v < kp; v += W)
        {
            var b = V.LoadUnsafe(ref bv, (nuint)v);
            var x = V.LoadUnsafe(ref iv, (nuint)v);
            V l;
            if (c is not null)
            {
                var ci = V.LoadUnsafe(ref lv, (nuint)v); // C I, from above
                l = b + ci;
                loss += x * (b + ci * 0.5);
            }
            else { l = b; loss += x * b; }
            if (_boundMin[ti] is { } min)
            {
                double strength = _boundStrength[ti];
                var inv = V.LoadUnsafe(ref _boundInvScale[ti]![v]);
                var above = V.Max(x - V.LoadUnsafe(ref _boundMax[ti]![v]), V.Zero) * inv;
                var below = V.Max(V.LoadUnsafe(ref min[v]) - x, V.Zero) * inv;
                // Past the cap the wall goes on along its tangent (InvariantBounds.Wall); an uncapped wall adds exact zeros.
                var cap = V.Create(_boundCap[ti]);
                var ca = V.Min(above, cap); var cb = V.Min(below, cap);
                loss += (ca * ca * ca + cb * cb * cb + (ca * ca * (above - ca) + cb * cb * (below - cb)) * 3) * strength;
                l += (ca * ca - cb * cb) * inv * (3 * strength);
            }
            l.StoreUnsafe(ref lv, (nuint)v);
        }
        return V.Sum(loss);
    }

    /// <summary>
    /// The agent's extrapolation signal from the invariants the loss just read: a vector pass for max(x − max, min − x) /
    /// spread, and only when some lane is outside the range the scalar pass of <see cref="ExtrapolationMonitor.Agent"/>
    /// (the Reference backend's), which also names the invariant.
    /// </summary>
    private double Extrapolation(int ti, KernelScratch s, out int invariant)
    {
        var monitor = _monitor!;
        double[] lo = monitor.Lower(ti), hi = monitor.Upper(ti), inv = monitor.InverseSpread(ti), values = s.Values;
        int kp = _kPadded;
        if (values.Length < kp || lo.Length < kp) throw new InvalidOperationException("kernel scratch too small");
        ref double iv = ref MemoryMarshal.GetArrayDataReference(values);
        var outside = V.Zero;
        for (int v = 0; v < kp; v += W)
        {
            var x = V.LoadUnsafe(ref iv, (nuint)v);
            var d = V.Max(x - V.LoadUnsafe(ref hi[v]), V.LoadUnsafe(ref lo[v]) - x);
            outside = V.Max(outside, d * V.LoadUnsafe(ref inv[v]));
        }
        invariant = -1;
        // Every lane is ≥ 0: a positive sum means some invariant is outside.
        return V.Sum(outside) > 0 ? monitor.Agent(ti, values.AsSpan(0, _k), out invariant) : 0;
    }

    /// <summary>
    /// C I into <paramref name="lv"/> (k × kp, rows padded to whole vectors) by columns (C is symmetric), two vectors of
    /// eight invariants at a time, each I_a broadcast once per pair and the columns split by parity of a, so four
    /// independent sums hide the FMA latency and C is read by the FMAs.
    /// </summary>
    private static void Product(double[] c, int k, int kp, ref double iv, ref double lv)
    {
        if (c.Length < k * kp) throw new InvalidOperationException("loss matrix too small");
        ref double cv = ref MemoryMarshal.GetArrayDataReference(c);
        int v = 0;
        for (; v + 2 * W <= kp; v += 2 * W)
        {
            var s0 = V.Zero; var s1 = s0; var s2 = s0; var s3 = s0;
            int a = 0;
            for (; a + 2 <= k; a += 2)
            {
                var x0 = V.Create(Unsafe.Add(ref iv, a));
                var x1 = V.Create(Unsafe.Add(ref iv, a + 1));
                ref double c0 = ref Unsafe.Add(ref cv, a * kp + v);
                ref double c1 = ref Unsafe.Add(ref c0, kp);
                s0 = V.FusedMultiplyAdd(V.LoadUnsafe(ref c0), x0, s0);
                s1 = V.FusedMultiplyAdd(V.LoadUnsafe(ref c0, (nuint)W), x0, s1);
                s2 = V.FusedMultiplyAdd(V.LoadUnsafe(ref c1), x1, s2);
                s3 = V.FusedMultiplyAdd(V.LoadUnsafe(ref c1, (nuint)W), x1, s3);
            }
            if (a < k)
            {
                var x0 = V.Create(Unsafe.Add(ref iv, a));
                ref double c0 = ref Unsafe.Add(ref cv, a * kp + v);
                s0 = V.FusedMultiplyAdd(V.LoadUnsafe(ref c0), x0, s0);
                s1 = V.FusedMultiplyAdd(V.LoadUnsafe(ref c0, (nuint)W), x0, s1);
            }
            (s0 + s2).StoreUnsafe(ref lv, (nuint)v);
            (s1 + s3).StoreUnsafe(ref lv, (nuint)(v + W));
        }
        if (v < kp)
        {
            var s0 = V.Zero; var s1 = s0;
            int a = 0;
            for (; a + 2 <= k; a += 2)
            {
                s0 = V.FusedMultiplyAdd(V.LoadUnsafe(ref cv, (nuint)(a * kp + v)), V.Create(Unsafe.Add(ref iv, a)), s0);
                s1 = V.FusedMultiplyAdd(V.LoadUnsafe(ref cv, (nuint)((a + 1) * kp + v)), V.Create(Unsafe.Add(ref iv, a + 1)), s1);
            }
            if (a < k) s0 = V.FusedMultiplyAdd(V.LoadUnsafe(ref cv, (nuint)(a * kp + v)), V.Create(Unsafe.Add(ref iv, a)), s0);
            (s0 + s1).StoreUnsafe(ref lv, (nuint)v);
        }
    }

    internal override double Run(int from, int to, KernelScratch s, NeighbourList list, PaddedCoordinates xyz, int[] types, double[] forces, bool conservative, Span<double> virial,
        double[]? extrapolation = null, int[]? extrapolationInvariant = null)
    {
        if (list.GroupCount != _species) throw new InvalidOperationException("the kernel needs neighbour rows grouped by species");
        s.Ensure(list.MaxRowLength, _nr, _species, _set.Count, _angles * _angleDegree);
        s.RadialVirial.AsSpan().Clear();
        s.AngleVirial.AsSpan().Clear();
        double energy = 0;
        bool watch = _monitor is not null && extrapolation is not null && extrapolationInvariant is not null;
        for (int i = from; i < to; i++)
        {
            energy += Agent(i, s, list, xyz, types, forces, conservative, watch);
            if (watch) { extrapolation![i] = s.Extrapolation; extrapolationInvariant![i] = s.ExtrapolationInvariant; }
        }
        var a = s.AngleVirial;
        ref V w = ref Unsafe.As<double, V>(ref MemoryMarshal.GetArrayDataReference(s.RadialVirial)); // xx yy zz xy xz yz
        double xy = V.Sum(Unsafe.Add(ref w, 3)), xz = V.Sum(Unsafe.Add(ref w, 4)), yz = V.Sum(Unsafe.Add(ref w, 5));
        virial[0] = V.Sum(w) + a[0]; virial[1] = xy + a[1]; virial[2] = xz + a[2];
        virial[3] = xy + a[3]; virial[4] = V.Sum(Unsafe.Add(ref w, 1)) + a[4]; virial[5] = yz + a[5];
        virial[6] = xz + a[6]; virial[7] = yz + a[7]; virial[8] = V.Sum(Unsafe.Add(ref w, 2)) + a[8];
        return energy;
    }

    private double Agent(int i, KernelScratch s, NeighbourList list, PaddedCoordinates xyz, int[] types, double[] forces, bool conservative, bool watch)
    {
        int ti = types[i];
        int total = Decode(i, s, list, xyz);
        var values = s.Values.AsSpan(0, _set.Count);
        RadialValues(s, total / W, values);
        for (int t = 0; t < _species; t++) SortedValues(s, ti, t, values);
        AngleValues(s, ti, values);
        _shells?.Values<V>(s, ti, values);
        _angular?.Values(s, values, compute: !_angularLinear[ti]);
        double loss = Loss(ti, s);
        if (watch) s.Extrapolation = Extrapolation(ti, s, out s.ExtrapolationInvariant);
        var lambda = s.Lambda;

        // ∂L/∂r of the sorted slots (radial in d_e), gathered per entry for the SIMD pass.
        var sortedEntry = s.SortedEntry;
        for (int q = 0; q < _sortedTotal; q++)
        {
            int e = sortedEntry[q];
            if (e >= 0) s.SortedSlope[e] += lambda[q];
        }
        double fx = 0, fy = 0, fz = 0;
        if (_angleDegree > 0) AngleGradient(s, ti, forces, conservative, ref fx, ref fy, ref fz);
        _shells?.Gradient(s, ti, forces, conservative, ref fx, ref fy, ref fz);
        if (_angular is not null)
        {
            double angular = _angular.Gradient(s, forces, conservative, ref fx, ref fy, ref fz);
            if (_angularLinear[ti]) loss += angular; // b · I of the sums not computed (the loss saw zeros)
        }
        for (int t = 0; t < _species; t++) loss += RadialGradient(s, ti, t, ref fx, ref fy, ref fz, conservative);
        _shells?.ClearSlopes(s);
        for (int q = 0; q < _sortedTotal; q++)
        {
            int e = sortedEntry[q];
            if (e >= 0) s.SortedSlope[e] = 0;
        }
        if (conservative)
        {
            for (int t = 0; t < _species; t++)
                for (int e = s.GroupBase[t], end = e + s.GroupCount[t]; e < end; e++)
                {
                    double c = s.SlopeOverR[e];
                    int j = 3 * s.Atom[e];
                    forces[j] -= c * s.Dx[e]; forces[j + 1] -= c * s.Dy[e]; forces[j + 2] -= c * s.Dz[e];
                }
            forces[3 * i] += fx; forces[3 * i + 1] += fy; forces[3 * i + 2] += fz;
        }
        else { forces[3 * i] = fx; forces[3 * i + 1] = fy; forces[3 * i + 2] = fz; }
        return loss;
    }

    /// <summary>
    /// The row of agent i within the list cutoff, decoded from the compact entries (as <see cref="NeighbourList.GetRow"/>,
    /// the same arithmetic, so the same bits) species by species, each species' entries padded to whole vectors with an
    /// entry beyond every cutoff (which adds exactly nothing). Returns the padded total.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // a frame of its own in profiles; called once per agent
    private int Decode(int i, KernelScratch s, NeighbourList list, PaddedCoordinates xyz)
    {
        var index = list.Index;
        var image = list.ImageCodes;
        var u = xyz.Positions;
        var img = xyz.Images;
        if (s.Atom.Length < list.GroupStart(i, _species) - list.GroupStart(i, 0) + W * _species || 4 * list.AtomCount > u.Length)
            throw new InvalidOperationException("kernel scratch too small for the row");
        double pad = 4 * _rcList2;
        int at = 0;
        for (int t = 0; t < _species; t++)
        {
            int k0 = list.GroupStart(i, t), k1 = list.GroupStart(i, t + 1);
            s.GroupBase[t] = at;
            int m = Avx2.IsSupported && Avx512F.VL.IsSupported ? DecodeWide(i, k0, k1, at, index, image, u, img, s)
                : Vector256.IsHardwareAccelerated && Avx.IsSupported ? DecodeAvx(i, k0, k1, at, index, image, u, img, s)
                : DecodeScalar(i, k0, k1, at, index, image, u, img, s);
            s.GroupCount[t] = m - at;
            int end = at + (m - at + W - 1) / W * W;
            for (; m < end; m++) { s.Dx[m] = 0; s.Dy[m] = 0; s.Dz[m] = 0; s.R2[m] = pad; }
            at = end;
        }
        return at;
    }

    /// <summary>Entries [k, k1) of agent i from <paramref name="at"/> on, those inside the cutoff kept: returns the next free slot.</summary>
    private int DecodeScalar(int i, int k, int k1, int at, ReadOnlySpan<int> index, ReadOnlySpan<ushort> image, double[] u, double[] img, KernelScratch s)
    {
        double ux = u[4 * i], uy = u[4 * i + 1], uz = u[4 * i + 2], rc2 = _rcList2;
        int n = u.Length / 4, codes = img.Length / 4, m = at;
        for (; k < k1; k++)
        {
            int j = index[k], c = image[k];
            if ((uint)j >= (uint)n || c >= codes) throw new IndexOutOfRangeException();
            double x = u[4 * j] + img[4 * c] - ux, y = u[4 * j + 1] + img[4 * c + 1] - uy, z = u[4 * j + 2] + img[4 * c + 2] - uz;
            double r2 = x * x + y * y + z * z;
            // Written unconditionally, kept by advancing m: no unpredictable branch at the skin.
            s.Atom[m] = j; s.Dx[m] = x; s.Dy[m] = y; s.Dz[m] = z; s.R2[m] = r2;
            m += r2 < rc2 ? 1 : 0;
        }
        return m;
    }

    /// <summary>
    /// <see cref="DecodeScalar"/> eight, then four entries at a time, where AVX-512 is there (any kernel width): each neighbour's (x, y, z, 0) and its image translation
    /// are one 256-bit load each, transposed into x, y, z vectors, and the entries inside the cutoff packed by AVX-512
    /// compress. The scalar loop takes the last few entries.
    /// </summary>
    private unsafe int DecodeWide(int i, int k, int k1, int at, ReadOnlySpan<int> index, ReadOnlySpan<ushort> image, double[] u, double[] img, KernelScratch s)
    {
        if (k1 > index.Length || k1 > image.Length || s.Atom.Length < at + (k1 - k) + W) throw new IndexOutOfRangeException();
        uint n = (uint)(u.Length / 4), codes = (uint)(img.Length / 4);
        int m = at;
        var rc2 = Vector256.Create(_rcList2);
        fixed (int* pj = index) fixed (ushort* pc = image) fixed (double* pu = u) fixed (double* ps = img)
        fixed (int* atom = s.Atom) fixed (double* dx = s.Dx) fixed (double* dy = s.Dy) fixed (double* dz = s.Dz) fixed (double* r2s = s.R2)
        {
            var ui = Vector256.Load(pu + 4 * i);
            var ui2 = Vector512.Create(ui, ui);
            var rc2w = Vector512.Create(_rcList2);
            var maxJ = Vector256.Create(n - 1);
            var maxC = Vector128.Create((ushort)Math.Min(codes - 1, (uint)ushort.MaxValue));
            // The x lanes of the unpacked pairs in entry order: (t0[0,1], t2[0,1], t0[4,5], t2[4,5]); t2's lanes count from 8.
            var pick = Vector512.Create(0L, 1, 8, 9, 4, 5, 12, 13);
            var pickHigh = Vector512.Create(2L, 3, 10, 11, 6, 7, 14, 15);
            // Eight at a time: entries q and q + 4 share a 512-bit register, so (x_j + S_c) − x_i is four 512-bit
            // operations and the transpose is four unpacks and three two-source permutes (the shuffle port was the limit).
            for (; codes > 0 && k + 8 <= k1; k += 8)
            {
                if (Vector256.GreaterThanAny(Vector256.Load((uint*)(pj + k)), maxJ) || Vector128.GreaterThanAny(Vector128.Load(pc + k), maxC))
                    throw new IndexOutOfRangeException();
                var p0 = Vector512.Create(Vector256.Load(pu + 4 * pj[k]), Vector256.Load(pu + 4 * pj[k + 4])) + Vector512.Create(Vector256.Load(ps + 4 * pc[k]), Vector256.Load(ps + 4 * pc[k + 4])) - ui2;
                var p1 = Vector512.Create(Vector256.Load(pu + 4 * pj[k + 1]), Vector256.Load(pu + 4 * pj[k + 5])) + Vector512.Create(Vector256.Load(ps + 4 * pc[k + 1]), Vector256.Load(ps + 4 * pc[k + 5])) - ui2;
                var p2 = Vector512.Create(Vector256.Load(pu + 4 * pj[k + 2]), Vector256.Load(pu + 4 * pj[k + 6])) + Vector512.Create(Vector256.Load(ps + 4 * pc[k + 2]), Vector256.Load(ps + 4 * pc[k + 6])) - ui2;
                var p3 = Vector512.Create(Vector256.Load(pu + 4 * pj[k + 3]), Vector256.Load(pu + 4 * pj[k + 7])) + Vector512.Create(Vector256.Load(ps + 4 * pc[k + 3]), Vector256.Load(ps + 4 * pc[k + 7])) - ui2;
                var t0 = Avx512F.UnpackLow(p0, p1); var t1 = Avx512F.UnpackHigh(p0, p1);   // (x0 x1 z0 z1 | x4 x5 z4 z5), (y0 y1 · · | y4 y5 · ·)
                var t2 = Avx512F.UnpackLow(p2, p3); var t3 = Avx512F.UnpackHigh(p2, p3);   // the same for entries 2, 3, 6, 7
                var x = Avx512F.PermuteVar8x64x2(t0, pick, t2);
                var y = Avx512F.PermuteVar8x64x2(t1, pick, t3);
                var z = Avx512F.PermuteVar8x64x2(t0, pickHigh, t2);
                var r2 = x * x + y * y + z * z;
                var keep = Vector512.LessThan(r2, rc2w);
                int kept = BitOperations.PopCount(keep.ExtractMostSignificantBits());
                if (kept == 0) continue;
                Avx512F.Compress(Vector512<double>.Zero, keep, x).Store(dx + m);
                Avx512F.Compress(Vector512<double>.Zero, keep, y).Store(dy + m);
                Avx512F.Compress(Vector512<double>.Zero, keep, z).Store(dz + m);
                Avx512F.Compress(Vector512<double>.Zero, keep, r2).Store(r2s + m);
                Avx512F.VL.Compress(Vector256<int>.Zero, Avx512F.ConvertToVector256Int32(keep.AsInt64()), Vector256.Load(pj + k)).Store(atom + m);
                m += kept;
            }
            for (; k + 4 <= k1; k += 4)
            {
                int j0 = pj[k], j1 = pj[k + 1], j2 = pj[k + 2], j3 = pj[k + 3];
                int c0 = pc[k], c1 = pc[k + 1], c2 = pc[k + 2], c3 = pc[k + 3];
                if ((uint)j0 >= n || (uint)j1 >= n || (uint)j2 >= n || (uint)j3 >= n
                    || (uint)c0 >= codes || (uint)c1 >= codes || (uint)c2 >= codes || (uint)c3 >= codes) throw new IndexOutOfRangeException();
                // (x_j + S_c) − x_i, as the scalar loop adds them.
                var a0 = Vector256.Load(pu + 4 * j0) + Vector256.Load(ps + 4 * c0) - ui;
                var a1 = Vector256.Load(pu + 4 * j1) + Vector256.Load(ps + 4 * c1) - ui;
                var a2 = Vector256.Load(pu + 4 * j2) + Vector256.Load(ps + 4 * c2) - ui;
                var a3 = Vector256.Load(pu + 4 * j3) + Vector256.Load(ps + 4 * c3) - ui;
                var t0 = Avx.UnpackLow(a0, a1); var t1 = Avx.UnpackHigh(a0, a1);   // (x0 x1 z0 z1), (y0 y1 · ·)
                var t2 = Avx.UnpackLow(a2, a3); var t3 = Avx.UnpackHigh(a2, a3);   // (x2 x3 z2 z3), (y2 y3 · ·)
                var x = Avx.Permute2x128(t0, t2, 0x20);
                var z = Avx.Permute2x128(t0, t2, 0x31);
                var y = Avx.Permute2x128(t1, t3, 0x20);
                var r2 = x * x + y * y + z * z;
                var keep = Vector256.LessThan(r2, rc2);
                int kept = BitOperations.PopCount(keep.ExtractMostSignificantBits());
                if (kept == 0) continue;
                Avx512F.VL.Compress(Vector256<double>.Zero, keep, x).Store(dx + m);
                Avx512F.VL.Compress(Vector256<double>.Zero, keep, y).Store(dy + m);
                Avx512F.VL.Compress(Vector256<double>.Zero, keep, z).Store(dz + m);
                Avx512F.VL.Compress(Vector256<double>.Zero, keep, r2).Store(r2s + m);
                Avx512F.VL.Compress(Vector128<int>.Zero, Avx512F.VL.ConvertToVector128Int32(keep.AsInt64()), Vector128.Create(j0, j1, j2, j3)).Store(atom + m);
                m += kept;
            }
        }
        return DecodeScalar(i, k, k1, m, index, image, u, img, s);
    }

    /// <summary>
    /// <see cref="DecodeWide"/>'s four-at-a-time loop without AVX-512 (AVX2 machines): the same loads and transpose, then
    /// every lane stored and the slot advanced by the lanes kept, as <see cref="DecodeScalar"/> (no compress before AVX-512).
    /// </summary>
    private unsafe int DecodeAvx(int i, int k, int k1, int at, ReadOnlySpan<int> index, ReadOnlySpan<ushort> image, double[] u, double[] img, KernelScratch s)
    {
        if (k1 > index.Length || k1 > image.Length || s.Atom.Length < at + (k1 - k)) throw new IndexOutOfRangeException();
        uint n = (uint)(u.Length / 4), codes = (uint)(img.Length / 4);
        int m = at;
        var rc2 = Vector256.Create(_rcList2);
        fixed (int* pj = index) fixed (ushort* pc = image) fixed (double* pu = u) fixed (double* ps = img)
        fixed (int* atom = s.Atom) fixed (double* dx = s.Dx) fixed (double* dy = s.Dy) fixed (double* dz = s.Dz) fixed (double* r2s = s.R2)
        {
            var ui = Vector256.Load(pu + 4 * i);
            for (; k + 4 <= k1; k += 4)
            {
                int j0 = pj[k], j1 = pj[k + 1], j2 = pj[k + 2], j3 = pj[k + 3];
                int c0 = pc[k], c1 = pc[k + 1], c2 = pc[k + 2], c3 = pc[k + 3];
                if ((uint)j0 >= n || (uint)j1 >= n || (uint)j2 >= n || (uint)j3 >= n
                    || (uint)c0 >= codes || (uint)c1 >= codes || (uint)c2 >= codes || (uint)c3 >= codes) throw new IndexOutOfRangeException();
                var a0 = Vector256.Load(pu + 4 * j0) + Vector256.Load(ps + 4 * c0) - ui;
                var a1 = Vector256.Load(pu + 4 * j1) + Vector256.Load(ps + 4 * c1) - ui;
                var a2 = Vector256.Load(pu + 4 * j2) + Vector256.Load(ps + 4 * c2) - ui;
                var a3 = Vector256.Load(pu + 4 * j3) + Vector256.Load(ps + 4 * c3) - ui;
                var t0 = Avx.UnpackLow(a0, a1); var t1 = Avx.UnpackHigh(a0, a1);
                var t2 = Avx.UnpackLow(a2, a3); var t3 = Avx.UnpackHigh(a2, a3);
                var x = Avx.Permute2x128(t0, t2, 0x20);
                var z = Avx.Permute2x128(t0, t2, 0x31);
                var y = Avx.Permute2x128(t1, t3, 0x20);
                var r2 = x * x + y * y + z * z;
                uint keep = Vector256.LessThan(r2, rc2).ExtractMostSignificantBits();
                if (keep == 0) continue;
                dx[m] = x.GetElement(0); dy[m] = y.GetElement(0); dz[m] = z.GetElement(0); r2s[m] = r2.GetElement(0); atom[m] = j0; m += (int)(keep & 1);
                dx[m] = x.GetElement(1); dy[m] = y.GetElement(1); dz[m] = z.GetElement(1); r2s[m] = r2.GetElement(1); atom[m] = j1; m += (int)((keep >> 1) & 1);
                dx[m] = x.GetElement(2); dy[m] = y.GetElement(2); dz[m] = z.GetElement(2); r2s[m] = r2.GetElement(2); atom[m] = j2; m += (int)((keep >> 2) & 1);
                dx[m] = x.GetElement(3); dy[m] = y.GetElement(3); dz[m] = z.GetElement(3); r2s[m] = r2.GetElement(3); atom[m] = j3; m += (int)(keep >> 3);
            }
        }
        return DecodeScalar(i, k, k1, m, index, image, u, img, s);
    }

    /// <summary>r, the radial sums Σ_e φ_n(r_e) per neighbour species, and per entry what <see cref="RadialGradient"/> needs for φ_n'.</summary>
    /// <remarks>
    /// With x_n = x_0 − nδ, g_n = exp(−x_0²/2) · exp(δ x_0)^n · c_n, c_n = exp(−n²δ²/2) a constant: the ladder runs on
    /// p_n = f_c exp(−x_0²/2) exp(δ x_0)^n (one multiplication and one addition per Gaussian and entry) and c_n scales
    /// each species' sum once. φ_n' is not stored: the gradient pass rebuilds Σ_n λ_n φ_n' as two polynomials in exp(δ x_0).
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)] // a frame of its own in profiles; called once per agent
    private void RadialValues(KernelScratch s, int blocks, Span<double> values)
    {
        int nr = _nr;
        ref double r2s = ref MemoryMarshal.GetArrayDataReference(s.R2);
        ref double rs = ref MemoryMarshal.GetArrayDataReference(s.R);
        if (nr == 0)
        {
            for (int b = 0; b < blocks; b++) V.Sqrt(V.LoadUnsafe(ref r2s, (nuint)(b * W))).StoreUnsafe(ref rs, (nuint)(b * W));
            return;
        }
        var acc = s.LadderSums;
        if (acc.Length < nr * W || s.Gauss0.Length < blocks * W) throw new InvalidOperationException("kernel scratch too small");
        ref V ac = ref Unsafe.As<double, V>(ref MemoryMarshal.GetArrayDataReference(acc));
        ref double gs = ref MemoryMarshal.GetArrayDataReference(s.Gauss0);
        ref double exs = ref MemoryMarshal.GetArrayDataReference(s.GaussStep);
        ref double hs = ref MemoryMarshal.GetArrayDataReference(s.H);
        ref double dhs = ref MemoryMarshal.GetArrayDataReference(s.Dh);
        for (int t = 0; t < _species; t++)
        {
            int b0 = s.GroupBase[t] / W, b1 = b0 + (s.GroupCount[t] + W - 1) / W;
            if (nr == 10)
            {
                // The default's ten Gaussians: the ten sums stay in registers (an array of sums costs ~3 % here).
                var a0 = V.Zero; var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0;
                var a5 = a0; var a6 = a0; var a7 = a0; var a8 = a0; var a9 = a0;
                for (int b = b0; b < b1; b++)
                {
                    var p = RadialBlock(ref r2s, ref rs, ref hs, ref dhs, ref gs, ref exs, (nuint)(b * W), out var ex);
                    // Even and odd n as two chains stepping by exp(δ x_0)², against the multiplication latency.
                    var q = p * ex;
                    var ex2 = ex * ex;
                    a0 += p; a1 += q; p *= ex2; q *= ex2;
                    a2 += p; a3 += q; p *= ex2; q *= ex2;
                    a4 += p; a5 += q; p *= ex2; q *= ex2;
                    a6 += p; a7 += q; p *= ex2; q *= ex2;
                    a8 += p; a9 += q;
                }
                ac = a0; Unsafe.Add(ref ac, 1) = a1; Unsafe.Add(ref ac, 2) = a2; Unsafe.Add(ref ac, 3) = a3; Unsafe.Add(ref ac, 4) = a4;
                Unsafe.Add(ref ac, 5) = a5; Unsafe.Add(ref ac, 6) = a6; Unsafe.Add(ref ac, 7) = a7; Unsafe.Add(ref ac, 8) = a8; Unsafe.Add(ref ac, 9) = a9;
            }
            else
            {
                acc.AsSpan(0, nr * W).Clear();
                for (int b = b0; b < b1; b++)
                {
                    var p = RadialBlock(ref r2s, ref rs, ref hs, ref dhs, ref gs, ref exs, (nuint)(b * W), out var ex);
                    ac += p;
                    var q = p * ex;
                    var ex2 = ex * ex;
                    int n = 1;
                    for (; n + 1 < nr; n += 2)
                    {
                        Unsafe.Add(ref ac, n) += q;
                        p *= ex2;
                        Unsafe.Add(ref ac, n + 1) += p;
                        q *= ex2;
                    }
                    if (n < nr) Unsafe.Add(ref ac, n) += q;
                }
            }
            for (int n = 0; n < nr; n++) values[_radialOffset + t * nr + n] = _ladderFactor[n] * V.Sum(Unsafe.Add(ref ac, n));
        }
    }

    /// <summary>
    /// One vector of entries: r, and for the gradient exp(−x_0²/2), exp(δ x_0), h_0 and Δh; returns the ladder's
    /// first term p_0 = f_c exp(−x_0²/2), with exp(δ x_0) (its step) in <paramref name="ex"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private V RadialBlock(ref double r2s, ref double rs, ref double hs, ref double dhs, ref double gs, ref double exs, nuint e, out V ex)
    {
        var iw = V.Create(_invWidth);
        var r2 = V.LoadUnsafe(ref r2s, e);
        var r = V.Sqrt(r2);
        r.StoreUnsafe(ref rs, e);
        var x0 = (r - V.Create(_mu0)) * iw;
        var fc = Simd.Cutoff(r, r2, _rcRadial, _invRcRadial2, _cutoffPower, out var dfc);
        // φ_n' = g_n (f_c' − f_c x_n / w) = g_n (h_0 + n Δh), h_0 = f_c' − f_c x_0 / w, Δh = δ f_c / w.
        var fciw = fc * iw;
        var delta = V.Create(_delta);
        (dfc - fciw * x0).StoreUnsafe(ref hs, e);
        (fciw * delta).StoreUnsafe(ref dhs, e);
        var g = Simd.Exp(x0 * x0 * -0.5);
        ex = Simd.Exp(x0 * delta);
        g.StoreUnsafe(ref gs, e);
        ex.StoreUnsafe(ref exs, e);
        return g * fc;
    }

    /// <summary>
    /// The k nearest distances to neighbours of species t, nearest first, ties in row order (as the generic path's
    /// insertion). Candidates are the entries below a threshold (the previous agent's k-th distance plus a margin,
    /// found eight at a time); if fewer than k lie below it, all entries are: the result does not depend on the
    /// threshold. Each candidate's rank is counted against all candidates in SIMD (no insertion branches).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // a frame of its own in profiles; called once per agent
    private void SortedValues(KernelScratch s, int ti, int t, Span<double> values)
    {
        int kmax = _sortedCounts[t];
        if (kmax == 0) return;
        int off = _sortedOffset[t], e0 = s.GroupBase[t], m = s.GroupCount[t];
        var sortedEntry = s.SortedEntry;
        ref double rs = ref MemoryMarshal.GetArrayDataReference(s.R);
        if (s.CandR.Length < m + 2 * W) throw new InvalidOperationException("kernel scratch too small");
        ref double cr = ref MemoryMarshal.GetArrayDataReference(s.CandR);
        ref long ce = ref MemoryMarshal.GetArrayDataReference(s.CandE);
        if (s.RankR.Length <= kmax) { s.RankR = new double[kmax + 1]; s.RankE = new int[kmax + 1]; }
        ref double sr = ref MemoryMarshal.GetArrayDataReference(s.RankR);
        ref int se = ref MemoryMarshal.GetArrayDataReference(s.RankE);
        double rc = _rcSorted;
        double tau = Math.Min(rc, s.Threshold[ti * _species + t]);
        int c;
        while (true)
        {
            c = V.PackBelow(ref rs, e0, e0 + m, tau, ref cr, ref ce, 0);
            if (c >= kmax || tau >= rc) break;
            tau = rc;
        }
        int blocks = (c + W - 1) / W;
        for (int q = c; q < blocks * W; q++) Unsafe.Add(ref cr, q) = double.PositiveInfinity;
        // rank_q = #{p : r_p < r_q}; ranks below k are the sorted slots, ranks past k land in a trash slot (no
        // unpredictable branch). Without ties the ranks are 0..c−1, so they sum to c(c−1)/2; a smaller sum means a tie.
        int sum = 0;
        if (blocks <= 2)
        {
            // The usual case (up to 16 candidates): both vectors in registers, no inner loop.
            var p0 = V.LoadUnsafe(ref cr);
            var p1 = blocks == 2 ? V.LoadUnsafe(ref cr, (nuint)W) : V.Create(double.PositiveInfinity);
            for (int q = 0; q < c; q++)
            {
                double r = Unsafe.Add(ref cr, q);
                var vr = V.Create(r);
                int rank = BitOperations.PopCount(V.LessThan(p0, vr).ExtractMostSignificantBits())
                    + BitOperations.PopCount(V.LessThan(p1, vr).ExtractMostSignificantBits());
                sum += rank;
                int slot = Math.Min(rank, kmax);
                Unsafe.Add(ref sr, slot) = r;
                Unsafe.Add(ref se, slot) = (int)Unsafe.Add(ref ce, q);
            }
        }
        else
        {
            for (int q = 0; q < c; q++)
            {
                double r = Unsafe.Add(ref cr, q);
                var vr = V.Create(r);
                int rank = 0;
                for (int b = 0; b < blocks; b++)
                    rank += BitOperations.PopCount(V.LessThan(V.LoadUnsafe(ref cr, (nuint)(b * W)), vr).ExtractMostSignificantBits());
                sum += rank;
                int slot = Math.Min(rank, kmax);
                Unsafe.Add(ref sr, slot) = r;
                Unsafe.Add(ref se, slot) = (int)Unsafe.Add(ref ce, q);
            }
        }
        if (sum != c * (c - 1) / 2)
        {
            // A tie (rare): ranked again, the earlier entry first (as the generic path's insertion).
            for (int q = 0; q < c; q++)
            {
                double r = Unsafe.Add(ref cr, q);
                int rank = 0;
                for (int p = 0; p < c; p++) rank += Unsafe.Add(ref cr, p) < r || (p < q && Unsafe.Add(ref cr, p) == r) ? 1 : 0;
                int slot = Math.Min(rank, kmax);
                Unsafe.Add(ref sr, slot) = r;
                Unsafe.Add(ref se, slot) = (int)Unsafe.Add(ref ce, q);
            }
        }
        int found = Math.Min(c, kmax);
        for (int q = 0; q < found; q++) { values[off + q] = Unsafe.Add(ref sr, q); sortedEntry[off + q] = Unsafe.Add(ref se, q); }
        for (int q = found; q < kmax; q++) { values[off + q] = rc; sortedEntry[off + q] = -1; }
        s.Threshold[ti * _species + t] = found == kmax ? values[off + kmax - 1] + ThresholdMargin : rc;
    }

    /// <summary>Å added to an agent's k-th distance to pick the next agent's candidates (a speed knob only).</summary>
    private const double ThresholdMargin = 0.5;

    /// <summary>P_l(cos θ) of the sorted angles; keeps cos θ and dP_l/dcos θ per angle for <see cref="AngleGradient"/>.</summary>
    private void AngleValues(KernelScratch s, int agentType, Span<double> values)
    {
        int deg = _angleDegree;
        if (deg == 0) return;
        var dps = s.AngleSlopes;
        for (int a = 0; a < _angles; a++)
        {
            int o = _angleOffset + a * deg - 1;
            if (!_sortedAngles.Legs(s.SortedEntry, agentType, a, out int ej, out int ek))
            {
                for (int l = 1; l <= deg; l++) values[o + l] = 0;
                s.AngleCos[a] = double.NaN; // absent: no force
                continue;
            }
            double x = Cosine(s, ej, ek);
            s.AngleCos[a] = x;
            // Bonnet's recursion with the divisions folded into constants.
            double p0 = 1, p1 = x, d0 = 0, d1 = 1;
            values[o + 1] = p1; dps[a * deg] = d1;
            for (int l = 1; l < deg; l++)
            {
                double p2 = _bonnetA[l] * x * p1 - _bonnetB[l] * p0;
                double d2 = d0 + (2 * l + 1) * p1;
                values[o + l + 1] = p2; dps[a * deg + l] = d2;
                p0 = p1; p1 = p2; d0 = d1; d1 = d2;
            }
        }
    }

    /// <summary>The sorted angles' forces: ∂L/∂cos θ times ∂cos θ/∂d for both legs, into F_i, the virial and (conservative) the neighbours.</summary>
    private void AngleGradient(KernelScratch s, int agentType, double[] forces, bool conservative, ref double fx, ref double fy, ref double fz)
    {
        int deg = _angleDegree;
        var lambda = s.Lambda;
        var dps = s.AngleSlopes;
        for (int a = 0; a < _angles; a++)
        {
            double c = s.AngleCos[a];
            if (double.IsNaN(c)) continue;
            _sortedAngles.Legs(s.SortedEntry, agentType, a, out int ej, out int ek);
            double ac = 0;
            for (int l = 0; l < deg; l++) ac += lambda[_angleOffset + a * deg + l] * dps[a * deg + l];
            CosineForce(s, ej, ek, c, ac, forces, conservative, ref fx, ref fy, ref fz);
        }
    }

    /// <summary>
    /// Per entry of species t the radial slope s_e = ∂L/∂r_e (radial sums via φ', sorted slots, pair wall), then
    /// G_e = s_e d_e / r_e into F_i and the virial, a vector of entries at a time. Returns the pair-wall energy.
    /// </summary>
    private double RadialGradient(KernelScratch s, int ti, int t, ref double fx, ref double fy, ref double fz, bool conservative)
    {
        int nr = _nr;
        int b0 = s.GroupBase[t] / W, b1 = b0 + (s.GroupCount[t] + W - 1) / W;
        if (b1 == b0) return 0;
        ref double rs = ref MemoryMarshal.GetArrayDataReference(s.R);
        ref double sortedSlope = ref MemoryMarshal.GetArrayDataReference(s.SortedSlope);
        ref double dxs = ref MemoryMarshal.GetArrayDataReference(s.Dx);
        ref double dys = ref MemoryMarshal.GetArrayDataReference(s.Dy);
        ref double dzs = ref MemoryMarshal.GetArrayDataReference(s.Dz);
        ref double slopeOverR = ref MemoryMarshal.GetArrayDataReference(s.SlopeOverR);
        ref double gs = ref MemoryMarshal.GetArrayDataReference(s.Gauss0);
        ref double exs = ref MemoryMarshal.GetArrayDataReference(s.GaussStep);
        ref double hs = ref MemoryMarshal.GetArrayDataReference(s.H);
        ref double dhs = ref MemoryMarshal.GetArrayDataReference(s.Dh);
        int pairs = (nr + 1) / 2; // coefficients in (even, odd) pairs, the last odd one zero when N is odd
        if (s.Lambda.Length < _radialOffset + (t + 1) * nr || s.Gauss0.Length < b1 * W || s.SlopeCoefficients.Length < 4 * pairs) throw new InvalidOperationException("kernel scratch too small");
        // Σ_n λ_n φ_n' = g_0 (h_0 A + Δh B), A = Σ_n λ_n c_n e^n, B = Σ_n n λ_n c_n e^n (e = exp(δ x_0)): the coefficients.
        var coefficients = s.SlopeCoefficients;
        for (int n = 0; n < 2 * pairs; n++)
        {
            double l = n < nr ? s.Lambda[_radialOffset + t * nr + n] * _ladderFactor[n] : 0;
            coefficients[2 * n] = l; coefficients[2 * n + 1] = n * l;
        }
        ref double lc = ref MemoryMarshal.GetArrayDataReference(coefficients);
        int speciesPair = ti * _species + t;
        double wallK = _wallStrength[speciesPair];
        var rmin = V.Create(_wallRMin[speciesPair]);
        var vfx = V.Zero; var vfy = vfx; var vfz = vfx; var wall = vfx;
        if (s.RadialVirial.Length < 6 * W) throw new InvalidOperationException("kernel scratch too small");
        ref V rw = ref Unsafe.As<double, V>(ref MemoryMarshal.GetArrayDataReference(s.RadialVirial));
        var wxx = rw; var wyy = Unsafe.Add(ref rw, 1); var wzz = Unsafe.Add(ref rw, 2); var wxy = Unsafe.Add(ref rw, 3); var wxz = Unsafe.Add(ref rw, 4); var wyz = Unsafe.Add(ref rw, 5);
        for (int b = b0; b < b1; b++)
        {
            nuint e = (nuint)(b * W);
            var r = V.LoadUnsafe(ref rs, e);
            var slope = V.LoadUnsafe(ref sortedSlope, e);
            if (pairs > 0) // no Gaussians (a sorted-only basis): nothing radial to add
            {
                // The two polynomials by Horner, each split into even and odd powers: four chains in e² against the FMA latency.
                var ex = V.LoadUnsafe(ref exs, e);
                var ex2 = ex * ex;
                ref double top = ref Unsafe.Add(ref lc, 4 * (pairs - 1));
                var ae = V.Create(top); var be = V.Create(Unsafe.Add(ref top, 1));
                var ao = V.Create(Unsafe.Add(ref top, 2)); var bo = V.Create(Unsafe.Add(ref top, 3));
                for (int m = pairs - 2; m >= 0; m--)
                {
                    ref double c = ref Unsafe.Add(ref lc, 4 * m);
                    ae = V.FusedMultiplyAdd(ae, ex2, V.Create(c));
                    be = V.FusedMultiplyAdd(be, ex2, V.Create(Unsafe.Add(ref c, 1)));
                    ao = V.FusedMultiplyAdd(ao, ex2, V.Create(Unsafe.Add(ref c, 2)));
                    bo = V.FusedMultiplyAdd(bo, ex2, V.Create(Unsafe.Add(ref c, 3)));
                }
                var pa = V.FusedMultiplyAdd(ao, ex, ae);
                var pb = V.FusedMultiplyAdd(bo, ex, be);
                var ladder = V.FusedMultiplyAdd(V.LoadUnsafe(ref hs, e), pa, V.LoadUnsafe(ref dhs, e) * pb);
                slope = V.FusedMultiplyAdd(V.LoadUnsafe(ref gs, e), ladder, slope);
            }
            if (wallK != 0)
            {
                // The fixed wall k (r_min − r)³ under the loss.
                var gap = V.Max(rmin - r, V.Zero);
                var kg2 = gap * gap * wallK;
                wall += kg2 * gap;
                slope -= kg2 * 3.0;
            }
            var coef = slope / r;
            var dx = V.LoadUnsafe(ref dxs, e);
            var dy = V.LoadUnsafe(ref dys, e);
            var dz = V.LoadUnsafe(ref dzs, e);
            var gx = coef * dx; var gy = coef * dy; var gz = coef * dz;
            vfx += gx; vfy += gy; vfz += gz;
            wxx -= gx * dx; wyy -= gy * dy; wzz -= gz * dz;
            wxy -= gx * dy; wxz -= gx * dz; wyz -= gy * dz;
            if (conservative) coef.StoreUnsafe(ref slopeOverR, e);
        }
        rw = wxx; Unsafe.Add(ref rw, 1) = wyy; Unsafe.Add(ref rw, 2) = wzz; Unsafe.Add(ref rw, 3) = wxy; Unsafe.Add(ref rw, 4) = wxz; Unsafe.Add(ref rw, 5) = wyz;
        fx += V.Sum(vfx); fy += V.Sum(vfy); fz += V.Sum(vfz);
        return V.Sum(wall);
    }
}

/// <summary>
/// The neighbour list's x + t and image translations as (x, y, z, 0) quadruples, so the kernel loads a neighbour's
/// coordinates in one 256-bit load. Refreshed once per evaluation (O(N), ~1 ns an atom); images only after a build.
/// </summary>
internal sealed class PaddedCoordinates
{
    private long _builds = -1;
    public double[] Positions = [], Images = [];

    public void Update(NeighbourList list)
    {
        var u = list.Unwrapped;
        int n = u.Length / 3;
        if (Positions.Length < 4 * n) Positions = new double[4 * n];
        for (int i = 0; i < n; i++) { Positions[4 * i] = u[3 * i]; Positions[4 * i + 1] = u[3 * i + 1]; Positions[4 * i + 2] = u[3 * i + 2]; }
        if (list.Builds == _builds) return;
        _builds = list.Builds;
        var img = list.ImageTranslations;
        int codes = img.Length / 3;
        if (Images.Length < 4 * codes) Images = new double[4 * codes];
        for (int c = 0; c < codes; c++) { Images[4 * c] = img[3 * c]; Images[4 * c + 1] = img[3 * c + 1]; Images[4 * c + 2] = img[3 * c + 2]; }
    }
}

/// <summary>Working storage of <see cref="SortedGaussianKernel"/>, one per worker thread (reused by its chunks); grows, never shrinks.</summary>
internal sealed class KernelScratch
{
    public int[] Atom = [];
    /// <summary>Per entry (species by species, each padded to whole vectors): displacement, r², r; exp(−x_0²/2), exp(δ x_0), h_0, Δh.</summary>
    public double[] Dx = [], Dy = [], Dz = [], R2 = [], R = [], Gauss0 = [], GaussStep = [], H = [], Dh = [];
    /// <summary>Per entry: ∂L/∂r from the sorted slots and the shells (zero elsewhere); the conservative scatter's s_e / r_e.</summary>
    public double[] SortedSlope = [], SlopeOverR = [];
    /// <summary>The gradient's polynomial coefficients of one species: λ_n c_n, n λ_n c_n interleaved (N rounded up to even, zeros past N).</summary>
    public double[] SlopeCoefficients = [];
    /// <summary>The radial sums of one species per n, lane by lane (n · 8 + lane, as many lanes as the kernel's vectors).</summary>
    public double[] LadderSums = [];
    public double[] Values = [], Lambda = [];
    /// <summary>The last agent's extrapolation signal and the invariant giving it (−1: inside its training range).</summary>
    public double Extrapolation;
    public int ExtrapolationInvariant = -1;
    /// <summary>The invariants with non-zero rows of C, gathered, and their C I (when the loss is compacted).</summary>
    public double[] QuadraticValues = [], QuadraticProduct = [];
    public int[] SortedEntry = [];
    /// <summary>Per species: first entry and real (unpadded) count of its entries in the arrays above.</summary>
    public int[] GroupBase = [], GroupCount = [];
    /// <summary>Per (agent species, neighbour species): the sorted-distance candidate threshold (Å).</summary>
    public double[] Threshold = [];
    /// <summary>The virial of the chunk being run: the radial part (symmetric) per lane, the rest (sorted angles, shell angles, angular sums) in full.</summary>
    public readonly double[] RadialVirial = new double[6 * 8]; // xx yy zz xy xz yz, lane by lane
    public readonly double[] AngleVirial = new double[9];
    /// <summary>Per sorted angle: cos θ (NaN when the angle is absent) and dP_l/dcos θ, kept from the values for the gradient.</summary>
    public double[] AngleCos = [], AngleSlopes = [];
    /// <summary>Sorted-distance candidates of one species: distance and entry.</summary>
    public double[] CandR = [];
    public long[] CandE = [];
    /// <summary>The k nearest by rank, plus one trash slot for the ranks past k.</summary>
    public double[] RankR = [];
    public int[] RankE = [];
    /// <summary>The entries inside the agent's shell reach (<see cref="KernelShells"/>): r and entry, species t from ShellStart[t].</summary>
    public double[] ShellR = [];
    public long[] ShellEntry = [];
    public int[] ShellStart = [];
    /// <summary>P_l and dP_l/dx of one shell angle (degree ≤ 8): [0, 9) and [9, 18).</summary>
    public readonly double[] ShellLegendre = new double[18];
    /// <summary>The angular sums' packed entries and accumulators (<see cref="KernelAngular{V}"/>).</summary>
    public readonly AngularScratch Angular = new();

    public void Ensure(int maxRow, int nr, int species, int invariants, int angleSlopes)
    {
        if (AngleSlopes.Length < angleSlopes) { AngleSlopes = new double[angleSlopes]; AngleCos = new double[angleSlopes]; }
        int size = (maxRow + 8 * species + 7) / 8 * 8;
        if (Atom.Length < size)
        {
            // A quarter of headroom: rows grow by a few entries between rebuilds, and every growth allocates.
            size = Math.Max((size + size / 4 + 7) / 8 * 8, 2 * Atom.Length);
            Atom = new int[size];
            Dx = new double[size]; Dy = new double[size]; Dz = new double[size]; R2 = new double[size]; R = new double[size];
            Gauss0 = new double[size]; GaussStep = new double[size]; H = new double[size]; Dh = new double[size];
            SortedSlope = new double[size]; SlopeOverR = new double[size];
            CandR = new double[size + 8]; CandE = new long[size + 8];
            ShellR = new double[size + 8]; ShellEntry = new long[size + 8];
        }
        if (SlopeCoefficients.Length < 2 * nr + 2) SlopeCoefficients = new double[2 * nr + 2];
        if (LadderSums.Length < 8 * nr) LadderSums = new double[8 * nr];
        if (Values.Length < invariants)
        {
            int padded = (invariants + 7) / 8 * 8; // the loss reads whole vectors: the padding stays zero
            Values = new double[padded]; Lambda = new double[padded]; SortedEntry = new int[invariants];
            QuadraticValues = new double[padded]; QuadraticProduct = new double[padded];
        }
        if (GroupBase.Length < species)
        {
            GroupBase = new int[species]; GroupCount = new int[species]; ShellStart = new int[species + 1];
            Threshold = new double[species * species];
            Threshold.AsSpan().Fill(double.PositiveInfinity);
        }
    }
}
