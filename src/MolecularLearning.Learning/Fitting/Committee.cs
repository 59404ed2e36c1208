using MathNet.Numerics.LinearAlgebra;

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
    /// <returns>Member × species losses (without bounds or ranges).</returns>
    public static QuadraticLoss[][] Solve(IReadOnlyList<GramAccumulator[]> blocks, int members, double[] ridge, bool conservative,
        int species, int perSpecies, Func<double[], QuadraticLoss> unpack)
    {
        string kind = Environment.GetEnvironmentVariable("MLD_COMMITTEE_KIND") ?? "bootstrap";
        double spread = double.TryParse(Environment.GetEnvironmentVariable("MLD_COMMITTEE_RIDGE_SPREAD"), System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : 10;
        int groups = ridge.Length;
        int columns = blocks[0][0].Columns;
        double dropFraction = double.TryParse(Environment.GetEnvironmentVariable("MLD_COMMITTEE_DROP"), System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : 0.5;
        int linear = unpack(new double[perSpecies]).Linear.Length;
        var result = new QuadraticLoss[members][];
        for (int m = 0; m < members; m++) result[m] = new QuadraticLoss[species];
        if (kind == "posterior")
        {
            for (int g = 0; g < groups; g++)
            {
                var acc = new GramAccumulator(columns);
                foreach (var b in blocks) acc.Add(b[g]);
                acc.Complete();
                var thetas = Posterior(acc, ridge[g], members);
                for (int m = 0; m < members; m++) Put(result[m], g, thetas[m], conservative, species, perSpecies, unpack);
            }
            return result;
        }
        Parallel.For(0, members, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, m =>
        {
            var weights = kind == "half" ? HalfWeights(blocks.Count, m) : Weights(blocks.Count, m);
            double lambdaFactor = 1;
            if (kind == "ridge" || kind == "halfridge")
            {
                var random = new Random(Seed + 7919 * (m + 1));
                lambdaFactor = Math.Pow(spread, 2 * random.NextDouble() - 1);
                if (kind == "halfridge") weights = HalfWeights(blocks.Count, m);
            }
            if (kind == "subspace") weights = Enumerable.Repeat(1, blocks.Count).ToArray();
            bool[]? drop = kind is "subspace" or "bootsub" ? Dropped(columns, perSpecies, linear, dropFraction, m) : null;
            for (int g = 0; g < groups; g++)
            {
                var acc = new GramAccumulator(columns);
                for (int b = 0; b < blocks.Count; b++) acc.AddScaled(blocks[b][g], weights[b]);
                acc.Complete();
                if (drop is not null) acc.Drop(drop);
                var theta = RidgeSolver.SolveCholesky(acc, ridge[g] * lambdaFactor);
                Put(result[m], g, theta, conservative, species, perSpecies, unpack);
            }
        });
        return result;
    }

    private static void Put(QuadraticLoss[] losses, int g, double[] theta, bool conservative, int species, int perSpecies, Func<double[], QuadraticLoss> unpack)
    {
        if (conservative)
            for (int s = 0; s < species; s++) losses[s] = unpack(theta.AsSpan(s * perSpecies, perSpecies).ToArray());
        else losses[g] = unpack(theta);
    }

    /// <summary>
    /// Draws from the ridge posterior N(θ̂, σ²(AᵀA + λ)⁻¹) in the standardised columns the fit solves in, σ² the mean
    /// squared residual per row.
    /// </summary>
    internal static double[][] Posterior(GramAccumulator acc, double ridge, int members)
    {
        int p = acc.Columns;
        var result = new double[members][];
        var (active, scale) = RidgeSolver.Standardise(acc);
        int a = active.Length;
        double lambda = ridge * acc.Rows;
        var g = Matrix<double>.Build.Dense(a, a, (x, y) =>
            acc.Gram[(long)active[x] * p + active[y]] / (scale[x] * scale[y]) + (x == y ? lambda : 0));
        var c = Vector<double>.Build.Dense(a, x => acc.Aty[active[x]] / scale[x]);
        var cholesky = g.Cholesky();
        var ts = cholesky.Solve(c);
        var theta0 = new double[p];
        for (int i = 0; i < a; i++) theta0[active[i]] = ts[i] / scale[i];
        double sigma = Math.Sqrt(acc.Residual(theta0) / Math.Max(1, acc.Rows));
        var l = cholesky.Factor; // lower, g = L Lᵀ
        for (int m = 0; m < members; m++)
        {
            var random = new Random(Seed + m);
            var z = new double[a];
            for (int i = 0; i < a; i++) z[i] = Gaussian(random);
            // Lᵀ x = z: x has covariance (L Lᵀ)⁻¹.
            var x = new double[a];
            for (int i = a - 1; i >= 0; i--)
            {
                double sum = z[i];
                for (int j = i + 1; j < a; j++) sum -= l[j, i] * x[j];
                x[i] = sum / l[i, i];
            }
            var theta = new double[p];
            for (int i = 0; i < a; i++) theta[active[i]] = (ts[i] + sigma * x[i]) / scale[i];
            result[m] = theta;
        }
        return result;
    }

    private static double Gaussian(Random random)
    {
        double u = 1 - random.NextDouble(), v = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
    }

    /// <summary>How often member <paramref name="member"/>'s resample draws each of <paramref name="blocks"/> blocks (they sum to the block count).</summary>
    internal static int[] Weights(int blocks, int member)
    {
        var random = new Random(Seed + member);
        var weights = new int[blocks];
        for (int d = 0; d < blocks; d++) weights[random.Next(blocks)]++;
        return weights;
    }

    /// <summary>Per column: dropped from member <paramref name="member"/> (a random fraction of each species' quadratic terms).</summary>
    internal static bool[] Dropped(int columns, int perSpecies, int linear, double fraction, int member)
    {
        var random = new Random(Seed + 104729 * (member + 1));
        var drop = new bool[columns];
        for (int c = 0; c < columns; c++) drop[c] = c % perSpecies >= linear && random.NextDouble() < fraction;
        return drop;
    }

    /// <summary>Half-sampling: a random half of the blocks, each once.</summary>
    internal static int[] HalfWeights(int blocks, int member)
    {
        var random = new Random(Seed + member);
        var order = Enumerable.Range(0, blocks).ToArray();
        random.Shuffle(order);
        var weights = new int[blocks];
        for (int i = 0; i < blocks / 2; i++) weights[order[i]] = 1;
        return weights;
    }
}
