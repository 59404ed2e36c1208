using System.Runtime.Intrinsics;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>The backends under test: Reference (the oracle) and Simd at each width, skipped with the reason where absent.</summary>
internal static class Backends
{
    public static readonly int[] Widths = [512, 256, 128];
    public static readonly RepulsionWall[] Walls = [new("O", "H", 1.2, 30), new("H", "H", 1.9, 10), new("O", "O", 2.9, 5)];

    private static bool Accelerated(int bits) => bits switch
    {
        512 => Vector512.IsHardwareAccelerated,
        256 => Vector256.IsHardwareAccelerated,
        _ => Vector128.IsHardwareAccelerated,
    };

    /// <summary>Reference with exact Gaussians (not the Hermite table), so it agrees with Simd to rounding.</summary>
    public static LearnedForceField Reference(LearnedModel model, int threads = 1) =>
        new(model, skin: 0.3, maxThreads: threads, BackendChoice.Reference, vectorBits: 0, tabulatedRadial: false);

    /// <summary>
    /// −512 in a case's arguments: the 512-bit kernel in the runtime's software vectors, on CPUs without AVX-512 (where
    /// the 512 case is skipped), so every change to the kernel is run at eight lanes here too. It checks the source at
    /// that width (blocks, padding, ranks, the loss, at eight doubles a vector), not AVX-512's own instructions.
    /// </summary>
    public const int Software512 = -512;

    /// <summary>The widths of the cases: the three, and <see cref="Software512"/> where 512 bits are not accelerated.</summary>
    public static int[] CaseWidths => SortedGaussianKernel.IsAccelerated(512) ? Widths : [.. Widths, Software512];

    /// <summary>
    /// Simd at <paramref name="bits"/>; skips the test when this machine has no kernel of that width. Negative: that
    /// width in software vectors (<see cref="Software512"/>).
    /// </summary>
    public static LearnedForceField Simd(LearnedModel model, int bits, int threads = 1, Precision precision = Precision.Double)
    {
        Assert.Null(SortedGaussianKernel.Unsupported(model)); // every basis of the suite is one the kernel computes
        bool software = bits < 0;
        bits = Math.Abs(bits);
        Skip.If(!software && SortedGaussianKernel.TryCreate(model, bits) is null,
            $"no {bits}-bit SIMD kernel on this machine (Vector{bits}.IsHardwareAccelerated = {Accelerated(bits)})");
        var ff = new LearnedForceField(model, skin: 0.3, maxThreads: threads, BackendChoice.Simd, vectorBits: bits, tabulatedRadial: false, precision, software);
        Assert.Equal(new BackendInfo("simd", bits, precision.Name()), ff.Backend);
        return ff;
    }

    public static ForceResult Run(IForceField ff, Frame frame)
    {
        var result = new ForceResult(frame.AtomCount);
        ff.Compute(frame.Species, frame.Positions, frame.Cell, result);
        return result;
    }

    /// <summary>Energy, forces and virial of <paramref name="got"/> within <paramref name="tolerance"/> (relative) of <paramref name="want"/>.</summary>
    public static void AssertAgree(ForceResult want, ForceResult got, double tolerance = 1e-12)
    {
        double fScale = want.Forces.Max(Math.Abs), wScale = want.Virial.ToArray().Max(Math.Abs);
        Assert.True(fScale > 1e-3, "forces should not vanish");
        Assert.True(Math.Abs(want.Energy - got.Energy) <= tolerance * (1 + Math.Abs(want.Energy)),
            $"energy {got.Energy} against {want.Energy}");
        for (int x = 0; x < want.Forces.Length; x++)
            Assert.True(Math.Abs(want.Forces[x] - got.Forces[x]) <= tolerance * fScale,
                $"force {x}: {got.Forces[x]} against {want.Forces[x]}");
        for (int a = 0; a < 9; a++)
            Assert.True(Math.Abs(want.Virial[a] - got.Virial[a]) <= tolerance * wScale,
                $"virial {a}: {got.Virial[a]} against {want.Virial[a]}");
    }

    /// <summary>The model and frame through Simd at <paramref name="bits"/> against Reference.</summary>
    public static void AssertSimdAgrees(int bits, LearnedModel model, Frame frame) =>
        AssertAgree(Run(Reference(model), frame), Run(Simd(model, bits), frame));

    public static ForceMode Mode(string name)
    {
        Assert.True(ForceModeNames.TryParse(name, out var mode));
        return mode;
    }

    /// <summary>(bits, mode, order) for every width (<see cref="CaseWidths"/>), both modes, orders 1 and 2, after the leading arguments.</summary>
    public static IEnumerable<object[]> EveryWidthModeAndOrder(params object[][] leading)
    {
        foreach (var lead in leading.Length == 0 ? [[]] : leading)
            foreach (int bits in CaseWidths)
                foreach (var mode in new[] { "agent", "conservative" })
                    foreach (var order in new[] { 1, 2 })
                        yield return [bits, .. lead, mode, order];
    }
}
