using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace MolecularLearning.Protocols.Grpc;

/// <summary>One streaming call as a service sees it: read requests, write responses; the transport does the rest.</summary>
public sealed class GrpcCall<TRequest, TResponse> : IDisposable
    where TRequest : class, IMessage<TRequest> where TResponse : IMessage<TResponse>
{
    private readonly HttpContext _http;
    private readonly MessageParser<TRequest> _parser;
    private readonly int _maxMessageBytes;
    private readonly CancellationToken _serverStopping;
    private readonly CancellationTokenSource _readToken;

    internal GrpcCall(HttpContext http, MessageParser<TRequest> parser, int maxMessageBytes,
        CancellationToken callToken, CancellationToken serverStopping)
    {
        _http = http;
        _parser = parser;
        _maxMessageBytes = maxMessageBytes;
        _serverStopping = serverStopping;
        CancellationToken = callToken;
        _readToken = CancellationTokenSource.CreateLinkedTokenSource(callToken, serverStopping);
    }

    /// <summary>Cancelled when the client goes away or the call's deadline passes.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Cancelled when the server begins to shut down.</summary>
    public CancellationToken ServerStopping => _serverStopping;

    /// <summary>
    /// The next request, or null when the client has finished sending. Throws <see cref="GrpcException"/>
    /// (UNAVAILABLE) when the server starts shutting down while the call waits for a request.
    /// </summary>
    public async ValueTask<TRequest?> ReadAsync()
    {
        try
        {
            return await GrpcEndpoint.ReadMessageAsync(_http.Request.BodyReader, _parser, _maxMessageBytes, _readToken.Token);
        }
        catch (OperationCanceledException) when (_serverStopping.IsCancellationRequested && !CancellationToken.IsCancellationRequested)
        {
            throw new GrpcException(GrpcStatusCode.Unavailable, "server is shutting down");
        }
    }

    /// <summary>Sends one response and flushes it, so the client sees it now (one response per step).</summary>
    public async ValueTask WriteAsync(TResponse response)
    {
        var writer = _http.Response.BodyWriter;
        GrpcEndpoint.WriteFrame(writer, response);
        await writer.FlushAsync(CancellationToken);
    }

    public void Dispose() => _readToken.Dispose();
}
