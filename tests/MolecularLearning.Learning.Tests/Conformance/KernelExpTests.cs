using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>
/// The kernel's own exp (<see cref="Simd.Exp{V}"/>, inlined where Vector512.Exp is not) against Math.Exp at each width:
/// every Gaussian of the fast backend goes through it, so the backends agree to 1e-12 only if it is good to a few ulp.
/// </summary>
public class KernelExpTests
{
    public static IEnumerable<object[]> Widths() => Backends.CaseWidths.Select(b => new object[] { b });

    [SkippableTheory]
    [MemberData(nameof(Widths))]
    public void ExpIsWithinAboutTwoUlpOfMathExp(int bits)
    {
        Skip.IfNot(bits < 0 || SortedGaussianKernel.IsAccelerated(bits), $"no {bits}-bit SIMD on this machine");
        // The Gaussians' arguments (−x²/2 and δx) fill [−60, 10]; the whole clamped range, the reduction's boundaries
        // (k ln 2 ± ln2/2) and the Taylor remainder's worst case at |r| = ln2/2 are all in here.
        var xs = new List<double>();
        for (double x = -60; x <= 10; x += 0.001) xs.Add(x);
        for (int k = -1000; k <= 1000; k++) { double b = (k + 0.5) * Math.Log(2); xs.Add(Math.BitDecrement(b)); xs.Add(b); xs.Add(Math.BitIncrement(b)); }
        xs.AddRange([-700, -699.99, 0, 1e-300, -1e-300, 699.99, 700]);
        double worst = Math.Abs(bits) switch
        {
            512 => Worst<Simd512>(xs),
            256 => Worst<Simd256>(xs),
            _ => Worst<Simd128>(xs),
        };
        // Measured: 3.1e-16 with FMA (Horner), 4.7e-16 without (Estrin); a polynomial one term short is off by ~6e-15.
        Assert.True(worst <= 5e-16, $"largest relative error {worst:E2} (2 ulp is 4.4e-16)");
    }

    private static double Worst<V>(List<double> xs) where V : struct, ISimd<V>
    {
        int w = V.Count;
        var buffer = new double[w];
        double worst = 0;
        for (int i = 0; i < xs.Count; i += w)
        {
            for (int l = 0; l < w; l++) buffer[l] = xs[Math.Min(i + l, xs.Count - 1)];
            Simd.Exp(V.LoadUnsafe(ref buffer[0])).StoreUnsafe(ref buffer[0]);
            for (int l = 0; l < w && i + l < xs.Count; l++)
            {
                double want = Math.Exp(xs[i + l]);
                worst = Math.Max(worst, Math.Abs(buffer[l] - want) / want);
            }
        }
        return worst;
    }
}
