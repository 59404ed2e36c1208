using System.Text;
using System.Text.Json;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// The JSON model file. Doubles are written in shortest round-trip form, so a loaded model reproduces
/// the saved one's forces bit for bit. Every problem on load names the file and the field.
/// </summary>
internal static partial class ModelFile
{
    public static void Save(LearnedModel model, string path)
    {
        AtomicFile.WriteText(path, ToJson(model));
    }

    public static LearnedModel Load(string path)
    {
        string text;
        if (Directory.Exists(path)) throw new DataException($"{path}: is a directory, not a model file (mld fit -o FILE.json writes one)");
        try { text = File.ReadAllText(path); }
        catch (FileNotFoundException) { throw new DataException($"{path}: model file not found"); }
        catch (DirectoryNotFoundException) { throw new DataException($"{path}: model file not found"); }
        catch (UnauthorizedAccessException) { throw new DataException($"{path}: model file not readable (permission denied)"); }
        return FromJson(text, path);
    }

    public static string ToJson(LearnedModel model)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", LearnedModel.SchemaVersion);
            w.WriteString("kind", "molecular-learning agent loss");
            w.WriteStartArray("species");
            foreach (var s in model.Species)
            {
                w.WriteStartObject();
                w.WriteString("symbol", s.Symbol);
                w.WriteNumber("mass", s.Mass);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("order", model.Order);
            w.WriteString("mode", model.Mode.Name());
            // Written only when not the default, so files without it keep their bytes.
            if (model.WallForces != WallForces.Agent) w.WriteString("wallForces", model.WallForces.Name());
            InvariantFamilies.Write(w, model.Invariants.Options);
            w.WriteStartArray("repulsion");
            foreach (var wall in model.Walls)
            {
                w.WriteStartObject();
                w.WriteString("a", wall.A); w.WriteString("b", wall.B);
                w.WriteNumber("rMin", wall.RMin); w.WriteNumber("strength", wall.Strength);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WritePropertyName("parameters");
            w.WriteStartObject();
            for (int s = 0; s < model.Species.Count; s++)
            {
                var loss = model.Losses[s];
                w.WritePropertyName(model.Species[s].Symbol);
                w.WriteStartObject();
                WriteCoefficients(w, loss);
                if (loss.Bounds is { } bounds)
                {
                    w.WriteStartObject("bounds");
                    w.WriteNumber("strength", bounds.Strength);
                    if (double.IsFinite(bounds.Cap)) w.WriteNumber("cap", bounds.Cap); // absent: uncapped (files before the cap)
                    WriteArray(w, "min", bounds.Min); WriteArray(w, "max", bounds.Max); WriteArray(w, "scale", bounds.Scale);
                    w.WriteEndObject();
                }
                if (loss.Range is { } range)
                {
                    w.WriteStartObject("range");
                    WriteArray(w, "min", range.Min); WriteArray(w, "max", range.Max); WriteArray(w, "std", range.Std);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
            WriteTraining(w, model.Training);
            if (model.Committee is { } committee) WriteCommittee(w, model, committee);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>A loss's "b" and, at order 2, "cUpper": the upper triangle of C row by row, C[k][l] for l >= k.</summary>
    private static void WriteCoefficients(Utf8JsonWriter w, QuadraticLoss loss)
    {
        WriteArray(w, "b", loss.Linear);
        if (loss.Order != 2) return;
        w.WriteStartArray("cUpper");
        int k = loss.Count;
        var c = loss.Quadratic;
        for (int a = 0; a < k; a++)
            for (int b = a; b < k; b++) w.WriteNumberValue(c[a * k + b]);
        w.WriteEndArray();
    }

    /// <summary>
    /// A loss's "b" and, at order 2, C from "cUpper" (see <see cref="WriteCoefficients"/>). <paramref name="checkMagnitude"/>:
    /// refuse values beyond <see cref="ModelFileChecks.MaxParameter"/> here (the committee's; the model's are checked with the whole model).
    /// </summary>
    private static (double[] B, double[]? C) ReadCoefficients(Reader r, JsonElement p, string path, int k, int order, bool checkMagnitude)
    {
        var b = r.Numbers(p, "b", path, k);
        if (checkMagnitude) Bounded(r, b, path + ".b");
        if (order != 2) return (b, null);
        var upper = r.Numbers(p, "cUpper", path, k * (k + 1) / 2);
        if (checkMagnitude) Bounded(r, upper, path + ".cUpper");
        var c = new double[k * k];
        int u = 0;
        for (int x = 0; x < k; x++)
            for (int y = x; y < k; y++) c[x * k + y] = c[y * k + x] = upper[u++];
        return (b, c);
    }

    private static void WriteArray(Utf8JsonWriter w, string name, ReadOnlySpan<double> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    public static void WriteErrors(Utf8JsonWriter w, ForceErrorReport report)
    {
        w.WriteStartObject();
        w.WritePropertyName("species");
        w.WriteStartObject();
        foreach (var (sym, e) in report.Species)
        {
            w.WritePropertyName(sym);
            w.WriteStartObject();
            WriteNumber(w, "relRmse", e.RelRmse);
            WriteNumber(w, "rmse", e.Rmse);
            w.WriteNumber("atoms", e.Atoms);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteNumber("frames", report.Frames);
        w.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, v); else w.WriteNull(name);
    }

    private static void WriteTraining(Utf8JsonWriter w, TrainingInfo t)
    {
        w.WritePropertyName("training");
        w.WriteStartObject();
        w.WriteString("source", t.Source);
        w.WriteNumber("frames", t.Frames);
        w.WriteNumber("trainFrames", t.TrainFrames);
        w.WriteNumber("holdoutFrames", t.HoldoutFrames);
        w.WriteNumber("stride", t.Stride);
        w.WriteString("target", t.Target);
        w.WritePropertyName("ridge");
        w.WriteStartObject();
        foreach (var (sym, v) in t.Ridge) w.WriteNumber(sym, v);
        w.WriteEndObject();
        if (t.Train is not null) { w.WritePropertyName("train"); WriteErrors(w, t.Train); }
        if (t.Holdout is not null) { w.WritePropertyName("holdout"); WriteErrors(w, t.Holdout); }
        w.WriteEndObject();
    }

    // ---- reading ----

    /// <summary>Reads fields with errors naming the file and the field (the invariant families read their parts with it).</summary>
    internal sealed class Reader(string file)
    {
        public DataException Error(string field, string problem) => new($"{file}: field '{field}': {problem}");

        public JsonElement Get(JsonElement obj, string name, string path, JsonValueKind kind)
        {
            if (obj.ValueKind != JsonValueKind.Object) throw Error(path, "expected an object");
            if (!obj.TryGetProperty(name, out var v)) throw Error(Join(path, name), "missing");
            if (v.ValueKind != kind && !(kind == JsonValueKind.True && v.ValueKind == JsonValueKind.False))
                throw Error(Join(path, name), $"expected {Describe(kind)}, found {Describe(v.ValueKind)}");
            return v;
        }

        public double Number(JsonElement obj, string name, string path)
        {
            var v = Get(obj, name, path, JsonValueKind.Number);
            return v.TryGetDouble(out var d) && double.IsFinite(d) ? d : throw Error(Join(path, name), "not a finite number");
        }

        public int Integer(JsonElement obj, string name, string path)
        {
            var v = Get(obj, name, path, JsonValueKind.Number);
            return v.TryGetInt32(out var i) ? i : throw Error(Join(path, name), "not an integer");
        }

        public string String(JsonElement obj, string name, string path) => Get(obj, name, path, JsonValueKind.String).GetString()!;

        public double[] Numbers(JsonElement obj, string name, string path, int count)
        {
            var arr = Get(obj, name, path, JsonValueKind.Array);
            if (arr.GetArrayLength() != count) throw Error(Join(path, name), $"expected {count} numbers, found {arr.GetArrayLength()}");
            var result = new double[count];
            int i = 0;
            foreach (var v in arr.EnumerateArray())
            {
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || !double.IsFinite(d))
                    throw Error($"{Join(path, name)}[{i}]", "not a finite number");
                result[i++] = d;
            }
            return result;
        }

        public static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;
        private static string Describe(JsonValueKind k) => k switch
        {
            JsonValueKind.Object => "an object", JsonValueKind.Array => "an array", JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number", JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Null => "null", _ => "nothing",
        };
    }

    public static LearnedModel FromJson(string json, string file)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new DataException($"{file}: not valid JSON ({e.Message})", e); }
        using (doc)
        {
            var r = new Reader(file);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new DataException($"{file}: not a model file (expected a JSON object)");
            ModelFileChecks.Check(root, file);
            int version = r.Integer(root, "schemaVersion", "");
            if (version != LearnedModel.SchemaVersion)
                throw r.Error("schemaVersion", $"unknown version {version} (this program reads version {LearnedModel.SchemaVersion})");

            var speciesArr = r.Get(root, "species", "", JsonValueKind.Array);
            var species = new List<Species>();
            int si = 0;
            foreach (var s in speciesArr.EnumerateArray())
            {
                string path = $"species[{si++}]";
                var sym = r.String(s, "symbol", path);
                double mass = r.Number(s, "mass", path);
                if (!Elements.TryGet(sym, out var element)) throw r.Error(path + ".symbol", $"unknown element '{sym}'");
                if (!(mass > 0)) throw r.Error(path + ".mass", "must be positive");
                species.Add(element.WithMass(mass));
            }
            if (species.Count == 0) throw r.Error("species", "empty");
            if (species.Select(s => s.Symbol).Distinct().Count() != species.Count) throw r.Error("species", "a species appears twice");

            int order = r.Integer(root, "order", "");
            if (order is not (1 or 2)) throw r.Error("order", $"must be 1 or 2, found {order}");
            var modeText = r.String(root, "mode", "");
            // Files hold exactly the written spelling: any other is a malformed file.
            if (!ForceModeNames.TryParse(modeText, out var mode) || mode.Name() != modeText)
                throw r.Error("mode", $"must be \"agent\" or \"conservative\", found \"{modeText}\"");
            var wallForces = WallForces.Agent; // files before the field: each agent's walls push it alone
            if (root.TryGetProperty("wallForces", out _))
            {
                var text = r.String(root, "wallForces", "");
                if (!WallForcesNames.TryParse(text, out wallForces) || wallForces.Name() != text)
                    throw r.Error("wallForces", $"must be \"agent\" or \"gradient\", found \"{text}\"");
            }

            var options = InvariantFamilies.Read(r, r.Get(root, "invariants", "", JsonValueKind.Object));
            InvariantSet set;
            try { set = new InvariantSet(options, species); }
            catch (DataException e) { throw new DataException($"{file}: {e.Message}", e); }

            var walls = new List<RepulsionWall>();
            if (root.TryGetProperty("repulsion", out var rep))
            {
                if (rep.ValueKind != JsonValueKind.Array) throw r.Error("repulsion", "expected an array");
                int wi = 0;
                foreach (var w in rep.EnumerateArray())
                {
                    string path = $"repulsion[{wi++}]";
                    var a = r.String(w, "a", path); var b = r.String(w, "b", path);
                    if (!species.Any(s => s.Symbol == a) || !species.Any(s => s.Symbol == b))
                        throw r.Error(path, $"species pair {a}-{b} is not in the model's species");
                    walls.Add(new RepulsionWall(a, b, r.Number(w, "rMin", path), r.Number(w, "strength", path)));
                }
            }

            var parameters = r.Get(root, "parameters", "", JsonValueKind.Object);
            var losses = new List<QuadraticLoss>();
            int k = set.Count;
            foreach (var s in species)
            {
                string path = "parameters." + s.Symbol;
                var p = r.Get(parameters, s.Symbol, "parameters", JsonValueKind.Object);
                var (b, c) = ReadCoefficients(r, p, path, k, order, checkMagnitude: false);
                InvariantBounds? bounds = null;
                if (p.TryGetProperty("bounds", out _))
                {
                    var be = r.Get(p, "bounds", path, JsonValueKind.Object);
                    string bp = path + ".bounds";
                    double cap = be.TryGetProperty("cap", out _) ? r.Number(be, "cap", bp) : double.PositiveInfinity;
                    if (!(cap >= 0)) throw r.Error(bp + ".cap", "must be non-negative");
                    bounds = new InvariantBounds(r.Numbers(be, "min", bp, k), r.Numbers(be, "max", bp, k), r.Numbers(be, "scale", bp, k), r.Number(be, "strength", bp), cap);
                    if (bounds.Scale.Any(x => !(x > 0))) throw r.Error(bp + ".scale", "must be positive");
                }
                // Optional (files before the extrapolation signal have none: the signal is then not available).
                InvariantRange? range = null;
                if (p.TryGetProperty("range", out _))
                {
                    var re = r.Get(p, "range", path, JsonValueKind.Object);
                    string rp = path + ".range";
                    range = new InvariantRange(r.Numbers(re, "min", rp, k), r.Numbers(re, "max", rp, k), r.Numbers(re, "std", rp, k));
                    for (int q = 0; q < k; q++)
                    {
                        if (!(range.Min[q] <= range.Max[q])) throw r.Error($"{rp}.min[{q}]", $"{range.Min[q]} exceeds max {range.Max[q]}");
                        if (!(range.Std[q] >= 0)) throw r.Error($"{rp}.std[{q}]", "must be non-negative");
                    }
                }
                losses.Add(new QuadraticLoss(b, c, bounds, range));
            }

            var training = new TrainingInfo();
            if (root.TryGetProperty("training", out var t) && t.ValueKind == JsonValueKind.Object)
            {
                training = new TrainingInfo
                {
                    Source = t.TryGetProperty("source", out var src) && src.ValueKind == JsonValueKind.String ? src.GetString()! : "",
                    Frames = t.TryGetProperty("frames", out var fr) && fr.TryGetInt32(out var fi) ? fi : 0,
                    TrainFrames = t.TryGetProperty("trainFrames", out var tf) && tf.TryGetInt32(out var tfi) ? tfi : 0,
                    HoldoutFrames = t.TryGetProperty("holdoutFrames", out var hf) && hf.TryGetInt32(out var hfi) ? hfi : 0,
                    Stride = t.TryGetProperty("stride", out var st) && st.TryGetInt32(out var sti) ? sti : 1,
                    Target = t.TryGetProperty("target", out var tg) && tg.ValueKind == JsonValueKind.String ? tg.GetString()! : "forces",
                    Ridge = t.TryGetProperty("ridge", out var rg) && rg.ValueKind == JsonValueKind.Object
                        ? rg.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number).ToDictionary(p => p.Name, p => p.Value.GetDouble())
                        : new Dictionary<string, double>(),
                    Train = t.TryGetProperty("train", out var tr) ? ReadErrors(tr) : null,
                    Holdout = t.TryGetProperty("holdout", out var ho) ? ReadErrors(ho) : null,
                };
            }
            try
            {
                var model = new LearnedModel(set, mode, losses, walls, training) { WallForces = wallForces };
                return root.TryGetProperty("committee", out _) ? model.WithCommittee(ReadCommittee(r, root, species, order, k, losses)) : model;
            }
            catch (ArgumentException e) { throw new DataException($"{file}: {e.Message}", e); }
        }
    }

    private static ForceErrorReport? ReadErrors(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("species", out var sp) || sp.ValueKind != JsonValueKind.Object) return null;
        var dict = new Dictionary<string, SpeciesError>();
        foreach (var p in sp.EnumerateObject())
        {
            double Get(string n) => p.Value.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
            dict[p.Name] = new SpeciesError(Get("relRmse"), Get("rmse"), (long)Get("atoms"));
        }
        int frames = e.TryGetProperty("frames", out var f) && f.TryGetInt32(out var fi) ? fi : 0;
        return new ForceErrorReport(dict, frames);
    }
}
