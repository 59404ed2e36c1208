using System.Globalization;
using System.Text.Json.Nodes;

namespace MolecularLearning.Benchmarks;

/// <summary>The ratios to LAMMPS and CP2K in a <see cref="BenchHarness"/> report, and its human-readable table.</summary>
public static partial class BenchHarness
{
    /// <summary>learned (or pair) / LAMMPS per atom-step at equal atoms and threads = ranks; CP2K / learned per 96-atom step.</summary>
    private static JsonObject Ratios(JsonObject report)
    {
        var refs = report["references"] as JsonObject;
        var lammps = refs?["lammps"] as JsonArray;
        var perAtom = new JsonArray();
        var cp2k = new JsonArray();
        foreach (var kind in new[] { "forceEval", "md" })
            foreach (var row in (JsonArray)report[kind]!)
            {
                int atoms = (int)D(row!["atoms"]), threads = (int)D(row["threads"]);
                double ns = D(row["nsPerAtomStep"]);
                var match = lammps?.FirstOrDefault(l => (int)D(l!["atoms"]) == atoms && (int)D(l["ranks"]) == threads);
                if (match is not null)
                    perAtom.Add(new JsonObject
                    {
                        ["what"] = kind, ["forceField"] = row["forceField"]!.DeepClone(), ["mode"] = row["mode"]?.DeepClone(), ["order"] = row["order"]?.DeepClone(),
                        ["atoms"] = atoms, ["threads"] = threads,
                        ["oursOverLammps"] = Math.Round(ns / D(match["nsPerAtomStep"]), 3),
                    });
                if (atoms == 96 && refs?["cp2k"] is JsonObject c)
                    foreach (var (method, value) in c)
                        if (value?["secondsPerStep"] is { } sps)
                            cp2k.Add(new JsonObject
                            {
                                ["what"] = kind, ["forceField"] = row["forceField"]!.DeepClone(), ["mode"] = row["mode"]?.DeepClone(), ["order"] = row["order"]?.DeepClone(),
                                ["threads"] = threads, ["cp2k"] = method,
                                ["cp2kOverOurs"] = Math.Round(D(sps) / (ns * 96 * 1e-9), 0),
                            });
            }
        return new JsonObject { ["perAtomStepVsLammps"] = perAtom, ["perStepCp2kOverOurs"] = cp2k };
    }

    /// <summary>Any JSON number as a double (JsonValue refuses to convert between numeric types).</summary>
    private static double D(JsonNode? node) =>
        node is null ? double.NaN : double.Parse(node.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>The human-readable table.</summary>
    public static void PrintSummary(JsonObject report, TextWriter o)
    {
        o.WriteLine();
        o.WriteLine("force evaluation (ns per atom-step, bytes allocated per step)");
        foreach (var r in (JsonArray)report["forceEval"]!)
            o.WriteLine($"  {r!["forceField"],-8} {r["mode"]?.ToString() ?? "-",-12} {r["order"]?.ToString() ?? "-",2} {r["atoms"],9} atoms {r["threads"]} thr  {D(r["nsPerAtomStep"]),9:F1} ns (cpu {D(r["cpuNsPerAtomStep"]),9:F1})  {r["allocatedBytesPerStep"],8} B  peak {D(r["peakWorkingSetBytes"]) / 1048576.0,7:F0} MiB");
        o.WriteLine("MD steps");
        foreach (var r in (JsonArray)report["md"]!)
            o.WriteLine($"  {r!["forceField"],-8} {r["mode"]?.ToString() ?? "-",-12} {r["order"]?.ToString() ?? "-",2} {r["atoms"],9} atoms {r["threads"]} thr  {D(r["stepsPerSecond"]),9:F1} steps/s  {D(r["nsPerAtomStep"]),9:F1} ns/atom-step  {r["allocatedBytesPerStep"],8} B");
        if (report["threadScaling"] is JsonArray scaling && scaling.Count > 0)
        {
            o.WriteLine("threads (alternating batches on one evaluator)");
            foreach (var r in scaling)
                o.WriteLine($"  {r!["forceField"],-8} {r["mode"]?.ToString() ?? "-",-12} {r["order"]?.ToString() ?? "-",2} {r["atoms"],9} atoms  threads {r["threads"]!.ToJsonString()}  ns/atom-step {r["nsPerAtomStep"]!.ToJsonString()}  speed-up {D(r["speedup"]),5:F2} (median of {r["rounds"]} rounds {D(r["medianRoundSpeedup"]),5:F2})");
        }
        o.WriteLine("neighbour list");
        foreach (var r in (JsonArray)report["neighbourList"]!)
            o.WriteLine($"  {r!["storage"],-13} {r["atoms"],9} atoms {r["threads"]} thr  build {D(r["buildNsPerAtom"]),7:F1} ns/atom  refresh {D(r["refreshNsPerAtom"]),6:F1} ns/atom  {D(r["bytesPerAtom"]),7:F0} B/atom  {D(r["entriesPerAtom"]),5:F1} entries/atom");
        var ratios = (JsonObject)report["ratios"]!;
        if (report["references"] is JsonObject refs && refs["lammps"] is JsonArray lammps)
        {
            o.WriteLine("LAMMPS SPC/Fw (lj/cut/coul/cut) reference");
            foreach (var l in lammps)
                o.WriteLine($"  {l!["atoms"],9} atoms {l["ranks"]} ranks  {D(l["nsPerAtomStep"]),9:F1} ns/atom-step");
        }
        o.WriteLine("ours / LAMMPS per atom-step");
        foreach (var r in (JsonArray)ratios["perAtomStepVsLammps"]!)
            o.WriteLine($"  {r!["what"],-9} {r["forceField"],-8} {r["mode"]?.ToString() ?? "-",-12} {r["order"]?.ToString() ?? "-",2} {r["atoms"],9} atoms {r["threads"]} thr  {D(r["oursOverLammps"]),7:F3}");
        o.WriteLine("CP2K / ours per 96-atom step");
        foreach (var r in (JsonArray)ratios["perStepCp2kOverOurs"]!)
            o.WriteLine($"  {r!["what"],-9} {r["forceField"],-8} {r["mode"]?.ToString() ?? "-",-12} {r["order"]?.ToString() ?? "-",2} {r["threads"]} thr  {r["cp2k"],-12} {D(r["cp2kOverOurs"]),14:E2}");
    }
}
