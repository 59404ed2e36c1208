using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>The evaluator's cubic Hermite table of the Gaussian radial functions against the exact exp path.</summary>
public class TabulatedRadialTests
{
    [Fact]
    public void TableMatchesExactGaussiansOnWater()
    {
        var set = new InvariantSet(InvariantOptions.Parse("sorted:O4:H8+gauss:8:0.8:5.5", 6.0), [Elements.O, Elements.H]);
        var rng = new Random(4);
        var cell = Cell.Orthorhombic(9.8528, 9.8528, 9.8528);
        var pos = new double[3 * 60];
        for (int i = 0; i < pos.Length; i++) pos[i] = rng.NextDouble() * 9.8528;
        var types = Enumerable.Range(0, 60).Select(i => i % 3 == 0 ? 0 : 1).ToArray();
        var list = new NeighbourList(NeighbourStorage.Compact);
        list.Build(pos, cell, set.Cutoff);
        var exact = new AgentScratch(set.Count);
        var table = new AgentScratch(set.Count) { TabulatedRadial = true };
        int nr = set.Radial.Length;
        double worstValue = 0, worstSlope = 0;
        for (int i = 0; i < 60; i++)
        {
            set.Gather(exact, i, list, types);
            set.Gather(table, i, list, types);
            set.ComputeValues(exact);
            set.ComputeValues(table);
            for (int k = 0; k < set.Count; k++) worstValue = Math.Max(worstValue, Math.Abs(exact.Values[k] - table.Values[k]));
            for (int q = 0; q < exact.Entries * nr; q++)
            {
                worstValue = Math.Max(worstValue, Math.Abs(exact.Phi[q] - table.Phi[q]));
                worstSlope = Math.Max(worstSlope, Math.Abs(exact.DPhi[q] - table.DPhi[q]));
            }
        }
        Assert.InRange(worstValue, 0, 1e-9);
        Assert.InRange(worstSlope, 0, 1e-7);
        // The table is used where 256-bit vectors are (test.sh also runs with DOTNET_EnableAVX2=0): there it really
        // was used; without them the evaluator takes the exact path, bit for bit.
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated) Assert.True(worstValue > 0 || worstSlope > 0);
        else Assert.True(worstValue == 0 && worstSlope == 0);
    }
}
