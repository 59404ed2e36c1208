using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Learning;
using Spectre.Console;

namespace MolecularLearning.Cli.Verbs;

/// <summary>`mld fit DATA... -o model.json`: fits the agent losses to CP2K forces (or accelerations) and saves the model.</summary>
public sealed class FitVerb : IVerb
{
    public Command Build()
    {
        var inputs = new Argument<string[]>("data") { Description = "CP2K runs (directory or prefix) or extended XYZ files", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--output", "-o") { Description = "model file to write (JSON)", Required = true };
        var order = new Option<int?>("--order") { Description = "1: linear in the invariants; 2: quadratic (the paper's, default)" };
        var mode = new Option<string?>("--mode") { Description = "agent: the paper's F_i = -dL_i/dx_i with its own default basis; conservative: F = -grad sum L_i with the smooth-shell basis. Without --mode: the recommended model (conservative, the accurate preset's recipe)" };
        var cutoff = new Option<double?>("--cutoff") { Description = "cutoff in Å of the sorted-distance and radial families (default 6)" };
        var basis = new Option<string?>("--basis") { Description = $"invariants, items joined by '+': {InvariantOptions.BasisSyntax} (default: the accurate preset's; with --mode agent \"{FitOptions.DefaultBasis}\"; with --mode conservative \"{FitOptions.DefaultConservativeBasis}\")" };
        var holdout = new Option<double?>("--holdout") { Description = "fraction of frames held out at the end (default 0.2)" };
        var target = new Option<string?>("--target") { Description = "forces (default) or accelerations (from positions alone)" };
        var stride = new Option<int?>("--stride") { Description = "use every n-th training frame (default: about 400 frames)" };
        var ridge = new Option<double?>("--ridge") { Description = "fixed ridge strength (default: chosen on a validation block; on a short run by cross-validation)" };
        var folds = new Option<int?>("--folds") { Description = "choose the ridge by cross-validation over this many blocks of the training frames; 1: the last block alone (default; a short run, 10 to 199 training frames, gets 5 and a basis chosen the same way unless --folds or --ridge is given)" };
        var repulsion = new Option<double?>("--repulsion") { Description = "strength (eV/Å³) of the walls below the shortest training distances; 0 = none" };
        var rangeWalls = new Option<double?>("--range-walls") { Description = "strength (eV) of the walls on each invariant's training range; 0 = none (default 0.02; 0.005 for the conservative default)" };
        var wallForces = new Option<string?>("--wall-forces") { Description = $"agent mode, how the range walls push ({WallForcesNames.Help}): agent, each agent's walls its own atom (default, the paper's); gradient, -grad of the sum of all agents' walls, on neighbours too (no curl; recorded as \"wallForces\" in the model file)" };
        var linear = new Option<string?>("--linear") { Description = $"invariant families without quadratic terms (order 2), comma-separated: {string.Join(", ", InvariantSet.FamilyNames)}" };
        var preset = new Option<string?>("--preset") { Description = "accurate: the most accurate measured model (conservative, angular invariants; the default without --mode); other options override its settings" };
        var prior = new Option<string?>("--prior") { Description = "a model fitted on other data (e.g. a long xTB run): fit these frames as an offset from it (its basis, mode and walls; the ridge pulls toward its losses)" };
        var json = new Option<bool>("--json") { Description = "print the report as JSON" };
        var committeeBlocks = new Option<int?>("--committee-blocks") { Description = "contiguous blocks of training frames the committee members resample (default 16)" };
        var committee = new Option<int?>("--committee") { Description = "also fit K committee members (bootstrap resamples of blocks of the training frames) and store them in the model file: `evaluate` then reports their force disagreement (DeePMD-kit's model deviation); default none" };
        var curl = new Option<double?>("--curl-penalty") { Description = "agent mode: weight μ (Å²) of a penalty on the curl (antisymmetric force Jacobian) sampled on training frames, which makes agent forces heat under a weak thermostat (docs/agent-mode.md); default none" };
        var curlSample = new Option<string?>("--curl-sample") { Description = "with --curl-penalty: FRAMES:PAIRS[:JITTER], the training frames (evenly spaced) and random neighbour pairs per frame the penalty samples, and a Gaussian displacement (Å) of their atoms (default 16:400:0)" };
        var curlFrames = new Option<string?>("--curl-frames") { Description = "with --curl-penalty: extra configurations (e.g. an extended XYZ trajectory of `mld run`) the penalty also samples, as they are; no reference forces are needed" };
        var backend = BackendOption.Create("evaluates the fitted model's training and held-out errors");
        var command = new Command("fit", "fit the agent losses to CP2K data and write a model file")
        {
            inputs, output, order, mode, cutoff, basis, holdout, target, stride, ridge, folds, repulsion, rangeWalls, wallForces, linear, preset, prior, json, backend, committee, committeeBlocks, curl, curlSample, curlFrames,
        };
        command.SetAction(p => CliErrors.Guard(() =>
        {
            // No --mode, --basis or --preset: the recommended model (the accurate recipe, conservative). --mode agent is the
            // paper's model; --mode conservative without --basis the smooth conservative basis (cheaper, energy-conserving).
            string? modeName = p.GetValue(mode);
            ForceMode? requested = modeName is null ? null
                : ForceModeNames.TryParse(modeName, out var rm) ? rm
                : throw new DataException($"--mode: expected agent or conservative, got '{modeName}'");
            bool hasBasis = p.GetValue(basis) is not null;
            var (options, defaultBasis) = requested switch
            {
                null => (FitOptions.Recommended, FitOptions.AccurateBasis),
                ForceMode.Conservative when !hasBasis => (FitOptions.DefaultConservative, FitOptions.DefaultConservativeBasis),
                _ => (FitOptions.Default, FitOptions.DefaultBasis),
            };
            if (p.GetValue(preset) is { } name)
            {
                options = name.Trim().ToLowerInvariant() == "accurate" ? FitOptions.Accurate
                    : throw new DataException($"--preset: expected accurate, got '{name}'");
                defaultBasis = FitOptions.AccurateBasis;
            }
            if (p.GetValue(order) is { } o) options = options with { Order = o };
            if (requested is { } m) options = options with { Mode = m };
            if (p.GetValue(basis) is not null || p.GetValue(cutoff) is not null)
                options = options with { Invariants = InvariantOptions.Parse(p.GetValue(basis) ?? defaultBasis, p.GetValue(cutoff) ?? FitOptions.DefaultCutoff) };
            // An explicit basis is fitted as written: no bonded terms derived for species it does not name.
            if (hasBasis) options = options with { DeriveBondedTerms = false };
            if (p.GetValue(holdout) is { } h) options = options with { HoldoutFraction = h };
            if (p.GetValue(target) is { } t)
                options = options with
                {
                    Target = t.ToLowerInvariant() switch
                    {
                        "forces" => FitTarget.Forces,
                        "accelerations" => FitTarget.Accelerations,
                        _ => throw new DataException($"--target: expected forces or accelerations, got '{t}'"),
                    },
                };
            if (p.GetValue(stride) is { } s) options = options with { Stride = s };
            if (p.GetValue(ridge) is { } r) options = options with { Ridge = r };
            if (p.GetValue(folds) is { } fo) options = options with { Folds = fo >= 1 ? fo : throw new DataException($"--folds: expected 1 or more, got {fo}") };
            if (p.GetValue(repulsion) is { } rep) options = options with { RepulsionStrength = rep };
            if (p.GetValue(linear) is { } lin)
                options = options with { LinearFamilies = lin.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
            if (p.GetValue(rangeWalls) is { } rw) options = options with { RangeWallStrength = rw };
            if (p.GetValue(wallForces) is { } wf)
            {
                if (p.GetValue(prior) is not null) throw new DataException("--wall-forces: not available with --prior (an offset fit keeps the prior's; set \"wallForces\" in the written file)");
                options = options with { WallForces = WallForcesNames.TryParse(wf, out var wfv) ? wfv : throw new DataException($"--wall-forces: expected {WallForcesNames.Help}, got '{wf}'") };
                if (options.WallForces == WallForces.Gradient && options.Mode != ForceMode.Agent)
                    throw new DataException("--wall-forces gradient is for agent mode (conservative forces are the walls' gradient already)");
            }
            if (p.GetValue(committee) is { } cm)
            {
                if (p.GetValue(prior) is not null) throw new DataException("--committee: not available with --prior (an offset fit stores no members)");
                options = options with { Committee = cm };
            }
            if (p.GetValue(curl) is { } mu) options = options with { CurlPenalty = mu };
            if (p.GetValue(curlSample) is { } cs)
            {
                var parts = cs.Split(':');
                double cj = 0;
                if (parts.Length is < 2 or > 3 || !int.TryParse(parts[0], out int cf) || !int.TryParse(parts[1], out int cp) || cf < 1 || cp < 1
                    || (parts.Length == 3 && !(double.TryParse(parts[2], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out cj) && cj >= 0)))
                    throw new DataException($"--curl-sample: expected FRAMES:PAIRS[:JITTER] (positive integers, jitter ≥ 0 Å), got '{cs}'");
                if (options.CurlPenalty is null) throw new DataException("--curl-sample: needs --curl-penalty");
                options = options with { CurlFrames = cf, CurlPairsPerFrame = cp, CurlJitter = cj };
            }
            if (p.GetValue(curlFrames) is { } cfPath)
            {
                if (options.CurlPenalty is null) throw new DataException("--curl-frames: needs --curl-penalty");
                options = options with { CurlExtraFrames = LoadCurlFrames(cfPath) };
            }
            if (p.GetValue(committeeBlocks) is { } cb) options = options with { CommitteeBlocks = cb };
            options = options with { Backend = BackendOption.Parse(p.GetValue(backend)!) };
            // A built-in basis (no --basis, no --prior) names O and H only: say so when the data hold other species.
            string? builtIn = hasBasis || p.GetValue(prior) is not null ? null
                : p.GetValue(preset) is not null || requested is null ? "the accurate preset's basis"
                : requested == ForceMode.Conservative ? "the conservative default basis" : "the agent-mode default basis";
            return Run(p.GetValue(inputs)!, p.GetValue(output)!, options, p.GetValue(json), p.GetValue(prior), builtIn);
        }));
        return command;
    }

    private static int Run(string[] inputs, string output, FitOptions options, bool asJson, string? priorPath = null, string? builtInBasis = null)
    {
        AtomicFile.Target(output); // an empty path, a directory or a device node is refused before the fit, not after
        if (options.Target == FitTarget.Accelerations && inputs.Length > 1)
            throw new DataException("--target accelerations needs one continuous trajectory, got several inputs");
        var frames = LoadFrames(inputs, withForces: options.Target == FitTarget.Forces);
        options = options with { Source = string.Join(" ", inputs) };
        var progress = new ProgressLine(asJson ? null : "building design matrix");
        var result = priorPath is null ? ModelFitter.Fit(frames, options, progress)
            : ModelFitter.FitOffset(frames, LearnedModel.Load(priorPath), options, progress);
        progress.Done();
        // Judged on the basis as fitted: species that got bonded terms of their own (FitOptions.DeriveBondedTerms) are named.
        if (builtInBasis is not null && FitOptions.UnnamedSpeciesWarning(result.Model.Invariants.Options, frames.SelectMany(f => f.Species), builtInBasis) is { } unnamed)
            result = result with { Report = result.Report with { Warnings = [unnamed, .. result.Report.Warnings] } };
        if (result.Report.BackendNote is { } note) Console.Error.WriteLine("note: " + note);
        if (result.Report.BondedTerms is { } bonded) Console.Error.WriteLine("note: " + bonded);
        foreach (var warning in result.Report.Warnings) Console.Error.WriteLine("warning: " + warning);
        result.Model.Save(output);
        if (asJson) WriteJson(result, output);
        else WriteTables(result, output);
        return 0;
    }

    /// <summary>
    /// All frames of the inputs, in order; errors name the input. <paramref name="withForces"/>: only the frames that have
    /// forces, since CP2K may print forces less often than positions (&amp;FORCES EACH MD n); an input with none is an error.
    /// </summary>
    internal static List<Frame> LoadFrames(string[] inputs, bool withForces = false)
    {
        var frames = new List<Frame>();
        foreach (var input in inputs)
        {
            var loaded = FrameSource.Load(input, w => Console.Error.WriteLine("warning: " + w));
            if (loaded.Count == 0) throw DataException.At(input, null, "no frames");
            if (withForces)
            {
                var kept = loaded.Where(f => f.Forces is not null).ToList();
                if (kept.Count == 0) throw DataException.At(input, null, $"none of its {loaded.Count} frames has forces");
                if (kept.Count < loaded.Count)
                    Console.Error.WriteLine($"note: {input}: using the {kept.Count} of {loaded.Count} frames that have forces");
                loaded = kept;
            }
            frames.AddRange(loaded);
        }
        return frames;
    }

    /// <summary>The --curl-frames file's frames; errors name the file (FrameSource's own name it too).</summary>
    private static IReadOnlyList<Frame> LoadCurlFrames(string path)
    {
        IReadOnlyList<Frame> frames;
        try { frames = FrameSource.Load(path, w => Console.Error.WriteLine("warning: " + w)); }
        catch (Exception e) when (e is DataException or IOException) { throw new DataException($"--curl-frames {path}: {e.Message}"); }
        return frames.Count > 0 ? frames : throw new DataException($"--curl-frames {path}: no frames");
    }

    private static void WriteJson(FitResult result, string output)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", output);
            w.WritePropertyName("train"); ErrorJson.Write(w, result.Report.Train);
            w.WritePropertyName("holdout"); ErrorJson.Write(w, result.Report.Holdout);
            w.WriteNumber("order", result.Model.Order);
            w.WriteString("mode", result.Model.Mode.Name());
            if (result.Report.Backend is { } b) { w.WriteString("backend", b.Name); w.WriteNumber("vectorBits", b.VectorBits); }
            w.WriteNumber("invariants", result.Report.Invariants);
            w.WriteNumber("parameters", result.Report.Parameters);
            w.WriteNumber("rows", result.Report.Rows);
            w.WriteNumber("stride", result.Model.Training.Stride);
            w.WriteStartObject("ridge");
            foreach (var (s, v) in result.Report.Ridge) w.WriteNumber(s, v);
            w.WriteEndObject();
            w.WriteNumber("folds", result.Report.Folds);
            w.WriteStartObject("crossValidation");
            foreach (var (s, v) in result.Report.CrossValidation) w.WriteNumber(s, v);
            w.WriteEndObject();
            if (result.Report.Recipe is { } recipe) w.WriteString("recipe", recipe); else w.WriteNull("recipe");
            if (result.Report.BondedTerms is { } bondedTerms) w.WriteString("bondedTerms", bondedTerms);
            w.WriteStartArray("warnings");
            foreach (var warning in result.Report.Warnings) w.WriteStringValue(warning);
            w.WriteEndArray();
            w.WriteStartObject("sensitivities");
            foreach (var (s, list) in result.Report.Sensitivities)
            {
                w.WriteStartArray(s);
                foreach (var x in list)
                {
                    w.WriteStartObject();
                    w.WriteString("invariant", x.Invariant);
                    w.WriteNumber("value", x.Value);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteNumber("seconds", Math.Round(result.Report.Seconds, 3));
            if (result.Report.Curl is { } curl)
            {
                w.WriteStartObject("curl");
                w.WriteNumber("mu", curl.Mu); w.WriteNumber("pairs", curl.Pairs); w.WriteNumber("skipped", curl.Skipped);
                w.WriteNumber("rmsBefore", curl.RmsBefore); w.WriteNumber("rmsAfter", curl.RmsAfter);
                if (!double.IsNaN(curl.HeldOutBefore)) { w.WriteNumber("heldOutBefore", curl.HeldOutBefore); w.WriteNumber("heldOutAfter", curl.HeldOutAfter); } w.WriteNumber("seconds", Math.Round(curl.Seconds, 3));
                if (curl.ExtraPairs > 0) { w.WriteNumber("extraPairs", curl.ExtraPairs); w.WriteNumber("extraBefore", curl.ExtraBefore); w.WriteNumber("extraAfter", curl.ExtraAfter); }
                w.WriteEndObject();
            }
            if (result.Model.Committee is { } members)
            {
                w.WriteNumber("committee", members.Count);
                w.WriteNumber("committeeSeconds", Math.Round(result.Report.CommitteeSeconds, 3));
                w.WriteNumber("designSeconds", Math.Round(result.Report.DesignSeconds, 3));
                w.WriteNumber("solveSeconds", Math.Round(result.Report.SolveSeconds, 3));
            }
            w.WriteEndObject();
        }
        stdout.Write("\n"u8);
    }

    private static void WriteTables(FitResult result, string output)
    {
        var r = result.Report;
        var m = result.Model;
        AnsiConsole.MarkupLine(Markup.Escape(
            $"model {output}: order {m.Order}, {m.Mode.Name()} mode, {r.Invariants} invariants, {r.Parameters} parameters, " +
            $"{m.Training.TrainFrames} training frames (stride {m.Training.Stride}), {m.Training.HoldoutFrames} held out, {r.Seconds:0.0} s"));
        if (m.Committee is { } members)
            AnsiConsole.MarkupLine(Markup.Escape(FormattableString.Invariant(
                $"committee: {members.Count} members in {r.CommitteeSeconds:0.0} s (design {r.DesignSeconds:0.0} s, ridge solve {r.SolveSeconds:0.0} s)")));
        if (r.Recipe is { } recipe) AnsiConsole.MarkupLine(Markup.Escape("recipe: " + recipe));
        if (r.Curl is { } curl)
        {
            string extra = curl.ExtraPairs > 0 ? FormattableString.Invariant($"; on the {curl.ExtraPairs} pairs of --curl-frames {curl.ExtraBefore:g3} → {curl.ExtraAfter:g3}") : "";
            AnsiConsole.MarkupLine(Markup.Escape(FormattableString.Invariant(
                $"curl penalty μ {curl.Mu:g3} Å² on {curl.Pairs} neighbour pairs ({curl.Skipped} skipped: rank swaps): RMS antisymmetric Jacobian {curl.RmsBefore:g3} → {curl.RmsAfter:g3} eV/Å², on held-out frames {curl.HeldOutBefore:g3} → {curl.HeldOutAfter:g3} ({curl.Seconds:0.0} s){extra}")));
        }
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("species").AddColumn("train relRMSE").AddColumn("holdout relRMSE").AddColumn("holdout RMSE (eV/Å)").AddColumn("ridge");
        if (r.Folds > 0) table.AddColumn($"{r.Folds}-fold CV relRMSE");
        foreach (var (s, e) in r.Holdout.Species)
        {
            var t = r.Train.Species.TryGetValue(s, out var te) ? te.RelRmse : double.NaN;
            var cells = new List<string> { s, F(t, "0.0000"), F(e.RelRmse, "0.0000"), F(e.Rmse, "0.0000"),
                r.Ridge.TryGetValue(s, out var rd) ? rd.ToString("0e0", CultureInfo.InvariantCulture) : "-" };
            if (r.Folds > 0) cells.Add(r.CrossValidation.TryGetValue(s, out var cv) ? F(cv, "0.0000") : "-");
            table.AddRow([.. cells]);
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("sensitivities (RMS of ∂L/∂I_k × spread of I_k), largest first:");
        foreach (var (s, list) in r.Sensitivities)
        {
            var top = list.OrderByDescending(x => x.Value).Take(12).ToList();
            double max = top.Count > 0 ? Math.Max(top[0].Value, 1e-300) : 1;
            var chart = new Table().Border(TableBorder.None).AddColumn(new TableColumn($"agent {s}")).AddColumn("eV").AddColumn("");
            foreach (var x in top)
                chart.AddRow(Markup.Escape(x.Invariant), F(x.Value, "0.0000"), new string('█', (int)Math.Round(30 * x.Value / max)));
            AnsiConsole.Write(chart);
        }
    }

    private static string F(double v, string format) => double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
}

/// <summary>The shared JSON shape of force errors: {"species": {"O": {"relRmse", "rmse", "atoms"}}, "frames": n}.</summary>
internal static class ErrorJson
{
    /// <summary>The report as {"species": {...}, "frames": n}; <paramref name="more"/> adds properties before the object closes.</summary>
    public static void Write(Utf8JsonWriter w, ForceErrorReport report, Action<Utf8JsonWriter>? more = null)
    {
        w.WriteStartObject();
        w.WriteStartObject("species");
        foreach (var (s, e) in report.Species)
        {
            w.WriteStartObject(s);
            if (double.IsFinite(e.RelRmse)) w.WriteNumber("relRmse", e.RelRmse); else w.WriteNull("relRmse");
            if (double.IsFinite(e.Rmse)) w.WriteNumber("rmse", e.Rmse); else w.WriteNull("rmse");
            w.WriteNumber("atoms", e.Atoms);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteNumber("frames", report.Frames);
        more?.Invoke(w);
        w.WriteEndObject();
    }
}

/// <summary>Progress on stderr: an updating percentage on a terminal, a line per 10% otherwise; silent when label is null.</summary>
internal sealed class ProgressLine(string? label) : IProgress<double>
{
    private int _last = -1;
    private readonly object _gate = new();

    public void Report(double value)
    {
        if (label is null) return;
        int percent = (int)Math.Floor(100 * Math.Clamp(value, 0, 1));
        lock (_gate)
        {
            if (Console.IsErrorRedirected)
            {
                if (percent / 10 == _last / 10 && _last >= 0) return;
                Console.Error.WriteLine($"{label}: {percent}%");
            }
            else
            {
                if (percent == _last) return;
                int width = 30, filled = width * percent / 100;
                Console.Error.Write($"\r{label} [{new string('#', filled)}{new string('.', width - filled)}] {percent,3}%");
            }
            _last = percent;
        }
    }

    public void Done()
    {
        if (label is not null && !Console.IsErrorRedirected && _last >= 0) Console.Error.WriteLine();
    }
}
