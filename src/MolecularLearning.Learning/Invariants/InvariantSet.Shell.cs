using System.Globalization;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// A smooth shell of neighbours of one species: weight w(r) = 1 up to <see cref="On"/>, 0 from <see cref="Off"/>,
/// and in between 1 − S(x), x = (r − on)/(off − on), S(x) = 35x⁴ − 84x⁵ + 70x⁶ − 20x⁷. S has zero first, second
/// and third derivatives at both ends, so anything built from w is C³ in the positions: no energy or force jumps
/// when a neighbour enters or leaves the shell (unlike ranks, whose gradient jumps when two neighbours swap).
/// </summary>
public readonly record struct ShellWindow(string Species, double On, double Off)
{
    /// <summary>w(r) and dw/dr.</summary>
    public double Weight(double r, out double derivative)
    {
        if (r <= On) { derivative = 0; return 1; }
        if (r >= Off) { derivative = 0; return 0; }
        double width = Off - On, x = (r - On) / width, x2 = x * x, x3 = x2 * x, y = 1 - x;
        derivative = -140 * x3 * y * y * y / width;
        return 1 - x3 * x * (35 + x * (-84 + x * (70 - 20 * x)));
    }

    public override string ToString() => FormattableString.Invariant($"{Species}:{On}:{Off}");

    internal void Validate(string what)
    {
        if (!(On > 0 && Off > On && double.IsFinite(Off)))
            throw new DataException($"invariants: {what}: shell {this} needs 0 < on < off (Å)");
    }

    internal static ShellWindow Parse(string[] parts, int at, string raw)
    {
        double D(int i) => double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v : throw new DataException($"--basis: '{raw}': '{parts[i]}' is not a number");
        return new(parts[at], D(at + 1), D(at + 2));
    }
}

/// <summary>
/// Shell polynomials seen by agents of species <see cref="Agent"/>: I_n = Σ_j (r_ij − on)^n w(r_ij), n = 1..Degree,
/// over neighbours j of the window's species: the summed stretch of the bonds in the shell (n = 1) and its
/// powers. With a loss quadratic in them the restoring force grows with the stretch, as with sorted distances,
/// but nothing jumps when two neighbours swap rank. No n = 0 (the smooth count Σ w): on water it is exactly 2
/// (O) or 1 (H) on every training frame, so there is nothing to fit to it. Spec: shell:O-H:on:off:N.
/// </summary>
public sealed record ShellSum(string Agent, ShellWindow Window, int Degree)
{
    public override string ToString() => FormattableString.Invariant($"{Agent}-{Window.Species}:{Window.On}:{Window.Off}:{Degree}");

    internal void Validate()
    {
        Window.Validate("shell");
        if (Degree < 1 || Degree > 8) throw new DataException($"invariants: shell {this}: degree must be 1..8, got {Degree}");
    }

    internal static ShellSum Parse(string[] parts, string raw)
    {
        var pair = parts.Length == 5 ? parts[1].Split('-') : [];
        if (pair.Length != 2 || pair[0].Length == 0 || pair[1].Length == 0)
            throw new DataException($"--basis: '{raw}': expected shell:AGENT-NEIGHBOUR:on:off:N, e.g. shell:O-H:1.15:1.45:2");
        var window = ShellWindow.Parse([pair[1], parts[2], parts[3]], 0, raw);
        if (!int.TryParse(parts[4], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            throw new DataException($"--basis: '{raw}': '{parts[4]}' is not an integer");
        return new(pair[0], window, n);
    }
}

/// <summary>
/// The angle at an agent of species <see cref="Agent"/> between its neighbours in two smooth shells, as
/// Σ_{j≠k} w_A(r_ij) w_B(r_ik) P_l(cos θ_jik), l = 1..Degree (unordered pairs when both legs are the same shell).
/// With the covalent O–H shell on both legs of an O it is exactly P_l of the H–O–H bend while the molecule is
/// intact, and stays smooth when a third H comes near: the smooth stand-in for the sorted angles (H1H2, O1O2...),
/// whose value jumps when the 2nd and 3rd nearest neighbours swap. Spec: shellAngle:L:O@H:on:off:H:on:off.
/// </summary>
public sealed record ShellAngle(string Agent, ShellWindow LegA, ShellWindow LegB, int Degree)
{
    public override string ToString() => $"{Agent}@{LegA.Species}{LegB.Species}";

    internal void Validate()
    {
        LegA.Validate($"shell angle {this}"); LegB.Validate($"shell angle {this}");
        if (Degree < 1 || Degree > 8) throw new DataException($"invariants: shell angle {this}: degree must be 1..8, got {Degree}");
    }

    internal static ShellAngle Parse(string[] parts, string raw)
    {
        var at = parts.Length == 8 ? parts[2].Split('@') : [];
        if (at.Length != 2 || at[0].Length == 0 || at[1].Length == 0)
            throw new DataException($"--basis: '{raw}': expected shellAngle:L:AGENT@A:on:off:B:on:off, e.g. shellAngle:3:O@H:1.15:1.45:H:1.15:1.45");
        if (!int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var degree))
            throw new DataException($"--basis: '{raw}': '{parts[1]}' is not an integer");
        return new(at[0], ShellWindow.Parse([at[1], parts[3], parts[4]], 0, raw), ShellWindow.Parse(parts, 5, raw), degree);
    }
}

/// <summary>The smooth-shell families (e) and (f): layout, values and derivatives. Layout: after the sorted angles.</summary>
public sealed partial class InvariantSet
{
    private readonly ShellLayout _shells;

