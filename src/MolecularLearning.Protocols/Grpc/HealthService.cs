using MolecularLearning.Protocols.Grpc.Health.V1;
using static MolecularLearning.Protocols.Grpc.Health.V1.HealthCheckResponse.Types;

namespace MolecularLearning.Protocols.Grpc;

/// <summary>
/// grpc.health.v1.Health: SERVING for "" (the whole server) and every registered service, NOT_SERVING once the
/// server begins to shut down; NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch, which then ends) for other names. Watch sends the
/// status now, holds the call, sends NOT_SERVING when shutdown begins and then ends the call with OK.
/// </summary>
public sealed class HealthService(GrpcEndpoint endpoint, IEnumerable<string> services)
{
    public const string ServiceName = "grpc.health.v1.Health";

    private readonly HashSet<string> _services = [.. services, ""];

    public void MapTo()
    {
        endpoint.MapUnary<HealthCheckRequest, HealthCheckResponse>(ServiceName, "Check", HealthCheckRequest.Parser, (r, _) => Check(r));
        endpoint.MapStreaming<HealthCheckRequest, HealthCheckResponse>(ServiceName, "Watch", HealthCheckRequest.Parser, WatchAsync);
    }

    private ServingStatus Status(string service) =>
        !_services.Contains(service) ? ServingStatus.ServiceUnknown
        : endpoint.ServerStopping.IsCancellationRequested ? ServingStatus.NotServing
        : ServingStatus.Serving;

    public HealthCheckResponse Check(HealthCheckRequest request)
    {
        var status = Status(request.Service);
        if (status == ServingStatus.ServiceUnknown)
            throw new GrpcException(GrpcStatusCode.NotFound, $"unknown service '{request.Service}'");
        return new HealthCheckResponse { Status = status };
    }

    private async Task WatchAsync(GrpcCall<HealthCheckRequest, HealthCheckResponse> call)
    {
        var request = await call.ReadAsync()
            ?? throw new GrpcException(GrpcStatusCode.Internal, "Watch ended without a request message");
        var status = Status(request.Service);
        await call.WriteAsync(new HealthCheckResponse { Status = status });
        if (status != ServingStatus.Serving) return;
        // The only change this server goes through is shutting down; the client's cancel ends the wait too.
        var stopped = new TaskCompletionSource();
        using (call.ServerStopping.Register(() => stopped.TrySetResult()))
        using (call.CancellationToken.Register(() => stopped.TrySetCanceled()))
            await stopped.Task;
        await call.WriteAsync(new HealthCheckResponse { Status = ServingStatus.NotServing });
    }
}
