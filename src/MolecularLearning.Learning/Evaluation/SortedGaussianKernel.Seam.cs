using System.Runtime.Intrinsics;

namespace MolecularLearning.Learning;

// Stand-in for the width-agnostic kernel's API (branch h-simd), so the backends and the conformance suite build
// against the final signatures; dropped when that branch merges. Today's kernel runs at 512 bits only.
internal sealed partial class SortedGaussianKernel
{
    /// <summary>The kernel at <paramref name="vectorBits"/> (0: the widest available), or null when unavailable or unsupported.</summary>
    public static SortedGaussianKernel? TryCreate(LearnedModel model, int vectorBits) =>
        vectorBits is 0 or 512 ? TryCreate(model) : null;

    /// <summary>The SIMD width this kernel runs at.</summary>
    public int VectorBits => 512;

    /// <summary>Why the kernel cannot compute <paramref name="model"/> (its families or basis), or null when it can.</summary>
    /// <remarks>Stand-in: told apart from missing hardware only where the hardware is present.</remarks>
    public static string? Unsupported(LearnedModel model) =>
        Vector512.IsHardwareAccelerated && TryCreate(model) is null ? "a family or basis outside the kernel's (see SortedGaussianKernel.TryCreate)" : null;
}
