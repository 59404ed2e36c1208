using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

public class AngularShellTests
{
    private const string Shells = "shells:3:OH1.0/0.3:OH1.9/0.5:OO2.8/0.5:HO1.0/0.3:HO1.9/0.5:HH1.55/0.25";

    [Theory]
    [InlineData("cubic")]
    [InlineData("triclinic")]
    public void AnalyticDerivativesMatchFiniteDifferences(string cellKind)
    {
        var options = InvariantOptions.Parse("sorted:O1:H2+" + Shells, 3.4);
        var cell = cellKind == "cubic" ? Cell.Orthorhombic(5.6, 5.6, 5.6) : Synthetic.Triclinic;
        InvariantTests.CheckFamily(options, Synthetic.Water(4, cell, seed: 5 + cellKind.Length, jitter: 0.15));
    }

    [Fact]
    public void DerivativesStayCorrectForANeighbourJustInsideAShellEdge()
    {
        var options = InvariantOptions.Parse(Shells, 3.4);
        var frame = Synthetic.Water(2, null, seed: 3);
        var o0 = Vec3.At(frame.Positions, 0);
        // The second water's O 1e-3 Å inside the outer edge (3.3 Å) of the first O's OO shell.
        var shift = o0 + new Vec3(3.3 - 1e-3, 0, 0) - Vec3.At(frame.Positions, 3);
        for (int a = 3; a < 6; a++) (Vec3.At(frame.Positions, a) + shift).To(frame.Positions, a);
        InvariantTests.CheckFamily(options, new Frame(frame.Species, frame.Positions, Cell.Orthorhombic(20, 20, 20)));
    }
}
