using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// <see cref="InvariantOptions"/> bound to an ordered species list: the invariant families (Invariants/Families/) laid
/// out one after another into the vector I_i (the same length K for every agent species), and the Reference code that
/// computes it and its derivatives ∂I_ik/∂d_e with respect to each neighbour displacement d_e = x_e − x_i, family by
/// family. Immutable, thread-safe; per-thread state lives in <see cref="AgentScratch"/>.
/// </summary>
/// <remarks>
/// Layout, in <see cref="InvariantFamilies.All"/>'s order: [sorted distances] [radial sums] [angular sums] [sorted angles]
/// [shells] [shell angles]; each family's own layout is in its file.
/// </remarks>
public sealed class InvariantSet
{
    private readonly Species[] _species;
    private readonly InvariantFamily[] _families;

    public InvariantSet(InvariantOptions options, IReadOnlyList<Species> species)
    {
        options.Validate();
        Options = options;
        _species = [.. species];
        _families = new InvariantFamily[InvariantFamilies.All.Length];
        int k = 0;
        for (int f = 0; f < _families.Length; f++)
        {
            _families[f] = InvariantFamilies.All[f].Bind(options, _species, k);
            k += _families[f].Count;
        }
        Sorted = (SortedDistances)_families[0];
        RadialSums = (RadialSums)_families[1];
        AngularSums = (AngularSums)_families[2];
        SortedAngles = (SortedAngles)_families[3];
        Shells = (Shells)_families[4];
        ShellAngles = (ShellAngles)_families[5];
        Count = k;
        Cutoff = options.Cutoff;
        var labels = new string[Count];
        foreach (var f in _families) f.Labels(labels, _species);
        Labels = labels;
    }

    public InvariantOptions Options { get; }
    public IReadOnlyList<Species> Species => _species;
    /// <summary>K: invariants per agent.</summary>
    public int Count { get; }
    /// <summary>Neighbour-list cutoff (Å): the largest of the families' cutoffs.</summary>
    public double Cutoff { get; }
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The families in layout order.</summary>
    internal IReadOnlyList<InvariantFamily> Families => _families;
    internal SortedDistances Sorted { get; }
    internal RadialSums RadialSums { get; }
    internal AngularSums AngularSums { get; }
    internal SortedAngles SortedAngles { get; }
    internal Shells Shells { get; }
    internal ShellAngles ShellAngles { get; }

    /// <summary>The radial sums' functions g_n.</summary>
    internal RadialBasisFunction[] Radial => RadialSums.Functions;
    /// <summary>First angular-sum invariant; the angular sums end where the sorted angles begin.</summary>
    internal int AngularOffset => AngularSums.Offset;
    internal int SortedAngleOffset => SortedAngles.Offset;

    /// <summary>Family names, as <see cref="FitOptions.LinearFamilies"/> and <c>mld fit --linear</c> spell them.</summary>
    public static IReadOnlyList<string> FamilyNames { get; } = [.. InvariantFamilies.All.Select(f => f.Name)];

    /// <summary>The family of invariant <paramref name="q"/>: one of <see cref="FamilyNames"/>.</summary>
    public string FamilyOf(int q)
    {
        if (q < 0 || q >= Count) throw new ArgumentOutOfRangeException(nameof(q));
        foreach (var f in _families) if (f.Contains(q)) return f.Name;
        return "other";
    }

    /// <summary>Index of a species in this set, or −1.</summary>
    public int IndexOf(Species s)
    {
        for (int i = 0; i < _species.Length; i++)
            if (ReferenceEquals(_species[i], s) || _species[i].Symbol == s.Symbol) return i;
        return -1;
    }

    /// <summary>Copies the neighbours of agent <paramref name="i"/> within the cutoff into the scratch (either neighbour-list storage).</summary>
    internal void Gather(AgentScratch s, int i, NeighbourList list, ReadOnlySpan<int> types)
    {
        s.EnsureEntries(list.MaxRowLength);
        s.AgentType = types[i];
        int entries = list.GetRow(i, s.Atom, s.Dx, s.Dy, s.Dz, s.R);
        // The list is built at this set's cutoff; a longer one is trimmed here.
        double rc = Cutoff;
        bool trim = list.Cutoff > rc;
        int e = 0;
        for (int p = 0; p < entries; p++)
        {
            double r = s.R[p];
            if (trim && r >= rc) continue;
            int j = s.Atom[p];
            double x = s.Dx[p], y = s.Dy[p], z = s.Dz[p], inv = 1 / r;
            if (trim) { s.Atom[e] = j; s.R[e] = r; s.Dx[e] = x; s.Dy[e] = y; s.Dz[e] = z; }
            s.Type[e] = types[j];
            s.Ux[e] = x * inv; s.Uy[e] = y * inv; s.Uz[e] = z * inv;
            e++;
        }
        s.Entries = e;
    }

    /// <summary>Invariant values of the gathered agent into <see cref="AgentScratch.Values"/> (and caches for the gradient), family by family.</summary>
    internal void ComputeValues(AgentScratch s)
    {
        var values = s.Values.AsSpan(0, Count);
        values.Clear();
        // The concrete (sealed) types: direct calls. The sorted angles read the sorted distances' slots.
        Sorted.Values(s, values);
        RadialSums.Values(s, values);
        AngularSums.Values(s, values);
        SortedAngles.Values(s, values);
        Shells.Values(s, values);
        ShellAngles.Values(s, values);
    }

    /// <summary>∂I_k/∂d_e for every invariant and entry, streamed into <paramref name="sink"/> family by family. Call after <see cref="ComputeValues"/>.</summary>
    internal void ComputeGradient<TSink>(AgentScratch s, ref TSink sink) where TSink : struct, IGradientSink
    {
        Sorted.Gradient(s, ref sink);
        RadialSums.Gradient(s, ref sink);
        AngularSums.Gradient(s, ref sink);
        SortedAngles.Gradient(s, ref sink);
        Shells.Gradient(s, ref sink);
        ShellAngles.Gradient(s, ref sink);
        sink.EndAgent(s);
    }

    /// <summary>Legendre polynomials P_0..P_L at x and their derivatives (Bonnet's recursion).</summary>
    internal static void Legendre(double x, int degree, Span<double> p, Span<double> dp)
    {
        p[0] = 1; dp[0] = 0;
        if (degree == 0) return;
        p[1] = x; dp[1] = 1;
        for (int l = 1; l < degree; l++)
        {
            p[l + 1] = ((2 * l + 1) * x * p[l] - l * p[l - 1]) / (l + 1);
            dp[l + 1] = dp[l - 1] + (2 * l + 1) * p[l];
        }
    }
}
