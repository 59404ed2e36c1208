using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Google.Protobuf;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MolecularLearning.Core;

namespace MolecularLearning.Protocols.Grpc;

/// <summary>
/// The gRPC wire protocol (grpc/doc/PROTOCOL-HTTP2.md) on Kestrel, kept in this one class because
/// Grpc.AspNetCore does not restore here; services only see messages, <see cref="GrpcCall{TRequest,TResponse}"/>
/// and <see cref="GrpcException"/>, so this class can be swapped for Grpc.AspNetCore without touching them.
/// It maps POST /package.Service/Method to handlers; reads Length-Prefixed-Messages (compressed flag,
/// 4-byte big-endian length, protobuf bytes) from the request body; answers with grpc-status and
/// grpc-message (percent-encoded) in trailers, or trailers-only for early errors; honours grpc-timeout;
/// refuses compression (identity only), oversized messages, unknown methods and non-gRPC content types.
/// Use it as the terminal middleware: <c>app.Run(endpoint.HandleAsync)</c>.
/// </summary>
public sealed class GrpcEndpoint(int maxReceiveMessageBytes = GrpcEndpoint.DefaultMaxReceiveMessageBytes, ILogger? logger = null)
{
    public const int DefaultMaxReceiveMessageBytes = 16 * 1024 * 1024;
    public const string ContentType = "application/grpc";

    private readonly Dictionary<string, Func<HttpContext, CallTokens, Task>> _methods = new(StringComparer.Ordinal);
    private readonly ILogger _log = logger ?? NullLogger.Instance;

    /// <summary>Largest request message accepted, in bytes; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageBytes { get; } = maxReceiveMessageBytes > 0
        ? maxReceiveMessageBytes
        : throw new ArgumentOutOfRangeException(nameof(maxReceiveMessageBytes), "must be positive");

    /// <summary>
    /// Signalled when the host begins to shut down: streaming calls waiting for their next request end with
    /// UNAVAILABLE (the responses already sent stay valid); unary calls in flight finish normally.
    /// </summary>
    public CancellationToken ServerStopping { get; set; }

    /// <summary>The "/package.Service/Method" paths this endpoint answers.</summary>
    public IEnumerable<string> Methods => _methods.Keys;

    /// <summary>A unary method: one request in, one response out. The handler may throw <see cref="GrpcException"/>.</summary>
    public void MapUnary<TRequest, TResponse>(string service, string method, MessageParser<TRequest> parser,
        Func<TRequest, CancellationToken, TResponse> handler)
        where TRequest : class, IMessage<TRequest> where TResponse : IMessage<TResponse>
    {
        _methods.Add($"/{service}/{method}", async (http, tokens) =>
        {
            var reader = http.Request.BodyReader;
            var request = await ReadMessageAsync(reader, parser, MaxReceiveMessageBytes, tokens.Call)
                ?? throw new GrpcException(GrpcStatusCode.Internal, "unary call ended without a request message");
            if (await ReadMessageAsync(reader, parser, MaxReceiveMessageBytes, tokens.Call) is not null)
                throw new GrpcException(GrpcStatusCode.Internal, "unary call received more than one request message");
            tokens.ThrowIfEnded();
            var response = handler(request, tokens.Call);
            tokens.ThrowIfEnded(); // no response after the deadline: the client has given up
            WriteFrame(http.Response.BodyWriter, response);
            await http.Response.BodyWriter.FlushAsync(tokens.Call);
        });
    }

    /// <summary>A streaming method (client, server or bidirectional streaming): the handler reads and writes through the call.</summary>
    public void MapStreaming<TRequest, TResponse>(string service, string method, MessageParser<TRequest> parser,
        Func<GrpcCall<TRequest, TResponse>, Task> handler)
        where TRequest : class, IMessage<TRequest> where TResponse : IMessage<TResponse>
    {
        _methods.Add($"/{service}/{method}", async (http, tokens) =>
        {
            using var call = new GrpcCall<TRequest, TResponse>(http, parser, MaxReceiveMessageBytes, tokens.Call, ServerStopping);
            await handler(call);
        });
    }

