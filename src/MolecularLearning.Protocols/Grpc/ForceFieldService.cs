using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MolecularLearning.Core;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Protocols.Grpc;

/// <summary>
/// molecular_learning.v1.ForceField: Evaluate, EvaluateStream and DescribeModel over a <see cref="ServedModel"/>.
/// Evaluators are never shared between concurrent calls: each stream gets a fresh one for its lifetime
/// (its neighbour list follows the trajectory), unary calls borrow one from a pool.
/// </summary>
public sealed class ForceFieldService
{
    public const string ServiceName = "molecular_learning.v1.ForceField";
    public const int DefaultMaxAtoms = 100_000;

    private readonly ServedModel _model;
    private readonly Dictionary<string, Species> _speciesBySymbol;
    private readonly ConcurrentBag<ConfigurationEvaluator> _pool = [];
    private readonly int _poolLimit = 2 * Environment.ProcessorCount;
    private readonly ModelDescription _description;
    private readonly ILogger _log;

    public ForceFieldService(ServedModel model, int maxAtoms = DefaultMaxAtoms, ILogger? logger = null)
    {
        if (maxAtoms <= 0) throw new ArgumentOutOfRangeException(nameof(maxAtoms), "must be positive");
        _model = model;
        MaxAtoms = maxAtoms;
        _speciesBySymbol = model.Species.ToDictionary(s => s.Symbol, StringComparer.OrdinalIgnoreCase);
        _description = model.Description.Clone();
        _description.MaxAtoms = (uint)maxAtoms;
        _log = logger ?? NullLogger.Instance;
    }

    /// <summary>Largest number of atoms accepted in one request.</summary>
    public int MaxAtoms { get; }

    /// <summary>Registers the three methods on the transport.</summary>
    public void MapTo(GrpcEndpoint endpoint)
    {
        endpoint.MapUnary<EvaluateRequest, EvaluateResponse>(ServiceName, "Evaluate", EvaluateRequest.Parser, (r, _) => Evaluate(r));
        endpoint.MapStreaming<EvaluateRequest, EvaluateResponse>(ServiceName, "EvaluateStream", EvaluateRequest.Parser, EvaluateStreamAsync);
        endpoint.MapUnary<DescribeModelRequest, ModelDescription>(ServiceName, "DescribeModel", DescribeModelRequest.Parser, (_, _) => _description);
    }

    /// <summary>The unary call: one configuration, evaluated by a pooled evaluator.</summary>
    public EvaluateResponse Evaluate(EvaluateRequest request)
    {
        if (!_pool.TryTake(out var evaluator)) evaluator = NewEvaluator();
        var response = new EvaluateResponse();
        try
        {
            evaluator.Evaluate(request, response, keepSpecies: false);
        }
        catch (GrpcException)
        {
            // A rejected request leaves the evaluator consistent (it checks before computing): keep it.
            Return(evaluator);
            throw;
        }
        Return(evaluator);
        return response;
    }

    /// <summary>The streaming call: one response per request, in order, from one evaluator for the whole stream.</summary>
    public async Task EvaluateStreamAsync(GrpcCall<EvaluateRequest, EvaluateResponse> call)
    {
        var evaluator = NewEvaluator();
        var response = new EvaluateResponse();
        long steps = 0;
        while (await call.ReadAsync() is { } request)
        {
            try
            {
                evaluator.Evaluate(request, response, keepSpecies: true);
            }
            catch (GrpcException e)
            {
                throw new GrpcException(e.Status, $"stream request {steps} (id {request.Id}, step {request.Step}): {e.Message}");
            }
            await call.WriteAsync(response);
            steps++;
        }
        _log.LogInformation("EvaluateStream finished after {Steps} steps", steps);
    }

    /// <summary>A fresh evaluator: a stream's own, or one more for the unary pool (also used by the benchmark).</summary>
    internal ConfigurationEvaluator NewEvaluator() => new(_model.CreateForceField(), _model, _speciesBySymbol, MaxAtoms);

    private void Return(ConfigurationEvaluator evaluator)
    {
        if (_pool.Count < _poolLimit) _pool.Add(evaluator);
    }
}
