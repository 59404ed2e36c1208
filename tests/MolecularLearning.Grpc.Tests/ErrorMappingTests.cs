using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Grpc.Tests;

/// <summary>What a client leaving in the middle of a stream looks like on the server: a status and a log line, no stack.</summary>
public sealed class ErrorMappingTests
{
    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => CancellationToken.None;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() { }
    }

    /// <summary>A call whose token has not (yet) turned, as Kestrel's is when the reset read fails.</summary>
    private sealed class Call : ServerCallContext
    {
        protected override string MethodCore => "/molecular_learning.v1.ForceField/EvaluateStream";
        protected override string HostCore => "127.0.0.1";
        protected override string PeerCore => "ipv4:127.0.0.1:1";
        protected override DateTime DeadlineCore => DateTime.MaxValue;
        protected override Metadata RequestHeadersCore => [];
        protected override CancellationToken CancellationTokenCore => CancellationToken.None;
        protected override Metadata ResponseTrailersCore => [];
        protected override Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore => new(null, []);
        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();
        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }

    private sealed class RecordingLog : ILogger<ErrorMappingInterceptor>
    {
        public List<(LogLevel Level, Exception? Exception)> Entries { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, exception));
    }

    /// <summary>The status the interceptor gives a duplex stream whose handler throws <paramref name="failure"/>.</summary>
    private static Task<RpcException> StreamFailing(Exception failure, RecordingLog log) =>
        Assert.ThrowsAsync<RpcException>(() => new ErrorMappingInterceptor(new Lifetime(), log).DuplexStreamingServerHandler<EvaluateRequest, EvaluateResponse>(
            null!, null!, new Call(), (_, _, _) => throw failure));

    [Fact]
    public async Task A_stream_reset_by_the_client_is_CANCELLED_and_not_logged_as_an_internal_error()
    {
        var log = new RecordingLog();
        // What Kestrel's request pipe throws when the client sends RST_STREAM while the handler waits in MoveNext.
        var e = await StreamFailing(new IOException("The client reset the request stream."), log);
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        Assert.DoesNotContain(log.Entries, entry => entry.Level >= LogLevel.Error || entry.Exception is not null);
    }

    [Fact]
    public async Task Any_other_failure_is_INTERNAL_and_logged_with_its_exception()
    {
        var log = new RecordingLog();
        var e = await StreamFailing(new InvalidOperationException("a bug"), log);
        Assert.Equal(StatusCode.Internal, e.StatusCode);
        Assert.DoesNotContain("a bug", e.Status.Detail);
        Assert.Contains(log.Entries, entry => entry.Level == LogLevel.Error && entry.Exception is InvalidOperationException);
    }
}