    /// <summary>Handles one HTTP request as a gRPC call (the terminal middleware).</summary>
    public async Task HandleAsync(HttpContext http)
    {
        var request = http.Request;
        var response = http.Response;
        // Not gRPC at all: plain HTTP statuses, so that a browser or curl is not told "200 OK" (spec: 415).
        if (!IsGrpcContentType(request.ContentType))
        {
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        if (!HttpMethods.IsPost(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            response.StatusCode = StatusCodes.Status426UpgradeRequired;
            response.Headers.Upgrade = "h2c";
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.Headers["grpc-accept-encoding"] = "identity";
        var path = request.Path.Value ?? "";
        var peer = $"{http.Connection.RemoteIpAddress}:{http.Connection.RemotePort}";

        if (!_methods.TryGetValue(path, out var handler))
        {
            await FinishAsync(http, path, peer, GrpcStatusCode.Unimplemented, $"unknown method {path}");
            return;
        }
        var encoding = request.Headers["grpc-encoding"].ToString();
        if (encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            await FinishAsync(http, path, peer, GrpcStatusCode.Unimplemented,
                $"grpc-encoding '{encoding}' is not supported: this server accepts identity only");
            return;
        }
        TimeSpan? timeout = null;
        var timeoutHeader = request.Headers["grpc-timeout"].ToString();
        if (timeoutHeader.Length > 0)
        {
            if (!TryParseTimeout(timeoutHeader, out var t))
            {
                await FinishAsync(http, path, peer, GrpcStatusCode.Internal,
                    $"malformed grpc-timeout '{timeoutHeader}' (expected up to 8 digits and a unit H, M, S, m, u or n)");
                return;
            }
            timeout = t;
        }

        // A stream can carry millions of steps: Kestrel's request body limit (30 MB) is for uploads, not for
        // gRPC, whose limit is per message (MaxReceiveMessageBytes).
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit) bodyLimit.MaxRequestBodySize = null;

        // The call ends when the client goes away or its deadline passes, whichever comes first.
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var deadline = new CancellationTokenSource();
        if (timeout is { } limit && limit < TimeSpan.FromDays(30)) deadline.CancelAfter(limit);
        using var callToken = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, deadline.Token);
        GrpcStatusCode status;
        string? message = null;
        try
        {
            await handler(http, new CallTokens(callToken.Token, started, timeout, timeoutHeader));
            status = GrpcStatusCode.OK;
        }
        catch (Exception) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client reset the stream or dropped the connection: nobody is left to answer.
            _log.LogInformation("gRPC {Method} from {Peer}: client went away", path, peer);
            return;
        }
        catch (GrpcException e)
        {
            (status, message) = (e.Status, e.Message);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            (status, message) = (GrpcStatusCode.DeadlineExceeded, $"deadline exceeded (grpc-timeout {timeoutHeader})");
        }
        catch (Exception e)
        {
            _log.LogError(e, "gRPC {Method} from {Peer} failed", path, peer);
            (status, message) = (GrpcStatusCode.Internal, $"internal error: {e.GetType().Name}: {e.Message}");
        }
        // A deadline that passed while the handler was busy still fails the call: the client has given up.
        // (Checked by the clock too: the timer behind the token may not have run yet on a busy thread pool.)
        bool pastDeadline = deadline.IsCancellationRequested
            || timeout is { } budget && System.Diagnostics.Stopwatch.GetElapsedTime(started) >= budget;
        if (status == GrpcStatusCode.OK && pastDeadline)
            (status, message) = (GrpcStatusCode.DeadlineExceeded, $"deadline exceeded (grpc-timeout {timeoutHeader})");
        await FinishAsync(http, path, peer, status, message);
    }

    /// <summary>
    /// Sends grpc-status/grpc-message (as trailers after messages, or as the headers of a trailers-only response)
    /// and ends the response. If the client is still sending, Kestrel resets the stream with NO_ERROR once the call
    /// returns (RFC 9113 8.1), after the trailers; resetting here through IHttpResetFeature aborts the stream's
    /// output and could drop trailers not yet written.
    /// </summary>
    private async Task FinishAsync(HttpContext http, string path, string peer, GrpcStatusCode status, string? message)
    {
        SetStatus(http, path, peer, status, message);
        try
        {
            await http.Response.CompleteAsync();
        }
        catch (Exception e) when (http.RequestAborted.IsCancellationRequested || e is IOException)
        {
            // The client left while the status was on its way: nothing more to tell it.
        }
    }

