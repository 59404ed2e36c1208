using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Numerics;

namespace MolecularLearning.Learning;

/// <summary>The sorted distances (<see cref="SortedDistances"/>) on the kernel's decoded row: ranks counted in SIMD against a vector of candidates.</summary>
internal sealed partial class SortedGaussianKernel<V>
{
    // From SortedDistances (set in the constructor): the radius, k_t and first slot per neighbour species, all slots.
    private readonly double _rcSorted;
    private readonly int[] _sortedCounts, _sortedOffset;
    private readonly int _sortedTotal;

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
        else if (blocks <= 4)
        {
            // Up to four vectors of candidates (16 at 256 bits, as the two vectors at 512) in registers, the unused one +∞.
            var inf = V.Create(double.PositiveInfinity);
            var p0 = V.LoadUnsafe(ref cr);
            var p1 = V.LoadUnsafe(ref cr, (nuint)W);
            var p2 = V.LoadUnsafe(ref cr, (nuint)(2 * W));
            var p3 = blocks == 4 ? V.LoadUnsafe(ref cr, (nuint)(3 * W)) : inf;
            for (int q = 0; q < c; q++)
            {
                double r = Unsafe.Add(ref cr, q);
                var vr = V.Create(r);
                int rank = BitOperations.PopCount(V.LessThan(p0, vr).ExtractMostSignificantBits())
                    + BitOperations.PopCount(V.LessThan(p1, vr).ExtractMostSignificantBits())
                    + BitOperations.PopCount(V.LessThan(p2, vr).ExtractMostSignificantBits())
                    + BitOperations.PopCount(V.LessThan(p3, vr).ExtractMostSignificantBits());
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
}
