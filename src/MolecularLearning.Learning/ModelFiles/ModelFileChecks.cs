using System.Text.Json;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// Limits a model file must keep before anything is built from it, each refused with a message naming the
/// field: hand-edited or damaged files otherwise load and answer NaN, or build huge neighbour lists.
/// </summary>
internal static class ModelFileChecks
{
    /// <summary>The kind every model file carries (written by <see cref="ModelFile"/>).</summary>
    public const string Kind = "molecular-learning agent loss";
    /// <summary>Longest cutoff (Å) of any invariant family or shell window: 30 Å already lists ~12,000 neighbours an atom in water.</summary>
    public const double MaxCutoff = 30;
    /// <summary>Largest |parameter| (b, C): a fitted loss is of order eV per unit invariant; past this, energies overflow.</summary>
    public const double MaxParameter = 1e15;
    /// <summary>Largest mass (amu) and wall strength (eV) accepted.</summary>
    public const double MaxMass = 1e6, MaxStrength = 1e12;

    public static void Check(JsonElement root, string file)
    {
        DataException Error(string field, string problem) => new($"{file}: field '{field}': {problem}");

        if (root.TryGetProperty("kind", out var kind) && (kind.ValueKind != JsonValueKind.String || kind.GetString() != Kind))
            throw Error("kind", $"is {kind.GetRawText()}, expected \"{Kind}\" (not a model file of this program, or another kind of model)");

        // Masses.
        var symbols = new List<string>();
        if (root.TryGetProperty("species", out var species) && species.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var s in species.EnumerateArray())
            {
                if (s.ValueKind != JsonValueKind.Object) { i++; continue; }
                if (s.TryGetProperty("symbol", out var sym) && sym.ValueKind == JsonValueKind.String) symbols.Add(sym.GetString()!);
                if (s.TryGetProperty("mass", out var m) && m.TryGetDouble(out var mass) && mass > MaxMass)
                    throw Error($"species[{i}].mass", $"{mass:G4} amu is beyond {MaxMass:G3}");
                i++;
            }
        }

        // The parameters are written in species order; another order means the species list was edited
        // (e.g. swapped), which would pair every parameter with the wrong invariant.
        if (root.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object)
        {
            var keys = parameters.EnumerateObject().Select(p => p.Name).ToList();
            var common = keys.Where(symbols.Contains).ToList();
            var expected = symbols.Where(keys.Contains).ToList();
            if (symbols.Distinct().Count() == symbols.Count && !common.SequenceEqual(expected))
                throw Error("species", $"order {string.Join(", ", symbols)} differs from the parameters' order {string.Join(", ", keys)}; "
                    + "the invariants are laid out in species order, so the species list must not be reordered");
            foreach (var p in parameters.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Object) continue;
                Magnitudes(p.Value, "b", $"parameters.{p.Name}.b");
                Magnitudes(p.Value, "cUpper", $"parameters.{p.Name}.cUpper");
                if (p.Value.TryGetProperty("bounds", out var bounds) && bounds.ValueKind == JsonValueKind.Object)
                {
                    // min/max are not checked: ±double.MaxValue is how an unwalled invariant is written.
                    Strength(bounds, $"parameters.{p.Name}.bounds");
                }
                if (p.Value.TryGetProperty("range", out var range) && range.ValueKind == JsonValueKind.Object)
                    foreach (var field in (string[])["min", "max", "std"]) Magnitudes(range, field, $"parameters.{p.Name}.range.{field}");
            }
        }

        if (root.TryGetProperty("repulsion", out var walls) && walls.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var w in walls.EnumerateArray())
            {
                if (w.ValueKind == JsonValueKind.Object)
                {
                    Strength(w, $"repulsion[{i}]");
                    if (w.TryGetProperty("rMin", out var r) && r.TryGetDouble(out var rMin) && !(rMin >= 0 && rMin <= MaxCutoff))
                        throw Error($"repulsion[{i}].rMin", $"{rMin:G4} Å is outside 0..{MaxCutoff} Å");
                }
                i++;
            }
        }

        if (root.TryGetProperty("invariants", out var inv) && inv.ValueKind == JsonValueKind.Object)
        {
            foreach (var family in new[] { "sortedDistances", "radial", "angular" })
                if (inv.TryGetProperty(family, out var f) && f.ValueKind == JsonValueKind.Object) Cutoff(f, "cutoff", $"invariants.{family}.cutoff");
            foreach (var family in new[] { "radial", "angular" })
                if (inv.TryGetProperty(family, out var f) && f.ValueKind == JsonValueKind.Object
                    && f.TryGetProperty("functions", out var fs) && fs.ValueKind == JsonValueKind.Array)
                {
                    int i = 0;
                    foreach (var fn in fs.EnumerateArray())
                    {
                        if (fn.ValueKind == JsonValueKind.Object)
                        {
                            if (fn.TryGetProperty("centre", out var c) && c.TryGetDouble(out var centre) && !(Math.Abs(centre) <= MaxCutoff))
                                throw Error($"invariants.{family}.functions[{i}].centre", $"{centre:G4} Å is beyond ±{MaxCutoff} Å");
                            Cutoff(fn, "width", $"invariants.{family}.functions[{i}].width");
                        }
                        i++;
                    }
                }
            if (inv.TryGetProperty("shells", out var shells) && shells.ValueKind == JsonValueKind.Array)
            {
                int i = 0;
                foreach (var sh in shells.EnumerateArray()) Window(sh, $"invariants.shells[{i++}]");
            }
            if (inv.TryGetProperty("shellAngles", out var angles) && angles.ValueKind == JsonValueKind.Array)
            {
                int i = 0;
                foreach (var a in angles.EnumerateArray())
                {
                    if (a.ValueKind == JsonValueKind.Object)
                        foreach (var leg in new[] { "a", "b" })
                            if (a.TryGetProperty(leg, out var l)) Window(l, $"invariants.shellAngles[{i}].{leg}");
                    i++;
                }
            }
        }

        void Magnitudes(JsonElement obj, string name, string field)
        {
            if (!obj.TryGetProperty(name, out var arr) || arr.ValueKind != JsonValueKind.Array) return;
            int i = 0;
            foreach (var v in arr.EnumerateArray())
            {
                if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && !(Math.Abs(d) <= MaxParameter))
                    throw Error($"{field}[{i}]", $"{d:G4} is beyond ±{MaxParameter:G3} (energies would overflow)");
                i++;
            }
        }

        void Strength(JsonElement obj, string field)
        {
            if (obj.TryGetProperty("strength", out var s) && s.TryGetDouble(out var v) && !(v >= 0 && v <= MaxStrength))
                throw Error(field + ".strength", $"{v:G4} must be in 0..{MaxStrength:G3} eV (a negative wall attracts atoms onto each other)");
        }

        void Cutoff(JsonElement obj, string name, string field, bool allowZero = false)
        {
            if (obj.TryGetProperty(name, out var c) && c.TryGetDouble(out var v) && !((allowZero ? v >= 0 : v > 0) && v <= MaxCutoff))
                throw Error(field, $"{v:G4} Å is outside {(allowZero ? "[0" : "(0")}, {MaxCutoff}] Å (the longest cutoff a model may have)");
        }

        void Window(JsonElement w, string field)
        {
            if (w.ValueKind != JsonValueKind.Object) return;
            Cutoff(w, "on", field + ".on", allowZero: true);
            Cutoff(w, "off", field + ".off");
        }
    }
}
