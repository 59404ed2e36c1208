using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MolecularLearning.Core;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Grpc;

/// <summary>
/// molecular_learning.v1.ForceField (generated base from protos/): Evaluate, EvaluateStream and DescribeModel over a
/// <see cref="ServedModel"/>. Evaluators are never shared between concurrent calls: each stream gets a fresh one
/// for its lifetime, unary calls borrow one from a pool. The call's CancellationToken (deadline, client gone)
/// reaches the evaluation; errors become statuses in <see cref="ErrorMappingInterceptor"/>.
/// </summary>
public sealed class ForceFieldGrpcService(ForceFieldServiceState state, IHostApplicationLifetime lifetime, ILogger<ForceFieldGrpcService> log)
    : ForceField.ForceFieldBase
{
    public const string ServiceName = "molecular_learning.v1.ForceField";

    public override Task<EvaluateResponse> Evaluate(EvaluateRequest request, ServerCallContext context)
    {
        var evaluator = state.Rent();
        var response = new EvaluateResponse();
        // A rejected or cancelled request leaves the evaluator consistent (it checks before computing and keeps no
        // state between unary calls): it goes back to the pool either way.
        try { evaluator.Evaluate(request, response, keepSpecies: false, context.CancellationToken); }
        finally { state.Return(evaluator); }
        return Task.FromResult(response);
    }

    public override async Task EvaluateStream(IAsyncStreamReader<EvaluateRequest> requestStream,
        IServerStreamWriter<EvaluateResponse> responseStream, ServerCallContext context)
    {
        var evaluator = state.NewEvaluator();
        var response = new EvaluateResponse();
        long steps = 0;
        var idle = state.Options.StreamIdleTimeout;
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        while (true)
        {
            // Waiting for the next request ends at shutdown (UNAVAILABLE) or after the idle limit (a client that
            // opened a stream and sends nothing gets a status and a log line, not a silent reset).
            waiting.CancelAfter(idle);
            bool more;
            try
            {
                more = await requestStream.MoveNext(waiting.Token);
            }
            catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
            {
                if (lifetime.ApplicationStopping.IsCancellationRequested)
                {
                    log.LogInformation("EvaluateStream from {Peer} ended by shutdown after {Steps} steps", context.Peer, steps);
                    throw new RpcException(new Status(StatusCode.Unavailable, $"server is shutting down (stream ended after {steps} steps)"));
                }
                log.LogWarning("EvaluateStream from {Peer}: no request for {Seconds:0.#} s after {Steps} steps; closed", context.Peer, idle.TotalSeconds, steps);
                throw new RpcException(new Status(StatusCode.DeadlineExceeded,
                    $"no request for {idle.TotalSeconds:0.#} s after {steps} steps: the server closed the idle stream (Grpc:StreamIdleTimeoutSeconds)"));
            }
            if (!more) break;
            waiting.CancelAfter(Timeout.InfiniteTimeSpan);
            var request = requestStream.Current;
            try
            {
                evaluator.Evaluate(request, response, keepSpecies: true, context.CancellationToken);
            }
            catch (RpcException e)
            {
                throw new RpcException(new Status(e.StatusCode, $"stream request {steps} (id {request.Id}, step {request.Step}): {e.Status.Detail}"));
            }
            await responseStream.WriteAsync(response, context.CancellationToken);
            steps++;
        }
        log.LogInformation("EvaluateStream from {Peer} finished after {Steps} steps", context.Peer, steps);
    }

    public override Task<ModelDescription> DescribeModel(DescribeModelRequest request, ServerCallContext context) =>
        Task.FromResult(state.Description);
}

/// <summary>What the service shares between calls (it is created per call): the model, the unary pool, the options.</summary>
public sealed class ForceFieldServiceState
{
    private readonly ServedModel _model;
    private readonly Dictionary<string, Species> _speciesBySymbol;
    private readonly ConcurrentBag<ConfigurationEvaluator> _pool = [];
    private readonly int _poolLimit = 2 * Environment.ProcessorCount;

    public ForceFieldServiceState(ServedModel model, GrpcServeOptions options)
    {
        _model = model;
        Options = options;
        _speciesBySymbol = model.Species.ToDictionary(s => s.Symbol, StringComparer.OrdinalIgnoreCase);
        Description = model.Description.Clone();
        Description.MaxAtoms = (uint)options.MaxAtoms;
    }

    public GrpcServeOptions Options { get; }
    public ModelDescription Description { get; }

    internal ConfigurationEvaluator NewEvaluator() => new(_model.CreateForceField(), _model, _speciesBySymbol, Options.MaxAtoms) { Committee = _model.CreateCommittee?.Invoke() };

    internal ConfigurationEvaluator Rent() => _pool.TryTake(out var e) ? e : NewEvaluator();

    internal void Return(ConfigurationEvaluator evaluator)
    {
        if (_pool.Count < _poolLimit) _pool.Add(evaluator);
    }
}