    private void SetStatus(HttpContext http, string path, string peer, GrpcStatusCode status, string? message)
    {
        if (status == GrpcStatusCode.OK)
            _log.LogDebug("gRPC {Method} from {Peer}: OK", path, peer);
        else
            _log.LogWarning("gRPC {Method} from {Peer}: {Status} {Message}", path, peer, status, message);
        var response = http.Response;
        var code = ((int)status).ToString(CultureInfo.InvariantCulture);
        if (!response.HasStarted)
        {
            response.Headers["grpc-status"] = code;
            if (message is not null) response.Headers["grpc-message"] = PercentEncode(message);
            return;
        }
        response.AppendTrailer("grpc-status", code);
        if (message is not null) response.AppendTrailer("grpc-message", PercentEncode(message));
    }

    /// <summary>application/grpc, application/grpc+proto, optionally with parameters (";charset=..."); no other codec.</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null) return false;
        var media = contentType.AsSpan();
        int semicolon = media.IndexOf(';');
        if (semicolon >= 0) media = media[..semicolon];
        media = media.Trim();
        return media.Equals(ContentType, StringComparison.OrdinalIgnoreCase)
            || media.Equals(ContentType + "+proto", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Parses grpc-timeout: a positive integer of at most 8 digits and a unit, H (hours), M (minutes),
    /// S (seconds), m (milliseconds), u (microseconds) or n (nanoseconds).
    /// </summary>
    public static bool TryParseTimeout(string value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length < 2 || value.Length > 9) return false;
        long n = 0;
        for (int i = 0; i < value.Length - 1; i++)
        {
            char c = value[i];
            if (c is < '0' or > '9') return false;
            n = 10 * n + (c - '0');
        }
        // Ticks are 100 ns; 99,999,999 hours still fits in a TimeSpan.
        long ticks = value[^1] switch
        {
            'H' => n * TimeSpan.TicksPerHour,
            'M' => n * TimeSpan.TicksPerMinute,
            'S' => n * TimeSpan.TicksPerSecond,
            'm' => n * TimeSpan.TicksPerMillisecond,
            'u' => n * TimeSpan.TicksPerMicrosecond,
            'n' => (n + 99) / 100,
            _ => -1,
        };
        if (ticks < 0) return false;
        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }

    /// <summary>Percent-encodes a status message: UTF-8, every byte outside space..'~' and '%' itself as %XX.</summary>
    public static string PercentEncode(string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        var sb = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            if (b >= 0x20 && b <= 0x7E && b != (byte)'%') sb.Append((char)b);
            else sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>
    /// Takes one Length-Prefixed-Message off the front of <paramref name="buffer"/>. Returns false when the frame
    /// is not complete yet; throws <see cref="GrpcException"/> as soon as the 5-byte prefix shows a compressed or
    /// invalid flag (INTERNAL: the encoding is identity) or a length over the limit (RESOURCE_EXHAUSTED).
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxMessageBytes, out ReadOnlySequence<byte> message)
    {
        message = default;
        if (buffer.Length < 5) return false;
        Span<byte> prefix = stackalloc byte[5];
        buffer.Slice(0, 5).CopyTo(prefix);
        if (prefix[0] == 1)
            throw new GrpcException(GrpcStatusCode.Internal, "compressed message received, but the call's grpc-encoding is identity");
        if (prefix[0] != 0)
            throw new GrpcException(GrpcStatusCode.Internal, $"invalid compressed-flag byte {prefix[0]} in a message prefix (must be 0 or 1)");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
        if (length > (uint)maxMessageBytes)
            throw new GrpcException(GrpcStatusCode.ResourceExhausted,
                $"received message of {length} bytes, larger than the limit of {maxMessageBytes} bytes");
        if (buffer.Length < 5 + length) return false;
        message = buffer.Slice(5, length);
        buffer = buffer.Slice(5 + length);
        return true;
    }