    /// <summary>Shell items resolved to species indices (−2: nobody sees it / the neighbour species is absent).</summary>
    private sealed class ShellLayout
    {
        public readonly struct Sum(int agent, int type, ShellWindow window, int degree, int offset)
        {
            public readonly int Agent = agent, Type = type, Degree = degree, Offset = offset;
            public readonly ShellWindow Window = window;
            public readonly double On = window.On, Off = window.Off;
        }

        public readonly struct Angle(int agent, int typeA, int typeB, ShellWindow a, ShellWindow b, int degree, int offset)
        {
            public readonly int Agent = agent, TypeA = typeA, TypeB = typeB, Degree = degree, Offset = offset;
            public readonly ShellWindow A = a, B = b;
            public readonly bool Same = a == b;
        }

        public Sum[] Sums = [];
        public Angle[] Angles = [];
        public int MaxDegree;
        public bool Any => Sums.Length > 0 || Angles.Length > 0;

        /// <summary>Places the shell invariants from index <paramref name="k"/> on and advances it.</summary>
        public static ShellLayout Build(InvariantOptions options, Species[] species, ref int k)
        {
            int Index(string symbol) => Array.FindIndex(species, x => x.Symbol == symbol) is int i and >= 0 ? i : -2;
            var layout = new ShellLayout { Sums = new Sum[options.Shells.Count], Angles = new Angle[options.ShellAngles.Count] };
            for (int q = 0; q < options.Shells.Count; q++)
            {
                var sh = options.Shells[q];
                layout.Sums[q] = new Sum(Index(sh.Agent), Index(sh.Window.Species), sh.Window, sh.Degree, k);
                k += sh.Degree;
            }
            for (int q = 0; q < options.ShellAngles.Count; q++)
            {
                var a = options.ShellAngles[q];
                layout.Angles[q] = new Angle(Index(a.Agent), Index(a.LegA.Species), Index(a.LegB.Species), a.LegA, a.LegB, a.Degree, k);
                k += a.Degree;
                layout.MaxDegree = Math.Max(layout.MaxDegree, a.Degree);
            }
            return layout;
        }
    }

    private void ShellLabels(string[] labels)
    {
        for (int q = 0; q < _shells.Sums.Length; q++)
        {
            var sh = Options.Shells[q];
            for (int n = 1; n <= sh.Degree; n++)
                labels[_shells.Sums[q].Offset + n - 1] = FormattableString.Invariant($"Σ(r−{sh.Window.On})^{n}w({sh.Agent}-{sh.Window.Species})");
        }
        for (int q = 0; q < _shells.Angles.Length; q++)
        {
            var a = Options.ShellAngles[q];
            for (int l = 1; l <= a.Degree; l++) labels[_shells.Angles[q].Offset + l - 1] = $"P{l}(∠{a}w)";
        }
    }

