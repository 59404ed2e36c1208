namespace MolecularLearning.Learning;

/// <summary>
/// (e) Angular shells (<see cref="InvariantOptions.Shells"/>): per agent species, for each pair (A ≤ B) of its
/// shells and degree l = 1..L, Σ over neighbour pairs j ≠ k of h_A(r_ij) h_B(r_ik) P_l(cos θ_jik).
/// Layout: per agent species in the set's order, its shell pairs (A, B) row by row, each with L degrees;
/// an agent of another species sees a constant 0 there.
/// </summary>
public sealed partial class InvariantSet
{
    private int[] _shellStart = [];        // per agent species t: its shells are [start[t], start[t + 1])
    private int[] _shellPairBase = [];     // per agent species: first invariant index of its shell pairs
    private int[] _shellNeighbour = [];    // per shell: neighbour species index, −1 if the set lacks it
    private AngularShell[] _shells = [];   // ordered by agent species
    private double _shellReach;            // largest centre + half-width

    internal int ShellOffset { get; private set; }
    internal int ShellDegree { get; private set; }
    /// <summary>One past the last shell invariant.</summary>
    internal int ShellEnd { get; private set; }

    /// <summary>Lays the shell invariants out from index <paramref name="k"/>; returns the next free index.</summary>
    private int LayoutShells(int k)
    {
        ShellOffset = k;
        var options = Options;
        int t = _species.Length;
        ShellDegree = options.ShellDegree;
        _shellStart = new int[t + 1];
        _shellPairBase = new int[t];
        ShellEnd = k;
        if (ShellDegree == 0) return k;
        var ordered = new List<AngularShell>();
        for (int a = 0; a < t; a++)
        {
            _shellStart[a] = ordered.Count;
            ordered.AddRange(options.Shells.Where(sh => sh.Agent == _species[a].Symbol));
            int n = ordered.Count - _shellStart[a];
            _shellPairBase[a] = k;
            k += n * (n + 1) / 2 * ShellDegree;
        }
        _shellStart[t] = ordered.Count;
        _shells = [.. ordered];
        _shellNeighbour = [.. _shells.Select(sh => Array.FindIndex(_species, x => x.Symbol == sh.Neighbour))];
        _shellReach = _shells.Length == 0 ? 0 : _shells.Max(sh => sh.Centre + sh.HalfWidth);
        ShellEnd = k;
        return k;
    }

    private void ShellLabels(string[] labels)
    {
        for (int a = 0; a < _species.Length; a++)
        {
            int first = _shellStart[a], n = _shellStart[a + 1] - first, q = 0;
            for (int x = 0; x < n; x++)
                for (int y = x; y < n; y++, q++)
                    for (int l = 1; l <= ShellDegree; l++)
                        labels[_shellPairBase[a] + q * ShellDegree + l - 1] =
                            $"P{l}({_species[a].Symbol}:{_shells[first + x].Neighbour}{_shells[first + x].Centre},{_shells[first + y].Neighbour}{_shells[first + y].Centre})";
        }
    }

    /// <summary>Values (gradient false) or derivatives (true) of the agent's shell invariants.</summary>
    private void ShellPass<TSink>(AgentScratch s, Span<double> values, bool gradient, ref TSink sink) where TSink : struct, IGradientSink
    {
        int agent = s.AgentType, first = _shellStart[agent], ns = _shellStart[agent + 1] - first;
        if (ns == 0) return;
        int L = ShellDegree, entries = s.Entries;
        // h_A and h_A' of every entry that lies in some shell of this agent (recomputed in the gradient pass:
        // a few multiplications per entry, and no state kept between the passes).
        int size = entries * ns;
        Span<double> h = size <= 1024 ? stackalloc double[size] : new double[size];
        Span<double> dh = size <= 1024 ? stackalloc double[size] : new double[size];
        Span<int> member = entries <= 256 ? stackalloc int[entries] : new int[entries];
        int m = 0;
        for (int e = 0; e < entries; e++)
        {
            double r = s.R[e];
            if (r >= _shellReach) continue;
            bool any = false;
            for (int a = 0; a < ns; a++)
            {
                double v = 0, d = 0;
                if (s.Type[e] == _shellNeighbour[first + a]) v = _shells[first + a].Value(r, out d);
                h[m * ns + a] = v; dh[m * ns + a] = d;
                any |= v != 0;
            }
            if (any) member[m++] = e;
        }
        Span<double> p = stackalloc double[L + 1], dp = stackalloc double[L + 1];
        int pairBase = _shellPairBase[agent];
        for (int j = 0; j < m; j++)
        {
            int ej = member[j];
            for (int k = j + 1; k < m; k++)
            {
                int ek = member[k];
                double c = s.Ux[ej] * s.Ux[ek] + s.Uy[ej] * s.Uy[ek] + s.Uz[ej] * s.Uz[ek];
                Legendre(c, L, p, dp);
                if (gradient) sink.BeginPair(s, ej, ek, c);
                int q = 0;
                for (int a = 0; a < ns; a++)
                {
                    double hja = h[j * ns + a], hka = h[k * ns + a], dja = dh[j * ns + a], dka = dh[k * ns + a];
                    for (int b = a; b < ns; b++, q++)
                    {
                        // Weight of the pair in shells (A, B) and its derivatives with respect to r_j and r_k.
                        double w, wj, wk;
                        if (a == b) { w = hja * hka; wj = dja * hka; wk = hja * dka; }
                        else
                        {
                            double hjb = h[j * ns + b], hkb = h[k * ns + b];
                            w = hja * hkb + hjb * hka;
                            wj = dja * hkb + dh[j * ns + b] * hka;
                            wk = hja * dh[k * ns + b] + hjb * dka;
                        }
                        if (w == 0 && wj == 0 && wk == 0) continue;
                        int idx = pairBase + q * L - 1;
                        if (!gradient)
                            for (int l = 1; l <= L; l++) values[idx + l] += w * p[l];
                        else
                            for (int l = 1; l <= L; l++) sink.Pair(idx + l, wj * p[l], wk * p[l], w * dp[l]);
                    }
                }
                if (gradient) sink.EndPair(s);
            }
        }
    }
}
