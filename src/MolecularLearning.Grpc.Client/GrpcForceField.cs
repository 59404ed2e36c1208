using Grpc.Core;
using Grpc.Net.Client;
using MolecularLearning.Core;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Grpc.Client;

/// <summary>How long <see cref="GrpcForceField"/> waits: for the connection (and DescribeModel), and for each answer.</summary>
public sealed record GrpcForceFieldOptions
{
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(600);
}

/// <summary>
/// A force field served by `mld serve --grpc` (or any molecular_learning.v1.ForceField server): configurations go
/// over one EvaluateStream, so one evaluator on the server follows this client's trajectory. Species are sent with
/// the first configuration and again only when they change. Not thread-safe (one call at a time, like any
/// IForceField). Failures are <see cref="DataException"/>s naming the server and the status.
/// </summary>
public sealed class GrpcForceField : IForceField, IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly ForceField.ForceFieldClient _client;
    private readonly GrpcForceFieldOptions _options;
    private readonly EvaluateRequest _request = new();
    private AsyncDuplexStreamingCall<EvaluateRequest, EvaluateResponse>? _stream;
    private Species[] _sentSpecies = [];
    private ulong _id;

    public GrpcForceField(string address, GrpcForceFieldOptions? options = null)
    {
        _options = options ?? new GrpcForceFieldOptions();
        Address = address;
        var uri = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Port <= 0 || parsed.Scheme is not ("http" or "https"))
            throw new DataException($"gRPC address '{address}': expected HOST:PORT (or http://HOST:PORT, https://HOST:PORT for TLS)");
        _channel = GrpcChannel.ForAddress(parsed, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = null, // the server's limit is what matters; our own answers are as big as our requests
            MaxSendMessageSize = null,
            HttpHandler = new SocketsHttpHandler { ConnectTimeout = _options.ConnectTimeout, EnableMultipleHttp2Connections = true },
        });
        _client = new ForceField.ForceFieldClient(_channel);
    }

    public string Address { get; }
    public string Name => $"grpc:{Address}" + (Model is null ? "" : $" ({Model.Name})");

    /// <summary>The server's DescribeModel answer, after <see cref="Connect"/> (or the first Compute).</summary>
    public ModelDescription? Model { get; private set; }

    /// <summary>Connects and asks for the model's description, within the connect timeout.</summary>
    public ModelDescription Connect()
    {
        if (Model is not null) return Model;
        try
        {
            Model = _client.DescribeModel(new DescribeModelRequest(), deadline: DateTime.UtcNow + _options.ConnectTimeout);
        }
        catch (RpcException e)
        {
            throw Failure("cannot reach the gRPC server", e);
        }
        return Model;
    }

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result) =>
        Compute(species, positions, cell, result, CancellationToken.None);

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result, CancellationToken cancellation)
    {
        Connect();
        var request = _request;
        request.PositionsAngstrom.Clear();
        request.PositionsAngstrom.AddRange(positions.ToArray());
        request.CellAngstrom.Clear();
        if (cell is not null) request.CellAngstrom.AddRange(cell.Matrix.ToArray());
        request.Symbols.Clear();
        if (!species.SequenceEqual(_sentSpecies))
        {
            foreach (var s in species) request.Symbols.Add(s.Symbol);
            _sentSpecies = species.ToArray();
        }
        request.Id = _id++;
        var response = Exchange(request, cancellation);
        if (response.Id != request.Id)
            throw new DataException($"gRPC server {Address} answered request {response.Id} when {request.Id} was asked: the stream is out of order");
        int atoms = species.Length;
        if (response.ForcesEvPerAngstrom.Count != 3 * atoms || response.VirialEv.Count != 9)
            throw new DataException($"gRPC server {Address} answered {response.ForcesEvPerAngstrom.Count} force components and {response.VirialEv.Count} virial entries for {atoms} atoms");
        result.Resize(atoms);
        result.Clear();
        result.Energy = response.EnergyEv;
        response.ForcesEvPerAngstrom.CopyTo(result.Forces, 0);
        response.VirialEv.CopyTo(result.Virial, 0);
        // Absent (an older server, a model without training ranges): Clear left NaN / −1 / null.
        if (response.HasExtrapolation) result.Extrapolation = response.Extrapolation;
        if (response.HasExtrapolationAtom) result.ExtrapolationAtom = response.ExtrapolationAtom;
        if (response.HasExtrapolationInvariant) result.ExtrapolationInvariant = response.ExtrapolationInvariant;
        Committee = response.HasCommitteeMean ? (response.CommitteeMean, response.CommitteeMax, response.HasCommitteeAtom ? response.CommitteeAtom : -1) : null;
    }

    /// <summary>The last answer's committee deviation (mean and largest over atoms of the members' force std, eV/Å, and that
    /// atom); null when the server sends none (not started with --committee, or older).</summary>
    public (double Mean, double Max, int Atom)? Committee { get; private set; }

    private EvaluateResponse Exchange(EvaluateRequest request, CancellationToken cancellation)
    {
        _stream ??= _client.EvaluateStream();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(_options.CallTimeout);
        try
        {
            _stream.RequestStream.WriteAsync(request, timeout.Token).GetAwaiter().GetResult();
            if (!_stream.ResponseStream.MoveNext(timeout.Token).GetAwaiter().GetResult())
                throw new DataException($"gRPC server {Address} ended the stream without answering request {request.Id} ({_stream.GetStatus().Detail})");
            return _stream.ResponseStream.Current;
        }
        catch (RpcException e)
        {
            DropStream();
            if (e.StatusCode == StatusCode.Cancelled && timeout.IsCancellationRequested && !cancellation.IsCancellationRequested)
                throw new DataException($"gRPC server {Address} did not answer request {request.Id} within {_options.CallTimeout.TotalSeconds:0.#} s");
            cancellation.ThrowIfCancellationRequested();
            throw Failure($"request {request.Id} failed", e);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            DropStream();
            throw new DataException($"gRPC server {Address} did not answer request {request.Id} within {_options.CallTimeout.TotalSeconds:0.#} s");
        }
    }

    private DataException Failure(string what, RpcException e) =>
        new($"gRPC server {Address}: {what}: {e.StatusCode} {(string.IsNullOrEmpty(e.Status.Detail) ? "" : "(" + e.Status.Detail + ")")}".TrimEnd());

    private void DropStream()
    {
        _stream?.Dispose();
        _stream = null;
        _sentSpecies = [];
    }

    public void Dispose()
    {
        if (_stream is { } stream)
        {
            try
            {
                // Half-close and read the status so the server sees a clean end of stream, not a reset.
                if (stream.RequestStream.CompleteAsync().Wait(TimeSpan.FromSeconds(5)))
                    stream.ResponseStream.MoveNext(CancellationToken.None).Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException) { }
            catch (RpcException) { }
            stream.Dispose();
        }
        _stream = null;
        _channel.Dispose();
    }
}
