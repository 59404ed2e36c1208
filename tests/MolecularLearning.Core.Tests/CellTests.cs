using MolecularLearning.Core;

namespace MolecularLearning.Core.Tests;

public class CellTests
{
    [Fact]
    public void VolumeAndHeightsOfTriclinicCell()
    {
        var cell = Cell.FromLengthsAndAngles(5, 6, 7, 80, 95, 110);
        Assert.Equal((5.0, 6.0, 7.0), (Math.Round(cell.Lengths.A, 12), Math.Round(cell.Lengths.B, 12), Math.Round(cell.Lengths.C, 12)));
        var angles = cell.Angles;
        Assert.Equal(80, angles.Alpha, 9); Assert.Equal(95, angles.Beta, 9); Assert.Equal(110, angles.Gamma, 9);
        var a = cell.Row(0); var b = cell.Row(1); var c = cell.Row(2);
        Assert.Equal(Math.Abs(a.Cross(b).Dot(c)), cell.Volume, 10);
        Assert.Equal(cell.Volume / a.Cross(b).Norm(), cell.Heights.C, 10);
    }

    [Fact]
    public void WrapPutsPointsInsideAndFractionalRoundTrips()
    {
        var cell = Cell.FromLengthsAndAngles(5, 6, 7, 70, 100, 120);
        var rng = new Random(1);
        for (int t = 0; t < 100; t++)
        {
            var r = new Vec3(rng.NextDouble() * 40 - 20, rng.NextDouble() * 40 - 20, rng.NextDouble() * 40 - 20);
            var f = cell.ToFractional(cell.Wrap(r));
            Assert.InRange(f.X, 0, 1); Assert.InRange(f.Y, 0, 1); Assert.InRange(f.Z, 0, 1);
            var back = cell.ToCartesian(cell.ToFractional(r));
            Assert.Equal(0, (back - r).Norm(), 10);
        }
    }

    [Fact]
    public void MinimumImageIsShortestOfAllImages()
    {
        var cell = Cell.FromLengthsAndAngles(5, 5, 5, 60, 60, 60); // strongly skewed
        var rng = new Random(2);
        for (int t = 0; t < 200; t++)
        {
            var d = new Vec3(rng.NextDouble() * 20 - 10, rng.NextDouble() * 20 - 10, rng.NextDouble() * 20 - 10);
            var best = double.MaxValue;
            for (int a = -4; a <= 4; a++) for (int b = -4; b <= 4; b++) for (int c = -4; c <= 4; c++)
                best = Math.Min(best, (d + cell.ToCartesian(new Vec3(a, b, c))).Norm());
            Assert.Equal(best, cell.MinimumImage(d).Norm(), 10);
        }
    }

    [Fact]
    public void DegenerateCellIsRejected()
    {
        Assert.Throws<DataException>(() => new Cell([1, 0, 0, 2, 0, 0, 0, 0, 1]));
    }

    [Fact]
    public void UnitConversionsMatchConstants()
    {
        // 1 Hartree/Bohr = 51.422 eV/Å; 1 amu Å²/fs² = 103.6427 eV
        Assert.Equal(51.422067476325886, Units.HartreePerBohrInEvPerAngstrom, 10);
        Assert.Equal(103.642696, Units.AmuAngstrom2PerFs2InEv, 5);
    }

    [Fact]
    public void TemperatureUsesThreeNMinusThreeDegreesOfFreedom()
    {
        // Two O atoms moving apart at v: KE = m v², T = 2 KE / (3 k_B) for 3N-3 = 3 dof.
        var f = new Frame([Elements.O, Elements.O], new double[6], null) { Velocities = [0.01, 0, 0, -0.01, 0, 0] };
        double ke = Elements.O.Mass * 1e-4 * Units.AmuAngstrom2PerFs2InEv;
        Assert.Equal(ke, f.KineticEnergy(), 12);
        Assert.Equal(2 * ke / (3 * Units.BoltzmannEvPerK), f.Temperature(), 9);
    }
}
