using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
/// Files, one per family, each beside the family type (Invariants/Families/) it takes its parameters from:
/// SortedGaussianKernel.SortedDistances.cs, .RadialSums.cs, .AngularSums.cs, .SortedAngles.cs, .Shells.cs (shells and shell
/// angles); and the plumbing: this file (creation, the agent loop), .Decode.cs (the neighbour row), .Loss.cs (L, λ and
/// extrapolation), .Scratch.cs, .Simd.cs (<see cref="ISimd{V}"/> at 512, 256, 128 bits), .Simd.Exp.cs and .Simd.Mixed.cs (the exponential in double and mixed precision).
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

    /// <summary>Whether the per-pair exponentials run in single precision (<see cref="Precision.Mixed"/>).</summary>
    public abstract bool Mixed { get; }

    /// <summary>Evaluates agents [from, to): forces (agent: F_i; conservative: scattered), energy and virial of the chunk.</summary>
    /// <remarks>The list's rows must be grouped by neighbour species (<see cref="NeighbourList.SetGrouping"/> with the types).</remarks>
    /// <remarks>With <paramref name="extrapolation"/> (the model has training ranges), each agent's signal and its invariant (−1: inside) go to [i].</remarks>
    /// <remarks>With <paramref name="walled"/>, whether agent i's range walls act goes to [i].</remarks>
    internal abstract double Run(int from, int to, KernelScratch s, NeighbourList list, PaddedCoordinates xyz, int[] types, double[] forces, bool conservative, Span<double> virial,
        double[]? extrapolation = null, int[]? extrapolationInvariant = null, bool[]? walled = null);

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
    /// <remarks><paramref name="mixed"/>: the per-pair exponentials in single precision (<see cref="Precision.Mixed"/>).</remarks>
    public static SortedGaussianKernel? TryCreate(LearnedModel model, int vectorBits = 0, bool mixed = false) =>
        Create(model, vectorBits, mixed, softwareVectors: false);

    /// <summary>
    /// As <see cref="TryCreate"/>; with <paramref name="softwareVectors"/> a width this CPU does not accelerate is made
    /// anyway, its vectors in the runtime's software fallback: many times slower, but the same source and arithmetic at
    /// that width, so tests check the 512-bit kernel's logic on CPUs without AVX-512. Only the instructions the width
    /// picks for itself (AVX-512 compress in <see cref="Simd512.PackBelow"/> and the decode) are not exercised.
    /// </summary>
    internal static SortedGaussianKernel? Create(LearnedModel model, int vectorBits, bool mixed, bool softwareVectors)
    {
        if (vectorBits == 0) vectorBits = WidestAcceleratedBits;
        if (vectorBits is not (512 or 256 or 128)) throw new ArgumentOutOfRangeException(nameof(vectorBits), vectorBits, "vector width: 0, 512, 256 or 128 bits");
        if (!softwareVectors && !IsAccelerated(vectorBits) || Unsupported(model) is not null) return null;
        return vectorBits switch
        {
            512 => new SortedGaussianKernel<Simd512>(model, mixed),
            256 => new SortedGaussianKernel<Simd256>(model, mixed),
            _ => new SortedGaussianKernel<Simd128>(model, mixed),
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
    private static int W { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => V.Count; } // doubles in a vector

    public override int VectorBits => 64 * V.Count;

    public override bool Mixed => _mixed;
    private readonly bool _mixed;                                // --precision mixed: the Gaussians' exp in float (Simd.ExpMixed)

    private readonly InvariantSet _set;
    private readonly int _species;
    private readonly double _rcList2;                            // the neighbour list's cutoff, squared
    private readonly double[] _wallRMin, _wallStrength;          // pair walls per (agent, neighbour) species (the radial gradient pass)
    private readonly int _k, _kPadded;                           // invariants, and rounded up to whole vectors
    private readonly double[][] _lossB;                          // per agent species: b (padded with zeros)
    private readonly double[]?[] _lossC;                         // per agent species: C, K rows of _kPadded (null: order 1), or compacted (below)
    private readonly int[]?[] _quadratic;                        // per agent species: the invariants with a non-zero row of C, when some rows are zero (null: all)
    private readonly double[]?[] _boundMin, _boundMax, _boundInvScale; // range walls (null: none)
    private readonly double[] _boundStrength, _boundCap;
    private readonly KernelShells? _shells;                      // smooth shells and shell angles (null: none)
    private readonly KernelAngular<V>? _angular;                    // angular sums over neighbour pairs (null: none)
    private readonly bool[] _angularLinear;                      // per agent species: λ of the angular sums is b, whatever I (see the constructor)
    private readonly ExtrapolationMonitor? _monitor;             // training ranges (null: the model file has none)

    internal SortedGaussianKernel(LearnedModel model, bool mixed = false)
    {
        _mixed = mixed;
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
        _angular = KernelAngular<V>.Create(_set.AngularSums, _species, mixed);
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


    internal override double Run(int from, int to, KernelScratch s, NeighbourList list, PaddedCoordinates xyz, int[] types, double[] forces, bool conservative, Span<double> virial,
        double[]? extrapolation = null, int[]? extrapolationInvariant = null, bool[]? walled = null)
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
            if (walled is not null) walled[i] = s.Walled;
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
}
