using System.Runtime.InteropServices;

namespace MolecularLearning.Learning;

/// <summary>
/// The smooth shells (<see cref="ShellSum"/>, <see cref="ShellAngle"/>) on <see cref="SortedGaussianKernel"/>'s decoded row.
/// Only neighbours closer than the largest shell edge count (2.6 Å in the conservative default: two to six of the ~90
/// entries of a 6 Å row), so per agent the entries inside it are packed out of the row once (<see cref="ISimd{V}.PackBelow"/>:
/// AVX-512 compress where there is one), and the shells run scalar on those few, with the generic path's switch
/// (<see cref="ShellWindow.Weight"/>) and Legendre recursion (<see cref="InvariantSet.Legendre"/>).
/// </summary>
/// <remarks>
/// Gradients: a shell sum depends on r_e only and a shell angle's weights on r_j and r_k, so their ∂L/∂r go into the
/// entries' <see cref="KernelScratch.SortedSlope"/> beside the sorted slots' and reach F_i, the virial and (conservative)
/// the neighbours through the kernel's radial pass; the cos θ part goes through <see cref="SortedGaussianKernel.CosineForce"/>,
/// as the sorted angles'.
/// </remarks>
internal sealed class KernelShells
{
    private const int W = 8;
    private readonly int _species;
    private readonly Shells.Item[] _sums;
    private readonly ShellAngles.Item[] _angles;
    private readonly double[] _reach; // [agent species · T + neighbour species]: the largest shell edge that pair uses (0: none)
    private readonly bool[] _sees;    // per agent species: any shell at all
    private readonly int _first, _end; // the shell invariants' range [first, end) in the layout (they are summed into: cleared first)

    private KernelShells(Shells shells, ShellAngles angles, int species)
    {
        _species = species;
        _sums = shells.Items;
        _angles = angles.Items;
        _reach = new double[_species * _species];
        _sees = new bool[_species];
        _first = Math.Min(_sums.Length > 0 ? _sums.Min(sh => sh.Offset) : int.MaxValue, _angles.Length > 0 ? _angles.Min(a => a.Offset) : int.MaxValue);
        _end = Math.Max(_sums.Length > 0 ? _sums.Max(sh => sh.Offset + sh.Degree) : 0, _angles.Length > 0 ? _angles.Max(a => a.Offset + a.Degree) : 0);
        void Reach(int agent, int type, double off)
        {
            if (agent < 0 || type < 0) return; // a species the model lacks: the invariant stays zero
            ref double r = ref _reach[agent * _species + type];
            r = Math.Max(r, off);
            _sees[agent] = true;
        }
        foreach (var sh in _sums) Reach(sh.Agent, sh.Type, sh.Window.Off);
        foreach (var a in _angles)
        {
            if (a.TypeA < 0 || a.TypeB < 0) continue;
            Reach(a.Agent, a.TypeA, a.A.Off);
            Reach(a.Agent, a.TypeB, a.B.Off);
        }
    }

    /// <summary>The shells of this set, or null when it has none.</summary>
    public static KernelShells? Create(Shells shells, ShellAngles angles, int species) =>
        shells.Items.Length + angles.Items.Length > 0 ? new KernelShells(shells, angles, species) : null;

    /// <summary>
    /// Packs the entries closer than the agent's shell reach, species by species (r and entry into <see cref="KernelScratch.ShellR"/>
    /// and <see cref="KernelScratch.ShellEntry"/>, species t from <see cref="KernelScratch.ShellStart"/>[t]), then adds the shell values.
    /// Needs r of every entry (after the radial pass).
    /// </summary>
    public void Values<V>(KernelScratch s, int ti, Span<double> values) where V : struct, ISimd<V>
    {
        values[_first.._end].Clear();
        var start = s.ShellStart;
        int c = 0;
        if (_sees[ti])
        {
            ref double rs = ref MemoryMarshal.GetArrayDataReference(s.R);
            ref double sr = ref MemoryMarshal.GetArrayDataReference(s.ShellR);
            ref long se = ref MemoryMarshal.GetArrayDataReference(s.ShellEntry);
            for (int t = 0; t < _species; t++)
            {
                start[t] = c;
                double reach = _reach[ti * _species + t];
                if (reach == 0) continue;
                int e0 = s.GroupBase[t], end = e0 + s.GroupCount[t];
                if (s.ShellR.Length < c + end - e0 + W || s.R.Length < e0 + (end - e0 + W - 1) / W * W) throw new InvalidOperationException("kernel scratch too small");
                c = V.PackBelow(ref rs, e0, end, reach, ref sr, ref se, c);
            }
        }
        else for (int t = 0; t < _species; t++) start[t] = 0;
        start[_species] = c;
        if (c == 0) return;

        foreach (var sh in _sums)
        {
            if (sh.Agent != ti || sh.Type < 0) continue;
            for (int q = start[sh.Type]; q < start[sh.Type + 1]; q++)
            {
                double r = s.ShellR[q];
                if (r >= sh.Window.Off) continue;
                double x = r - sh.Window.On, p = sh.Window.Weight(r, out _) * x;
                for (int n = 1; n <= sh.Degree; n++) { values[sh.Offset + n - 1] += p; p *= x; }
            }
        }
        double fx = 0, fy = 0, fz = 0;
        AnglePass(s, ti, values, gradient: false, [], false, ref fx, ref fy, ref fz);
    }

