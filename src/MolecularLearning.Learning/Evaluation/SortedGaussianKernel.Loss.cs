using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MolecularLearning.Learning;

/// <summary>The loss L(I) = b·I + ½ Iᵀ C I with its range walls, λ = ∂L/∂I, and the extrapolation signal, a vector of invariants at a time.</summary>
internal sealed partial class SortedGaussianKernel<V>
{
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
        var walls = V.Zero; // Σ of how far out, every lane ≥ 0: positive when some wall acts
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
                var above = V.Max(V.Zero, x - V.LoadUnsafe(ref _boundMax[ti]![v])) * inv;
                var below = V.Max(V.Zero, V.LoadUnsafe(ref min[v]) - x) * inv;
                // Past the cap the wall goes on along its tangent (InvariantBounds.Wall); an uncapped wall adds exact zeros.
                var cap = V.Create(_boundCap[ti]);
                var ca = V.Min(cap, above); var cb = V.Min(cap, below);
                loss += (ca * ca * ca + cb * cb * cb + (ca * ca * (above - ca) + cb * cb * (below - cb)) * 3) * strength;
                walls += above + below;
                l += (ca * ca - cb * cb) * inv * (3 * strength);
            }
            l.StoreUnsafe(ref lv, (nuint)v);
        }
        s.Walled = V.Sum(walls) > 0; // read for WallForces.Gradient (WallReactions)
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
}
