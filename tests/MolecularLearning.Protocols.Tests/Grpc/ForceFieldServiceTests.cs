using MolecularLearning.Core;
using MolecularLearning.Protocols.Grpc;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Protocols.Tests.Grpc;

/// <summary>The service without the wire: results equal direct evaluation, bad requests get precise INVALID_ARGUMENTs.</summary>
public class ForceFieldServiceTests
{
    private readonly ForceFieldService _service = new(LennardJones.Model(), maxAtoms: 200);

    [Fact]
    public void Evaluate_equals_direct_evaluation_for_symbols_and_indices()
    {
        var frame = LennardJones.WaterBox();
        var expected = new LennardJones().Compute(frame);
        Assert.True(expected.Forces.Any(f => Math.Abs(f) > 1e-3), "the test box should have real forces");

        var bySymbol = _service.Evaluate(LennardJones.Request(frame, id: 42, step: 7));
        Assert.Equal(42ul, bySymbol.Id);
        Assert.Equal(7, bySymbol.Step);
        Assert.Equal(expected.Energy, bySymbol.EnergyEv);
        Assert.Equal(expected.Forces, bySymbol.ForcesEvPerAngstrom);
        Assert.Equal(expected.Virial, bySymbol.VirialEv);

        var byIndex = LennardJones.Request(frame);
        byIndex.Symbols.Clear();
        foreach (var s in frame.Species) byIndex.SpeciesIndex.Add(s == Elements.O ? 0u : 1u);
        Assert.Equal(bySymbol.ForcesEvPerAngstrom, _service.Evaluate(byIndex).ForcesEvPerAngstrom);
    }

    [Fact]
    public void Isolated_system_has_no_cell()
    {
        var request = new EvaluateRequest { Symbols = { "O", "O" }, PositionsAngstrom = { 0, 0, 0, 2.9, 0, 0 } };
        var response = _service.Evaluate(request);
        // Two O atoms 2.9 Å apart on x: equal and opposite forces along x only.
        Assert.Equal(-response.ForcesEvPerAngstrom[0], response.ForcesEvPerAngstrom[3]);
        Assert.Equal(0, response.ForcesEvPerAngstrom[1]);
        Assert.NotEqual(0, response.ForcesEvPerAngstrom[0]);
    }

    public static TheoryData<string, Action<EvaluateRequest>, string> BadRequests => new()
    {
        { "NaN", r => r.PositionsAngstrom[17] = double.NaN, "positions_angstrom[17] (atom 5, z) is NaN" },
        { "infinite", r => r.PositionsAngstrom[3] = double.PositiveInfinity, "positions_angstrom[3] (atom 1, x) is infinite" },
        { "empty", r => r.PositionsAngstrom.Clear(), "positions_angstrom is empty" },
        { "not 3N", r => r.PositionsAngstrom.RemoveAt(0), "positions_angstrom has 287 numbers, not a multiple of 3" },
        { "too few symbols", r => r.Symbols.RemoveAt(95), "symbols has 95 entries for 96 atoms" },
        { "no species", r => r.Symbols.Clear(), "no species: give symbols or species_index (96 entries" },
        { "both", r => r.SpeciesIndex.Add(0), "either symbols or species_index, not both" },
        { "unknown symbol", r => r.Symbols[4] = "Na", "symbols[4] = 'Na' is not a species of the model (0 = O, 1 = H)" },
        { "index out of range", r => { r.Symbols.Clear(); for (int i = 0; i < 96; i++) r.SpeciesIndex.Add(i == 9 ? 2u : 0u); },
            "species_index[9] = 2 is out of range: the model has 2 species" },
        { "cell of 6", r => { r.CellAngstrom.Clear(); r.CellAngstrom.AddRange([10, 0, 0, 0, 10, 0]); }, "cell_angstrom has 6 numbers: give 9" },
        { "NaN cell", r => r.CellAngstrom[4] = double.NaN, "cell_angstrom[4] is NaN" },
        { "flat cell", r => r.CellAngstrom[8] = 0, "cell_angstrom: cell vectors are degenerate" },
        { "too small for the force field", r => { for (int i = 0; i < 9; i += 4) r.CellAngstrom[i] = 5; }, "below twice the cutoff" },
        { "too many atoms", r => { for (int i = 0; i < 105; i++) { r.Symbols.Add("H"); r.PositionsAngstrom.AddRange([i, 50, 50]); } },
            "201 atoms exceed this server's limit of 200 atoms per request" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void Bad_requests_are_INVALID_ARGUMENT_naming_the_field(string what, Action<EvaluateRequest> spoil, string expected)
    {
        var request = LennardJones.Request(LennardJones.WaterBox());
        spoil(request);
        var e = Assert.Throws<GrpcException>(() => _service.Evaluate(request));
        Assert.True(e.Status == GrpcStatusCode.InvalidArgument, what);
        Assert.Contains(expected, e.Message);
        // The pooled evaluator that refused it still works.
        Assert.Equal(96 * 3, _service.Evaluate(LennardJones.Request(LennardJones.WaterBox())).ForcesEvPerAngstrom.Count);
    }

    [Fact]
    public void Unary_calls_from_many_threads_never_share_an_evaluator()
    {
        // LennardJones counts calls without synchronisation; a shared instance would also corrupt results.
        var frame = LennardJones.WaterBox(seed: 3);
        var expected = new LennardJones().Compute(frame).Forces;
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            Assert.Equal(expected, _service.Evaluate(LennardJones.Request(frame, id: (ulong)i)).ForcesEvPerAngstrom));
    }
}
