using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>What the fit learns about its training frames besides θ: the short-range walls, each invariant's training range (the range walls and the extrapolation signal) and the sensitivity table.</summary>
public static partial class ModelFitter
{
    /// <summary>Walls r_min = (shortest distance per species pair in the training frames) − margin.</summary>
    private static List<RepulsionWall> Walls(IReadOnlyList<Frame> frames, List<int> used, InvariantSet set, FitOptions options)
    {
        int t = set.Species.Count;
        var min = new double[t * t];
        Array.Fill(min, double.PositiveInfinity);
        var list = new NeighbourList();
        double reach = Math.Min(set.Cutoff, 4.0);
        foreach (var f in used)
        {
            var frame = frames[f];
            list.Build(frame.Positions, frame.Cell, reach);
            for (int i = 0; i < frame.AtomCount; i++)
            {
                int ti = set.IndexOf(frame.Species[i]);
                for (int p = list.Start[i]; p < list.Start[i + 1]; p++)
                {
                    int tj = set.IndexOf(frame.Species[list.Index[p]]);
                    ref double m = ref min[ti * t + tj];
                    m = Math.Min(m, list.R[p]);
                }
            }
        }
        var walls = new List<RepulsionWall>();
        for (int a = 0; a < t; a++)
            for (int b = a; b < t; b++)
            {
                double m = min[a * t + b];
                if (double.IsFinite(m) && m - options.RepulsionMargin > 0)
                    walls.Add(new RepulsionWall(set.Species[a].Symbol, set.Species[b].Symbol, m - options.RepulsionMargin, options.RepulsionStrength));
            }
        return walls;
    }

    /// <summary>Every agent of the used frames in turn, its invariants computed into the scratch (species: <see cref="AgentScratch.AgentType"/>).</summary>
    private static void ForEachAgent(InvariantSet set, IReadOnlyList<Frame> frames, List<int> used, Action<AgentScratch> visit)
    {
        var scratch = new AgentScratch(set.Count);
        var list = new NeighbourList();
        foreach (var f in used)
        {
            var frame = frames[f];
            var types = frame.Species.Select(set.IndexOf).ToArray();
            list.Build(frame.Positions, frame.Cell, set.Cutoff);
            for (int i = 0; i < frame.AtomCount; i++)
            {
                set.Gather(scratch, i, list, types);
                set.ComputeValues(scratch);
                visit(scratch);
            }
        }
    }

    /// <summary>Each species' invariant min, max and std over the training frames (null for a species with no agents there).</summary>
    private static InvariantRange?[] TrainingRanges(InvariantSet set, IReadOnlyList<Frame> frames, List<int> used)
    {
        int k = set.Count, t = set.Species.Count;
        var min = new double[t * k]; var max = new double[t * k];
        var sum = new double[t * k]; var sum2 = new double[t * k];
        var n = new long[t];
        Array.Fill(min, double.PositiveInfinity); Array.Fill(max, double.NegativeInfinity);
        ForEachAgent(set, frames, used, scratch =>
        {
            int s = scratch.AgentType;
            n[s]++;
            for (int q = 0; q < k; q++)
            {
                double v = scratch.Values[q];
                min[s * k + q] = Math.Min(min[s * k + q], v); max[s * k + q] = Math.Max(max[s * k + q], v);
                sum[s * k + q] += v; sum2[s * k + q] += v * v;
            }
        });
        var result = new InvariantRange?[t];
        for (int s = 0; s < t; s++)
        {
            if (n[s] == 0) continue;
            var sd = new double[k];
            for (int q = 0; q < k; q++) sd[q] = StandardDeviation(sum[s * k + q], sum2[s * k + q], n[s]);
            result[s] = new InvariantRange(min.AsSpan(s * k, k).ToArray(), max.AsSpan(s * k, k).ToArray(), sd);
        }
        return result;
    }

    /// <summary>Each species' training ranges as walls of the given strength.</summary>
    private static QuadraticLoss[] WithRanges(QuadraticLoss[] losses, InvariantRange?[] ranges, double strength, double margin, double minScale, bool[] walled)
    {
        var result = new QuadraticLoss[losses.Length];
        for (int s = 0; s < losses.Length; s++)
        {
            if (ranges[s] is not { } range) { result[s] = losses[s]; continue; }
            int k = range.Min.Length;
            var scale = new double[k];
            for (int q = 0; q < k; q++)
            {
                double sd = range.Std[q];
                // Invariants that never vary (an absent neighbour species) get a unit scale: any change is new.
                // Ones that barely vary (a shell no neighbour reaches in training, so ~1e-8) get a floor: a wall
                // scaled by their tiny spread would rise by S already a hair beyond the range and be the
                // steepest force in the model.
                scale[q] = sd > 1e-12 ? Math.Max(sd, minScale) : 1;
            }
            var lo = new double[k]; var hi = new double[k];
            for (int q = 0; q < k; q++)
            {
                // An unwalled invariant gets the widest finite range (the model file stores finite numbers).
                lo[q] = walled[q] ? range.Min[q] - margin * scale[q] : -double.MaxValue;
                hi[q] = walled[q] ? range.Max[q] + margin * scale[q] : double.MaxValue;
            }
            result[s] = losses[s].WithBounds(new InvariantBounds(lo, hi, scale, strength, InvariantBounds.DefaultCap));
        }
        return result;
    }

    /// <summary>Population standard deviation from a sum and a sum of squares over n samples.</summary>
    private static double StandardDeviation(double sum, double sumSquares, long n)
    {
        double mean = sum / n;
        return Math.Sqrt(Math.Max(0, sumSquares / n - mean * mean));
    }

    private static IReadOnlyDictionary<string, IReadOnlyList<Sensitivity>> Sensitivities(LearnedModel model, IReadOnlyList<Frame> frames, List<int> used)
    {
        var set = model.Invariants;
        int k = set.Count, t = set.Species.Count;
        var n = new long[t];
        var sumI = new double[t * k]; var sumI2 = new double[t * k]; var sumL2 = new double[t * k];
        ForEachAgent(set, frames, used, scratch =>
        {
            int s = scratch.AgentType;
            model.Losses[s].Evaluate(scratch.Values.AsSpan(0, k), scratch.Lambda);
            n[s]++;
            for (int q = 0; q < k; q++)
            {
                double v = scratch.Values[q], l = scratch.Lambda[q];
                sumI[s * k + q] += v; sumI2[s * k + q] += v * v; sumL2[s * k + q] += l * l;
            }
        });
        var result = new Dictionary<string, IReadOnlyList<Sensitivity>>();
        for (int s = 0; s < t; s++)
        {
            if (n[s] == 0) continue;
            var perInvariant = new List<Sensitivity>();
            for (int q = 0; q < k; q++)
            {
                double sd = StandardDeviation(sumI[s * k + q], sumI2[s * k + q], n[s]);
                perInvariant.Add(new Sensitivity(set.Labels[q], Math.Sqrt(sumL2[s * k + q] / n[s]) * sd));
            }
            result[set.Species[s].Symbol] = perInvariant;
        }
        return result;
    }
}
