using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Grpc.Client;
using MolecularLearning.Learning;
using MolecularLearning.Protocols.Grpc.V1;
using MolecularLearning.Server;

namespace MolecularLearning.Grpc.Tests;

/// <summary>The committee deviation as optional EvaluateResponse fields (mld serve --committee; docs/extrapolation.md).</summary>
public sealed class GrpcCommitteeTests
{
    private static readonly Lazy<(LearnedModel Model, Frame[] Frames)> Fitted = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "tests", "data", "water32-pbe-sample"))) dir = dir.Parent;
        var run = Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("tests/data/water32-pbe-sample"), "tests", "data", "water32-pbe-sample");
        var frames = Cp2kRun.Read(run).Frames.ToArray();
        var options = FitOptions.Default with { Mode = ForceMode.Agent, HoldoutFraction = 0, ValidationFraction = 0, Stride = 1, Ridge = 1e-6, Committee = 3, CommitteeBlocks = 4 };
        return (ModelFitter.Fit(frames, options).Model, frames);
    });

    private static EvaluateRequest Request(Frame frame)
    {
        var request = new EvaluateRequest { PositionsAngstrom = { frame.Positions } };
        request.Symbols.AddRange(frame.Species.Select(s => s.Symbol));
        if (frame.Cell is { } cell) request.CellAngstrom.AddRange(cell.Matrix.ToArray());
        return request;
    }

    [Fact]
    public async Task The_served_committee_deviation_is_the_local_one_and_absent_unless_asked()
    {
        var (model, frames) = Fitted.Value;
        await using var server = await TestServer.StartAsync(LearnedModelServing.ToServedModel(model, "m.json", BackendChoice.Reference, committee: true));
        var local = new CommitteeEvaluator(model, backend: BackendChoice.Reference);
        using var remote = new GrpcForceField(server.Address);
        var result = new ForceResult();
        foreach (var frame in frames)
        {
            double max = local.Deviation(frame.Species, frame.Positions, frame.Cell);
            Assert.True(local.Mean > 0 && max >= local.Mean);
            var unary = server.Client.Evaluate(Request(frame), deadline: TestServer.Soon);
            Assert.Equal(local.Mean, unary.CommitteeMean, 1e-12 * max);
            Assert.Equal(max, unary.CommitteeMax, 1e-12 * max);
            Assert.Equal(local.Atom, unary.CommitteeAtom);
            // The client over the stream reads the same.
            remote.Compute(frame.Species, frame.Positions, frame.Cell, result);
            Assert.Equal(local.Mean, remote.Committee!.Value.Mean, 1e-12 * max);
            Assert.Equal(local.Atom, remote.Committee.Value.Atom);
        }

        // The same model served without --committee: no field at all (what an old client never sees), and the forces are the same.
        await using var plain = await TestServer.StartAsync(LearnedModelServing.ToServedModel(model, "m.json", BackendChoice.Reference));
        var response = plain.Client.Evaluate(Request(frames[0]), deadline: TestServer.Soon);
        Assert.False(response.HasCommitteeMean);
        Assert.False(response.HasCommitteeMax);
        Assert.False(response.HasCommitteeAtom);
        Assert.Equal(server.Client.Evaluate(Request(frames[0]), deadline: TestServer.Soon).ForcesEvPerAngstrom, response.ForcesEvPerAngstrom);
        using var plainRemote = new GrpcForceField(plain.Address);
        plainRemote.Compute(frames[0].Species, frames[0].Positions, frames[0].Cell, result);
        Assert.Null(plainRemote.Committee);

        // Asking for it with a model that has no members: a clear error naming the file.
        var e = Assert.Throws<DataException>(() => LearnedModelServing.ToServedModel(model.WithCommittee(null), "plain.json", committee: true));
        Assert.Contains("plain.json: --committee needs a model fitted with committee members", e.Message);
    }
}
