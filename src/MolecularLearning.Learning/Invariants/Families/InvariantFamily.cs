using System.Text.Json;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// What one invariant family is, before it meets a species list: its name, its slice of <see cref="InvariantOptions"/>
/// (the <c>--basis</c> items it parses, their check, its cutoff), its part of the model file, and how it binds to species.
/// One singleton per family (<see cref="InvariantFamilies.All"/>); the bound half is <see cref="InvariantFamily"/>.
/// </summary>
internal abstract class InvariantFamilyKind
{
    /// <summary>The name as <see cref="FitOptions.LinearFamilies"/>, <c>mld fit --linear</c> and <see cref="InvariantSet.FamilyOf"/> spell it.</summary>
    public abstract string Name { get; }

    /// <summary>The <c>--basis</c> items (first field, as written in help and errors) this family parses.</summary>
    public abstract IReadOnlyList<string> Items { get; }

    /// <summary>The items' syntax for help text, e.g. "sorted[:O4:H8]".</summary>
    public abstract string Syntax { get; }

    /// <summary>One <c>--basis</c> item of this family (fields split at ':'), folded into the options parsed so far.</summary>
    public abstract InvariantOptions Parse(string[] parts, string raw, double cutoff, InvariantOptions options);

    /// <summary>After every item: defaults that depend on several items (e.g. the angular radial functions).</summary>
    public virtual InvariantOptions FinishParse(InvariantOptions options) => options;

    /// <summary>Throws a <see cref="DataException"/> naming the problem in this family's options.</summary>
    public abstract void Validate(InvariantOptions options);

    /// <summary>The interaction range this family needs (Å), 0 when it is not in use.</summary>
    public abstract double Cutoff(InvariantOptions options);

    /// <summary>Writes this family's properties of the model file's "invariants" object (nothing when an optional family is unused).</summary>
    public abstract void Write(Utf8JsonWriter w, InvariantOptions options);

    /// <summary>Reads this family's properties of the model file's "invariants" object (path "invariants") into the options.</summary>
    public abstract InvariantOptions Read(ModelFile.Reader r, JsonElement invariants, InvariantOptions options);

    /// <summary>The family laid out from invariant <paramref name="offset"/> for this species list.</summary>
    public abstract InvariantFamily Bind(InvariantOptions options, Species[] species, int offset);

    /// <summary>Index of <paramref name="symbol"/> in <paramref name="species"/>, or <paramref name="absent"/>.</summary>
    internal static int IndexOf(Species[] species, string? symbol, int absent) =>
        Array.FindIndex(species, x => x.Symbol == symbol) is int i and >= 0 ? i : absent;
}

/// <summary>
/// One invariant family bound to an ordered species list: its layout (the invariants [Offset, Offset + Count) of the
/// vector I_i) and labels, and the Reference (scalar) values and gradients ∂I/∂d_e. Immutable, thread-safe.
/// </summary>
/// <remarks>
/// <see cref="InvariantSet"/> calls the families through their concrete (sealed) types in layout order, which is also the
/// order their gradients reach the sink: the accumulation order, hence the bits, of every evaluator.
/// </remarks>
internal abstract class InvariantFamily(int offset, int count)
{
    public abstract InvariantFamilyKind Definition { get; }
    public string Name => Definition.Name;
    /// <summary>First invariant of this family in the set's layout.</summary>
    public int Offset { get; } = offset;
    /// <summary>Invariants of this family (the same for every agent species).</summary>
    public int Count { get; } = count;
    public bool Contains(int q) => q >= Offset && q < Offset + Count;

    /// <summary>Fills labels [Offset, Offset + Count): the names in model files, fit reports and extrapolation messages.</summary>
    public abstract void Labels(string[] labels, Species[] species);

    /// <summary>Sets (or adds to: the slice starts cleared) this family's values of the gathered agent; caches what its gradient reuses.</summary>
    public abstract void Values(AgentScratch s, Span<double> values);

    /// <summary>Streams ∂I_k/∂d_e of this family's invariants into <paramref name="sink"/>. After <see cref="Values"/> of every family.</summary>
    public abstract void Gradient<TSink>(AgentScratch s, ref TSink sink) where TSink : struct, IGradientSink;
}

/// <summary>The families in layout order: the list <see cref="InvariantSet"/>, the --basis parser and the model file go through.</summary>
internal static class InvariantFamilies
{
    public static readonly InvariantFamilyKind[] All =
        [SortedDistances.Kind, RadialSums.Kind, AngularSums.Kind, SortedAngles.Kind, Shells.Kind, ShellAngles.Kind];

    /// <summary>The family owning <c>--basis</c> item <paramref name="item"/> (any case), or null.</summary>
    public static InvariantFamilyKind? ForItem(string item)
    {
        foreach (var f in All)
            foreach (var name in f.Items)
                if (string.Equals(name, item, StringComparison.OrdinalIgnoreCase)) return f;
        return null;
    }

    /// <summary>Every family's item syntax, for help text.</summary>
    public static string Syntax => string.Join(", ", All.Select(f => f.Syntax));

    /// <summary>Every --basis item name, for the error on an unknown one.</summary>
    public static string ItemNames => string.Join(", ", All.SelectMany(f => f.Items));

    /// <summary>The model file's "invariants" object, family by family.</summary>
    public static void Write(Utf8JsonWriter w, InvariantOptions options)
    {
        w.WritePropertyName("invariants");
        w.WriteStartObject();
        foreach (var f in All) f.Write(w, options);
        w.WriteEndObject();
    }

    /// <summary>Reads the model file's "invariants" object, family by family, and checks the result.</summary>
    public static InvariantOptions Read(ModelFile.Reader r, JsonElement invariants)
    {
        var options = new InvariantOptions();
        foreach (var f in All) options = f.Read(r, invariants, options);
        try { options.Validate(); }
        catch (DataException e) { throw r.Error("invariants", e.Message); }
        return options;
    }
}
