
namespace MolecularLearning.Learning;

/// <summary>The sorted angles (<see cref="SortedAngles"/>) on the kernel's decoded row: a few entries per agent, scalar.</summary>
internal sealed partial class SortedGaussianKernel<V>
{
    // From SortedAngles (set in the constructor): the legs, first invariant, degree and count, Bonnet's constants.
    private readonly SortedAngles _sortedAngles;
    private readonly int _angleOffset, _angleDegree;
    private readonly int _angles;
    private readonly double[] _bonnetA, _bonnetB;                // P_{l+1} = A_l x P_l − B_l P_{l−1}: (2l+1)/(l+1), l/(l+1)

    /// <summary>P_l(cos θ) of the sorted angles; keeps cos θ and dP_l/dcos θ per angle for <see cref="AngleGradient"/>.</summary>
    private void AngleValues(KernelScratch s, int agentType, Span<double> values)
    {
        int deg = _angleDegree;
        if (deg == 0) return;
        var dps = s.AngleSlopes;
        for (int a = 0; a < _angles; a++)
        {
            int o = _angleOffset + a * deg - 1;
            if (!_sortedAngles.Legs(s.SortedEntry, agentType, a, out int ej, out int ek))
            {
                for (int l = 1; l <= deg; l++) values[o + l] = 0;
                s.AngleCos[a] = double.NaN; // absent: no force
                continue;
            }
            double x = Cosine(s, ej, ek);
            s.AngleCos[a] = x;
            // Bonnet's recursion with the divisions folded into constants.
            double p0 = 1, p1 = x, d0 = 0, d1 = 1;
            values[o + 1] = p1; dps[a * deg] = d1;
            for (int l = 1; l < deg; l++)
            {
                double p2 = _bonnetA[l] * x * p1 - _bonnetB[l] * p0;
                double d2 = d0 + (2 * l + 1) * p1;
                values[o + l + 1] = p2; dps[a * deg + l] = d2;
                p0 = p1; p1 = p2; d0 = d1; d1 = d2;
            }
        }
    }

    /// <summary>The sorted angles' forces: ∂L/∂cos θ times ∂cos θ/∂d for both legs, into F_i, the virial and (conservative) the neighbours.</summary>
    private void AngleGradient(KernelScratch s, int agentType, double[] forces, bool conservative, ref double fx, ref double fy, ref double fz)
    {
        int deg = _angleDegree;
        var lambda = s.Lambda;
        var dps = s.AngleSlopes;
        for (int a = 0; a < _angles; a++)
        {
            double c = s.AngleCos[a];
            if (double.IsNaN(c)) continue;
            _sortedAngles.Legs(s.SortedEntry, agentType, a, out int ej, out int ek);
            double ac = 0;
            for (int l = 0; l < deg; l++) ac += lambda[_angleOffset + a * deg + l] * dps[a * deg + l];
            CosineForce(s, ej, ek, c, ac, forces, conservative, ref fx, ref fy, ref fz);
        }
    }
}