    /// <summary>Adds the shell invariants of the gathered agent to <paramref name="values"/>.</summary>
    private void ShellValues(AgentScratch s, Span<double> values)
    {
        foreach (ref readonly var sh in _shells.Sums.AsSpan())
        {
            if (sh.Agent != s.AgentType || sh.Type < 0) continue;
            for (int e = 0; e < s.Entries; e++)
            {
                double r = s.R[e];
                if (s.Type[e] != sh.Type || r >= sh.Off) continue;
                double x = r - sh.On, p = sh.Window.Weight(r, out _) * x;
                for (int n = 1; n <= sh.Degree; n++) { values[sh.Offset + n - 1] += p; p *= x; }
            }
        }
        if (_shells.Angles.Length == 0) return;
        Span<double> pl = stackalloc double[_shells.MaxDegree + 1], dpl = stackalloc double[_shells.MaxDegree + 1];
        foreach (ref readonly var a in _shells.Angles.AsSpan())
        {
            if (a.Agent != s.AgentType || a.TypeA < 0 || a.TypeB < 0) continue;
            for (int ej = 0; ej < s.Entries; ej++)
            {
                if (s.Type[ej] != a.TypeA || s.R[ej] >= a.A.Off) continue;
                double wj = a.A.Weight(s.R[ej], out _);
                for (int ek = a.Same ? ej + 1 : 0; ek < s.Entries; ek++)
                {
                    if (ek == ej || s.Type[ek] != a.TypeB || s.R[ek] >= a.B.Off) continue;
                    double w = wj * a.B.Weight(s.R[ek], out _);
                    double c = s.Ux[ej] * s.Ux[ek] + s.Uy[ej] * s.Uy[ek] + s.Uz[ej] * s.Uz[ek];
                    Legendre(c, a.Degree, pl, dpl);
                    for (int l = 1; l <= a.Degree; l++) values[a.Offset + l - 1] += w * pl[l];
                }
            }
        }
    }

    /// <summary>Streams ∂I/∂d_e of the shell invariants into <paramref name="sink"/>.</summary>
    private void ShellGradient<TSink>(AgentScratch s, ref TSink sink) where TSink : struct, IGradientSink
    {
        foreach (ref readonly var sh in _shells.Sums.AsSpan())
        {
            if (sh.Agent != s.AgentType || sh.Type < 0) continue;
            for (int e = 0; e < s.Entries; e++)
            {
                double r = s.R[e];
                if (s.Type[e] != sh.Type || r >= sh.Off) continue;
                double w = sh.Window.Weight(r, out var dw), x = r - sh.On;
                // d/dr [x^n w] = n x^(n−1) w + x^n w'
                double xn = x, xn1 = 1;
                for (int n = 1; n <= sh.Degree; n++)
                {
                    sink.Radial(sh.Offset + n - 1, e, n * xn1 * w + xn * dw);
                    xn1 = xn; xn *= x;
                }
            }
        }
        if (_shells.Angles.Length == 0) return;
        Span<double> pl = stackalloc double[_shells.MaxDegree + 1], dpl = stackalloc double[_shells.MaxDegree + 1];
        foreach (ref readonly var a in _shells.Angles.AsSpan())
        {
            if (a.Agent != s.AgentType || a.TypeA < 0 || a.TypeB < 0) continue;
            for (int ej = 0; ej < s.Entries; ej++)
            {
                if (s.Type[ej] != a.TypeA || s.R[ej] >= a.A.Off) continue;
                double wj = a.A.Weight(s.R[ej], out var dwj);
                for (int ek = a.Same ? ej + 1 : 0; ek < s.Entries; ek++)
                {
                    if (ek == ej || s.Type[ek] != a.TypeB || s.R[ek] >= a.B.Off) continue;
                    double wk = a.B.Weight(s.R[ek], out var dwk);
                    double c = s.Ux[ej] * s.Ux[ek] + s.Uy[ej] * s.Uy[ek] + s.Uz[ej] * s.Uz[ek];
                    Legendre(c, a.Degree, pl, dpl);
                    sink.BeginPair(s, ej, ek, c);
                    for (int l = 1; l <= a.Degree; l++)
                        sink.Pair(a.Offset + l - 1, dwj * wk * pl[l], wj * dwk * pl[l], wj * wk * dpl[l]);
                    sink.EndPair(s);
                }
            }
        }
    }
}
