using System.Text;
using System.Text.Json;
using MolecularLearning.Core;

namespace MolecularLearning.Protocols.Ipi;

/// <summary>
/// The extrapolation signal in i-PI's FORCEREADY extra string, as JSON (i-PI parses extras as JSON and keeps them
/// with the step): written by <c>mld serve --ipi-extra</c>, read back by <c>mld run --forces ipi:</c>.
/// </summary>
public static class IpiExtra
{
    /// <summary>Extra strings up to this length are parsed for the signal; longer ones are skipped unread.</summary>
    public const int MaxBytes = 4096;

    /// <summary>{"extrapolation": x, "atom": i, "invariant": "..."} of <paramref name="result"/>, or {} when it has no signal.</summary>
    public static byte[] Write(ForceResult result)
    {
        if (double.IsNaN(result.Extrapolation)) return "{}"u8.ToArray();
        using var buffer = new MemoryStream(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("extrapolation", result.Extrapolation);
            if (result.ExtrapolationAtom >= 0) w.WriteNumber("atom", result.ExtrapolationAtom);
            if (result.ExtrapolationInvariant is { } name) w.WriteString("invariant", name);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Sets the signal of <paramref name="result"/> from an extra string; leaves it unset for any other string.</summary>
    public static void Read(string extra, ForceResult result)
    {
        try
        {
            using var doc = JsonDocument.Parse(extra);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("extrapolation", out var x)
                || x.ValueKind != JsonValueKind.Number || !double.IsFinite(x.GetDouble()) || x.GetDouble() < 0) return;
            result.Extrapolation = x.GetDouble();
            if (root.TryGetProperty("atom", out var a) && a.ValueKind == JsonValueKind.Number && a.TryGetInt32(out int atom) && atom >= 0)
                result.ExtrapolationAtom = atom;
            if (root.TryGetProperty("invariant", out var q) && q.ValueKind == JsonValueKind.String) result.ExtrapolationInvariant = q.GetString();
        }
        catch (JsonException) { } // another client's free-form extra
    }
}
