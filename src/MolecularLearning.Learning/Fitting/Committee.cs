namespace MolecularLearning.Learning;

/// <summary>
/// Committee members from the block Gram matrices of one fit: member m counts each block as often as a bootstrap
/// resample of the blocks draws it (with replacement, seeded by m) and is solved with the fit's ridge. The design is
/// linear in θ, so a member costs a weighted sum of Gram matrices and one Cholesky solve, not a pass over the data.
/// </summary>
/// <remarks>
/// Contiguous blocks, not single frames: neighbouring MD frames are nearly the same configuration, so a frame-level
/// bootstrap would see each of them repeated and underestimate the spread.
/// </remarks>
internal static class Committee
{
    /// <summary>Fixed so that the same data and options give the same members.</summary>
    public const int Seed = 20251204;

    /// <param name="blocks">Per block, one accumulator per group (agent mode: species; conservative: one).</param>
    /// <param name="ridge">The ridge the fit chose, per group.</param>
    /// <param name="unpack">θ of one species → its loss.</param>
    /// <param name="weights">Member → how often it counts each block (null: <see cref="Weights"/>, the bootstrap).</param>
    /// <returns>Member × species losses (without bounds or ranges).</returns>
    public static QuadraticLoss[][] Solve(IReadOnlyList<GramAccumulator[]> blocks, int members, double[] ridge, bool conservative,
        int species, int perSpecies, Func<double[], QuadraticLoss> unpack, Func<int, int[]>? weights = null)
    {
        weights ??= m => Weights(blocks.Count, m);
        int groups = ridge.Length;
        int columns = blocks[0][0].Columns;
        var result = new QuadraticLoss[members][];
        Parallel.For(0, members, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, m =>
        {
            var w = weights(m);
            var losses = new QuadraticLoss[species];
            for (int g = 0; g < groups; g++)
            {
                var acc = new GramAccumulator(columns);
                for (int b = 0; b < blocks.Count; b++) acc.AddScaled(blocks[b][g], w[b]);
                acc.Complete();
                var theta = RidgeSolver.SolveCholesky(acc, ridge[g]);
                if (conservative)
                    for (int s = 0; s < species; s++) losses[s] = unpack(theta.AsSpan(s * perSpecies, perSpecies).ToArray());
                else losses[g] = unpack(theta);
            }
            result[m] = losses;
        });
        return result;
    }

    /// <summary>How often member <paramref name="member"/>'s resample draws each of <paramref name="blocks"/> blocks (they sum to the block count).</summary>
    internal static int[] Weights(int blocks, int member)
    {
        var random = new Random(Seed + member);
        var weights = new int[blocks];
        for (int d = 0; d < blocks; d++) weights[random.Next(blocks)]++;
        return weights;
    }
}