    /// <summary>
    /// ∂L/∂r of the shells into <see cref="KernelScratch.SortedSlope"/> of their entries, and the shell angles' cos θ forces into
    /// F_i, the virial and (conservative) the neighbours. After <see cref="Values"/> and the loss; before the radial gradient pass.
    /// </summary>
    public void Gradient(KernelScratch s, int ti, double[] forces, bool conservative, ref double fx, ref double fy, ref double fz)
    {
        var start = s.ShellStart;
        if (start[_species] == 0) return;
        var lambda = s.Lambda;
        foreach (var sh in _sums)
        {
            if (sh.Agent != ti || sh.Type < 0) continue;
            for (int q = start[sh.Type]; q < start[sh.Type + 1]; q++)
            {
                double r = s.ShellR[q];
                if (r >= sh.Window.Off) continue;
                double w = sh.Window.Weight(r, out var dw), x = r - sh.Window.On;
                // d/dr [x^n w] = n x^(n−1) w + x^n w'
                double xn = x, xn1 = 1, slope = 0;
                for (int n = 1; n <= sh.Degree; n++)
                {
                    slope += lambda[sh.Offset + n - 1] * (n * xn1 * w + xn * dw);
                    xn1 = xn; xn *= x;
                }
                s.SortedSlope[(int)s.ShellEntry[q]] += slope;
            }
        }
        AnglePass(s, ti, default, gradient: true, forces, conservative, ref fx, ref fy, ref fz);
    }

    /// <summary>Zeroes <see cref="KernelScratch.SortedSlope"/> of the packed entries again (after the radial gradient pass).</summary>
    public void ClearSlopes(KernelScratch s)
    {
        for (int q = 0, c = s.ShellStart[_species]; q < c; q++) s.SortedSlope[(int)s.ShellEntry[q]] = 0;
    }

    /// <summary>Σ_{j≠k} w_A(r_j) w_B(r_k) P_l(cos θ_jk) over the packed entries (unordered pairs when both legs are one shell): values, or gradient.</summary>
    private void AnglePass(KernelScratch s, int ti, Span<double> values, bool gradient, double[] forces, bool conservative, ref double fx, ref double fy, ref double fz)
    {
        var start = s.ShellStart;
        var p = s.ShellLegendre.AsSpan(0, 9);
        var dp = s.ShellLegendre.AsSpan(9, 9);
        var lambda = s.Lambda;
        foreach (var a in _angles)
        {
            if (a.Agent != ti || a.TypeA < 0 || a.TypeB < 0) continue;
            for (int qj = start[a.TypeA], endA = start[a.TypeA + 1]; qj < endA; qj++)
            {
                double rj = s.ShellR[qj];
                if (rj >= a.A.Off) continue;
                int ej = (int)s.ShellEntry[qj];
                double wj = a.A.Weight(rj, out var dwj);
                for (int qk = a.Same ? qj + 1 : start[a.TypeB], endB = start[a.TypeB + 1]; qk < endB; qk++)
                {
                    double rk = s.ShellR[qk];
                    int ek = (int)s.ShellEntry[qk];
                    if (ek == ej || rk >= a.B.Off) continue;
                    double wk = a.B.Weight(rk, out var dwk);
                    double c = SortedGaussianKernel.Cosine(s, ej, ek);
                    InvariantSet.Legendre(c, a.Degree, p, dp);
                    if (!gradient)
                    {
                        double w = wj * wk;
                        for (int l = 1; l <= a.Degree; l++) values[a.Offset + l - 1] += w * p[l];
                        continue;
                    }
                    double aj = 0, ak = 0, ac = 0;
                    for (int l = 1; l <= a.Degree; l++)
                    {
                        double lam = lambda[a.Offset + l - 1];
                        aj += lam * dwj * wk * p[l]; ak += lam * wj * dwk * p[l]; ac += lam * wj * wk * dp[l];
                    }
                    s.SortedSlope[ej] += aj; s.SortedSlope[ek] += ak;
                    SortedGaussianKernel.CosineForce(s, ej, ek, c, ac, forces, conservative, ref fx, ref fy, ref fz);
                }
            }
        }
    }
}
