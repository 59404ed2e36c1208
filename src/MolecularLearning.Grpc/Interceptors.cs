using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MolecularLearning.Core;

namespace MolecularLearning.Grpc;

/// <summary>
/// One place that turns what a handler throws into a status: bad input (DataException) INVALID_ARGUMENT, a
/// cancelled evaluation DEADLINE_EXCEEDED / CANCELLED / UNAVAILABLE (deadline, client gone, shutdown), anything
/// else INTERNAL with a plain message (the exception is logged, its .NET type never reaches the client).
/// </summary>
public sealed class ErrorMappingInterceptor(IHostApplicationLifetime lifetime, ILogger<ErrorMappingInterceptor> log) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(request, context); }
        catch (Exception e) when (e is not RpcException) { throw Map(e, context); }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(requestStream, responseStream, context); }
        catch (Exception e) when (e is not RpcException) { throw Map(e, context); }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(request, responseStream, context); }
        catch (Exception e) when (e is not RpcException) { throw Map(e, context); }
    }

    private RpcException Map(Exception e, ServerCallContext context)
    {
        // Once the call is cancelled (deadline, client gone) nothing is an error. A client that resets its stream makes
        // the pending read throw IOException, often before the call's token turns: that is the client leaving too.
        bool ended = context.CancellationToken.IsCancellationRequested || e is IOException;
        var status = e switch
        {
            DataException => new Status(StatusCode.InvalidArgument, e.Message),
            _ when ended && context.Deadline <= DateTime.UtcNow =>
                new Status(StatusCode.DeadlineExceeded, "deadline exceeded: the evaluation was stopped"),
            _ when ended => new Status(StatusCode.Cancelled, "call cancelled by the client"),
            OperationCanceledException when lifetime.ApplicationStopping.IsCancellationRequested =>
                new Status(StatusCode.Unavailable, "server is shutting down"),
            _ => new Status(StatusCode.Internal, "internal error evaluating the request (logged by the server)"),
        };
        if (status.StatusCode == StatusCode.Internal)
            log.LogError(e, "{Method} from {Peer} failed", context.Method, context.Peer);
        return new RpcException(status);
    }
}

/// <summary>A log line per finished call: method, peer, status and duration (Debug for OK, Warning for errors).</summary>
public sealed class CallLoggingInterceptor(ILogger<CallLoggingInterceptor> log) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            var response = await continuation(request, context);
            Log(context, StatusCode.OK, "", start);
            return response;
        }
        catch (RpcException e) { Log(context, e.StatusCode, e.Status.Detail, start); throw; }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            await continuation(requestStream, responseStream, context);
            Log(context, StatusCode.OK, "", start);
        }
        catch (RpcException e) { Log(context, e.StatusCode, e.Status.Detail, start); throw; }
    }

    private void Log(ServerCallContext context, StatusCode code, string detail, long start)
    {
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (code == StatusCode.OK)
            log.LogDebug("{Method} from {Peer}: OK in {Milliseconds:0.###} ms", context.Method, context.Peer, ms);
        else
            log.LogWarning("{Method} from {Peer}: {Status} in {Milliseconds:0.###} ms: {Detail}", context.Method, context.Peer, code, ms, detail);
    }
}
