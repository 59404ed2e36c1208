using System.Text.Json;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>The model file's optional committee section (<see cref="LearnedModel.Committee"/>).</summary>
internal static partial class ModelFile
{
    /// <summary>
    /// "committee": {"members": [{species: {"b", "cUpper"}}, ...]}, written last and only when the model has one, so files
    /// without it keep their bytes and readers that predate it skip it. Members carry the model's bounds and ranges.
    /// </summary>
    private static void WriteCommittee(Utf8JsonWriter w, LearnedModel model, IReadOnlyList<IReadOnlyList<QuadraticLoss>> committee)
    {
        w.WriteStartObject("committee");
        w.WriteStartArray("members");
        foreach (var member in committee)
        {
            w.WriteStartObject();
            for (int s = 0; s < model.Species.Count; s++)
            {
                var loss = member[s];
                w.WriteStartObject(model.Species[s].Symbol);
                WriteCoefficients(w, loss);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static List<IReadOnlyList<QuadraticLoss>> ReadCommittee(Reader r, JsonElement root, List<Species> species, int order, int k, List<QuadraticLoss> losses)
    {
        var committee = r.Get(root, "committee", "", JsonValueKind.Object);
        var members = r.Get(committee, "members", "committee", JsonValueKind.Array);
        if (members.GetArrayLength() < 2) throw r.Error("committee.members", $"a committee needs at least 2 members, found {members.GetArrayLength()}");
        var result = new List<IReadOnlyList<QuadraticLoss>>();
        int m = 0;
        foreach (var member in members.EnumerateArray())
        {
            string mp = $"committee.members[{m++}]";
            var list = new List<QuadraticLoss>();
            for (int s = 0; s < species.Count; s++)
            {
                string path = mp + "." + species[s].Symbol;
                var p = r.Get(member, species[s].Symbol, mp, JsonValueKind.Object);
                var (b, c) = ReadCoefficients(r, p, path, k, order, checkMagnitude: true);
                list.Add(new QuadraticLoss(b, c, losses[s].Bounds, losses[s].Range));
            }
            result.Add(list);
        }
        return result;
    }

    private static double[] Bounded(Reader r, double[] values, string path)
    {
        for (int i = 0; i < values.Length; i++)
            if (Math.Abs(values[i]) > ModelFileChecks.MaxParameter) throw r.Error($"{path}[{i}]", $"{values[i]:G4} is beyond {ModelFileChecks.MaxParameter:G3}");
        return values;
    }
}
