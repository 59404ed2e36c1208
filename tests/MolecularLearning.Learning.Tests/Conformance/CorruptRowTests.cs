using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>
/// The kernel's decode loads neighbours through pointers, with the row's indices and image codes checked once per agent:
/// a neighbour index or image code out of range must throw, at every width, never read past an array.
/// </summary>
public class CorruptRowTests
{
    public static IEnumerable<object[]> WidthsAndFields() =>
        from bits in Backends.Widths from field in new[] { "index", "image" } select new object[] { bits, field };

    [SkippableTheory]
    [MemberData(nameof(WidthsAndFields))]
    public void AnOutOfRangeEntryThrows(int bits, string field)
    {
        var model = Synthetic.RandomModel(BackendConformanceTests.Basis("default"), 2, ForceMode.Agent, 5, walls: Backends.Walls);
        var kernel = SortedGaussianKernel.TryCreate(model, bits);
        Skip.If(kernel is null, $"no {bits}-bit SIMD kernel on this machine");
        var frame = Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.15);
        int[] types = [.. frame.Species.ToArray().Select(s => model.Invariants.IndexOf(s))];
        var list = new NeighbourList(NeighbourStorage.Compact);
        list.SetGrouping(types, model.Invariants.Species.Count);
        list.Build(frame.Positions, frame.Cell, model.Invariants.Cutoff, 0.3);
        var xyz = new PaddedCoordinates();
        xyz.Update(list);
        double Run() => kernel!.Run(0, frame.AtomCount, new KernelScratch(), list, xyz, types, new double[3 * frame.AtomCount], false, new double[9]);
        Assert.True(double.IsFinite(Run()));

        // Every entry of the first agent's row in turn: the wide loops' blocks and the scalar tails are each tried.
        int first = list.GroupStart(0, 0), end = list.GroupStart(0, model.Invariants.Species.Count);
        Assert.True(end - first > 8, "the first agent should have a row to corrupt");
        for (int e = first; e < end; e++)
        {
            if (field == "index")
            {
                ref int j = ref Unsafe.AsRef(in list.Index[e]);
                int keep = j;
                j = frame.AtomCount;
                Assert.Throws<IndexOutOfRangeException>(() => Run());
                j = keep;
            }
            else
            {
                ref ushort c = ref Unsafe.AsRef(in list.ImageCodes[e]);
                ushort keep = c;
                c = (ushort)(xyz.Images.Length / 4);
                Assert.Throws<IndexOutOfRangeException>(() => Run());
                c = keep;
            }
        }
        Assert.True(double.IsFinite(Run()));
    }
}
