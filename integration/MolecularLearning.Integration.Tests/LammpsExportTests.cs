using MolecularLearning.Core;
using MolecularLearning.Learning.Export;

namespace MolecularLearning.Integration.Tests;

/// <summary>
/// The exported tables evaluated by Debian's LAMMPS (serial and MPI) against mld's analytic evaluation of the same
/// radial loss: a hand-built, water-like loss of order 2 (O–H and H–H wells, short-range repulsion, a symmetric C
/// with eigenvalues of both signs), so these run without a fitted model.
/// </summary>
public sealed class LammpsExportTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"mld-lammps-{Guid.NewGuid():N}");

    public LammpsExportTests() => Directory.CreateDirectory(_dir);
    public void Dispose() { if (Directory.Exists(_dir) && Environment.GetEnvironmentVariable("MLD_KEEP_LAMMPS") is null) Directory.Delete(_dir, true); }

    internal static RadialLossDescription BondedWater(double rc = 5.0)
    {
        RadialInvariant G(int t, double c, double w) => new(t, RadialBasis.Gaussian(c, w, rc), $"g({c},{w})");
        RadialInvariant P(int t, int n) => new(t, RadialBasis.InversePower(n, rc), $"r^-{n}");
        const int O = 0, H = 1;
        var oInv = new List<RadialInvariant> { G(H, 0.97, 0.2), G(H, 1.9, 0.3), P(H, 2), G(O, 2.8, 0.3), P(O, 6) };
        var hInv = new List<RadialInvariant> { G(O, 0.97, 0.2), G(O, 1.9, 0.3), P(O, 2), G(H, 1.55, 0.25), P(H, 6) };
        var rng = new Random(2024);
        double[,] RandomC(int k)
        {
            var c = new double[k, k];
            for (int a = 0; a < k; a++) for (int b = 0; b <= a; b++) c[a, b] = c[b, a] = 0.004 * (rng.NextDouble() - 0.5);
            return c;
        }
        return new RadialLossDescription([Elements.O, Elements.H], rc,
        [
            new AgentLoss(oInv, [-1.0, 0.05, 0.02, -0.02, 20], RandomC(5)),
            new AgentLoss(hInv, [-1.0, 0.05, 0.02, -0.1, 0.5], RandomC(5)),
        ], "bonded-water");
    }

    private (LammpsTabulation Tab, string Snippet) Export(RadialLossDescription model, Frame reference)
    {
        var tab = LammpsTabulation.Create(model, [reference]);
        var written = LammpsExport.Write(tab, _dir);
        return (tab, written.Snippet);
    }

    [Fact]
    public void MixedSignEigenvaluesNeedSplitLayers()
    {
        var form = PairEmbeddingModel.FromRadialLoss(BondedWater());
        var eig = BondedWater().Agents.Select(a => MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(a.C!).Evd().EigenValues.Select(z => z.Real).ToArray()).ToArray();
        Assert.All(eig, e => Assert.True(e.Min() < 0 && e.Max() > 0, "the test loss has eigenvalues of both signs"));
        Assert.True(form.Layers.Count > 5);
    }

    [Fact]
    public void LammpsSerialAndMpiReproduceTheAnalyticLoss()
    {
        var model = BondedWater();
        var box = LammpsDriver.WaterBox();
        var (tab, snippet) = Export(model, box);
        Assert.True(tab.Budget.TotalForceError <= 1e-6, $"budget {tab.Budget.TotalForceError}");

        var data = LammpsDataFile.Write(Path.Combine(_dir, "box.data"), box, model.Species);
        var serial = LammpsDriver.Evaluate(_dir, "box.data", data, snippet, ranks: 1, "box");
        var exact = new RadialLossForceField(model).Compute(box);
        Assert.True(LammpsDriver.RelativeForceError(serial.Forces, exact.Forces) < 1e-5);
        Assert.Equal(exact.Energy, serial.Energy, Math.Abs(exact.Energy) * 1e-5);

        // 4×4×4 replica (6144 atoms) over two MPI ranks: domain decomposition must not change anything.
        var big = FrameReplica.Replicate(box, 4, 4, 4);
        var bigData = LammpsDataFile.Write(Path.Combine(_dir, "big.data"), big, model.Species);
        var mpi = LammpsDriver.Evaluate(_dir, "big.data", bigData, snippet, ranks: 2, "big");
        var bigExact = new RadialLossForceField(model).Compute(big);
        Assert.True(LammpsDriver.RelativeForceError(mpi.Forces, bigExact.Forces) < 1e-5);
        Assert.Equal(bigExact.Energy, mpi.Energy, Math.Abs(bigExact.Energy) * 1e-5);
        Assert.Equal(64 * exact.Energy, bigExact.Energy, Math.Abs(bigExact.Energy) * 1e-9);
    }

    [Fact]
    public void LammpsNveConservesEnergy()
    {
        var model = BondedWater();
        var box = LammpsDriver.WaterBox();
        var (_, snippet) = Export(model, box);
        LammpsDataFile.Write(Path.Combine(_dir, "box.data"), box, model.Species);
        var (total, kinetic) = LammpsDriver.Nve(_dir, "box.data", snippet, steps: 200, dtFs: 0.5, every: 10, ranks: 1);
        double drift = total.Max(e => Math.Abs(e - total[0]));
        double ke = kinetic.Average();
        Assert.True(ke > 1, $"atoms should move (KE {ke} eV)");
        Assert.True(drift < 0.01 * ke, $"NVE total energy wanders by {drift} eV against a mean kinetic energy of {ke} eV");
    }
}