    /// <summary>Writes one message as a Length-Prefixed-Message (uncompressed) into <paramref name="writer"/>.</summary>
    public static void WriteFrame(IBufferWriter<byte> writer, IMessage message)
    {
        int size = message.CalculateSize();
        var span = writer.GetSpan(5 + size);
        span[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
        message.WriteTo(span.Slice(5, size));
        writer.Advance(5 + size);
    }

    /// <summary>Reads the next message of a request stream; null at its end (END_STREAM on a frame boundary).</summary>
    public static async ValueTask<T?> ReadMessageAsync<T>(PipeReader reader, MessageParser<T> parser, int maxMessageBytes,
        CancellationToken cancellationToken) where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var consumed = buffer.Start;
            var examined = buffer.End;
            try
            {
                if (TryReadFrame(ref buffer, maxMessageBytes, out var payload))
                {
                    consumed = examined = buffer.Start;
                    return Parse(parser, payload);
                }
                if (result.IsCompleted)
                {
                    if (buffer.IsEmpty) return null;
                    throw new GrpcException(GrpcStatusCode.Internal, buffer.Length < 5
                        ? $"request stream ended inside a message prefix ({buffer.Length} of 5 bytes)"
                        : $"request stream ended inside a message ({buffer.Length - 5} of {FrameLength(buffer)} bytes)");
                }
                if (result.IsCanceled) throw new OperationCanceledException(cancellationToken);
            }
            finally
            {
                reader.AdvanceTo(consumed, examined);
            }
        }
    }

    private static uint FrameLength(ReadOnlySequence<byte> buffer)
    {
        Span<byte> prefix = stackalloc byte[5];
        buffer.Slice(0, 5).CopyTo(prefix);
        return BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
    }

    private static T Parse<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload) where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new GrpcException(GrpcStatusCode.Internal, $"request is not a valid protobuf message: {e.Message}");
        }
    }

    /// <summary>
    /// Adds an HTTP/2-only Kestrel listener for "IP:PORT", "[IPv6]:PORT" or "localhost:PORT": cleartext h2c,
    /// or TLS (ALPN h2) when a PKCS#12 (.pfx) certificate is given. Port 0 takes a free port.
    /// </summary>
    public static void Listen(KestrelServerOptions kestrel, string address, string? certificatePath = null, string? certificatePassword = null)
    {
        void Configure(ListenOptions listen)
        {
            listen.Protocols = HttpProtocols.Http2;
            if (!string.IsNullOrEmpty(certificatePath))
            {
                if (!File.Exists(certificatePath)) throw new FileNotFoundException("TLS certificate not found", certificatePath);
                listen.UseHttps(certificatePath, certificatePassword);
            }
        }
        const string localhost = "localhost:";
        if (address.StartsWith(localhost, StringComparison.OrdinalIgnoreCase)
            && int.TryParse(address.AsSpan(localhost.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var localPort)
            && localPort is > 0 and <= 65535)
        {
            kestrel.ListenLocalhost(localPort, Configure);
            return;
        }
        if (!IPEndPoint.TryParse(address, out var endpoint) || endpoint.Port == 0 && !address.EndsWith(":0", StringComparison.Ordinal))
            throw new DataException($"gRPC address '{address}': expected IP:PORT (127.0.0.1:50051, [::1]:50051, 0.0.0.0:50051) or localhost:PORT");
        kestrel.Listen(endpoint, Configure);
    }

    private readonly record struct CallTokens(CancellationToken Call, long Started, TimeSpan? Timeout, string TimeoutHeader)
    {
        /// <summary>Throws once the deadline has passed (by the clock, whether or not its timer has run) or the client left.</summary>
        public void ThrowIfEnded()
        {
            if (Timeout is { } limit && System.Diagnostics.Stopwatch.GetElapsedTime(Started) >= limit)
                throw new GrpcException(GrpcStatusCode.DeadlineExceeded, $"deadline exceeded (grpc-timeout {TimeoutHeader})");
            Call.ThrowIfCancellationRequested();
        }
    }
}
