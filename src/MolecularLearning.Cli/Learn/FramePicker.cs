namespace MolecularLearning.Cli.Learn;

/// <summary>A frame of learned MD that could be labelled: which run it is from, its step, its extrapolation score.</summary>
public readonly record struct Candidate(int Run, long Step, double Score);

/// <summary>
/// Chooses the frames to label (DP-GEN's selection, with the extrapolation signal in place of the committee
/// deviation): the largest scores first, each at least <c>minGap</c> steps from every frame already chosen
/// in the same run, so one excursion does not take the whole budget with near-copies of one configuration.
/// </summary>
public static class FramePicker
{
    /// <summary>
    /// Indices into <paramref name="candidates"/> of at most <paramref name="budget"/> frames, largest score first.
    /// Only scores above <paramref name="threshold"/> count (frames inside the training range teach little).
    /// When no candidate has a score (NaN: the force field reports no signal), frames are spread evenly in time
    /// over every run instead, so the loop still adds data.
    /// </summary>
    public static List<int> Pick(IReadOnlyList<Candidate> candidates, int budget, long minGap, double threshold = 0)
    {
        if (budget < 0) throw new ArgumentOutOfRangeException(nameof(budget), "budget must be ≥ 0");
        if (minGap < 0) throw new ArgumentOutOfRangeException(nameof(minGap), "minimum gap must be ≥ 0");
        var picked = new List<int>();
        if (budget == 0 || candidates.Count == 0) return picked;
        if (candidates.All(c => double.IsNaN(c.Score))) return Spread(candidates, budget, minGap);
        var order = Enumerable.Range(0, candidates.Count)
            .Where(i => candidates[i].Score > threshold) // NaN compares false: unscored frames are left out
            .OrderByDescending(i => candidates[i].Score)
            .ThenBy(i => candidates[i].Run).ThenBy(i => candidates[i].Step); // ties: deterministic
        foreach (var i in order)
        {
            if (picked.Count == budget) break;
            if (picked.All(j => FarEnough(candidates[i], candidates[j], minGap))) picked.Add(i);
        }
        return picked;
    }

    private static bool FarEnough(Candidate a, Candidate b, long minGap) => a.Run != b.Run || Math.Abs(a.Step - b.Step) >= minGap;

    /// <summary>Evenly spaced frames (per run, in proportion to its frames), still at least minGap apart.</summary>
    private static List<int> Spread(IReadOnlyList<Candidate> candidates, int budget, long minGap)
    {
        var picked = new List<int>();
        var runs = candidates.Select((c, i) => (c, i)).GroupBy(x => x.c.Run).OrderBy(g => g.Key).ToList();
        int remaining = budget;
        for (int r = 0; r < runs.Count; r++)
        {
            var frames = runs[r].OrderBy(x => x.c.Step).ToList();
            int share = (int)Math.Ceiling(remaining / (double)(runs.Count - r));
            int want = Math.Min(share, frames.Count);
            var chosen = new List<int>();
            // The latest frames of each slice: a run drifts away from its start, so later is further out.
            for (int k = 1; k <= want; k++)
            {
                int at = (int)Math.Round((double)k * frames.Count / want) - 1;
                var c = frames[Math.Clamp(at, 0, frames.Count - 1)];
                if (chosen.All(j => FarEnough(c.c, candidates[j], minGap))) chosen.Add(c.i);
            }
            picked.AddRange(chosen);
            remaining -= chosen.Count;
        }
        return picked;
    }
}
