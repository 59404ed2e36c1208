using System.Text.Json.Nodes;
using MolecularLearning.Core;

namespace MolecularLearning.Benchmarks;

/// <summary>How far a mixed-precision evaluator lands from double on one frame: the report's "precision" rows.</summary>
internal static class PrecisionError
{
    public static JsonObject Measure(Frame frame, BenchCandidate candidate)
    {
        var mixedFf = candidate.Create();
        var doubleFf = (candidate.CreateDouble ?? throw new ArgumentException("no double evaluator to compare with"))();
        var mixed = new ForceResult(frame.AtomCount);
        var exact = new ForceResult(frame.AtomCount);
        mixedFf.Compute(frame.Species, frame.Positions, frame.Cell, mixed);
        doubleFf.Compute(frame.Species, frame.Positions, frame.Cell, exact);
        double sumF = 0, sumD = 0, maxD = 0;
        for (int x = 0; x < exact.Forces.Length; x++)
        {
            double d = mixed.Forces[x] - exact.Forces[x];
            sumF += exact.Forces[x] * exact.Forces[x];
            sumD += d * d;
            maxD = Math.Max(maxD, Math.Abs(d));
        }
        double rmsF = Math.Sqrt(sumF / exact.Forces.Length), rmsD = Math.Sqrt(sumD / exact.Forces.Length);
        double wScale = 0, wDiff = 0;
        for (int a = 0; a < 9; a++) { wScale = Math.Max(wScale, Math.Abs(exact.Virial[a])); wDiff = Math.Max(wDiff, Math.Abs(mixed.Virial[a] - exact.Virial[a])); }
        var backend = mixedFf is Learning.LearnedForceField l ? l.Backend : new BackendInfo("scalar", 0);
        return new JsonObject
        {
            ["forceField"] = candidate.ForceField,
            ["atoms"] = frame.AtomCount,
            ["mode"] = candidate.Mode,
            ["order"] = candidate.Order,
            ["backend"] = backend.Name,
            ["vectorBits"] = backend.VectorBits,
            ["precision"] = backend.Precision,
            ["rmsForceEvPerAngstrom"] = rmsF,
            ["forceRmsDifferenceOverRmsForce"] = rmsD / rmsF,
            ["forceMaxDifferenceOverRmsForce"] = maxD / rmsF,
            ["energyDifferencePerAtomEv"] = Math.Abs(mixed.Energy - exact.Energy) / frame.AtomCount,
            ["virialMaxDifferenceOverMaxVirial"] = wScale > 0 ? wDiff / wScale : 0,
        };
    }
}
