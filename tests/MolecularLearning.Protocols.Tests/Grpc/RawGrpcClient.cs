using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Google.Protobuf;

namespace MolecularLearning.Protocols.Tests.Grpc;

/// <summary>
/// A deliberately low-level gRPC client over HttpClient (HTTP/2 prior knowledge, h2c): frames are built by
/// hand here, so tests can send what real clients never would (bad flags, truncated frames, wrong headers).
/// </summary>
public sealed class RawGrpcClient(Uri address) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { EnableMultipleHttp2Connections = true })
    {
        BaseAddress = address,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public sealed record Reply(HttpStatusCode HttpStatus, List<byte[]> Messages, string? Status, string? Message, bool TrailersOnly)
    {
        public T Single<T>(MessageParser<T> parser) where T : IMessage<T> => parser.ParseFrom(Assert.Single(Messages));
    }

    /// <summary>A Length-Prefixed-Message: flag, 4-byte big-endian length, payload.</summary>
    public static byte[] Frame(IMessage message, byte flag = 0) => Frame(message.ToByteArray(), flag);

    public static byte[] Frame(byte[] payload, byte flag = 0, uint? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    private static HttpRequestMessage Request(string path, HttpContent content, string contentType, IEnumerable<(string, string)>? headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = content, Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers ?? []) request.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    /// <summary>Sends a whole request body at once and collects the response messages and status.</summary>
    public async Task<Reply> CallAsync(string path, byte[] body, string contentType = "application/grpc",
        params (string, string)[] headers)
    {
        using var response = await _http.SendAsync(Request(path, new ByteArrayContent(body), contentType, headers));
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var messages = new List<byte[]>();
        for (int at = 0; at + 5 <= bytes.Length;)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 1));
            if (at + 5 + length > bytes.Length)
                throw new InvalidDataException($"not gRPC framing: {response.StatusCode} {response.Content.Headers.ContentType}: {System.Text.Encoding.UTF8.GetString(bytes)}");
            messages.Add(bytes.AsSpan(at + 5, length).ToArray());
            at += 5 + length;
        }
        return Finish(response, messages);
    }

    private static Reply Finish(HttpResponseMessage response, List<byte[]> messages)
    {
        static string? Get(HttpHeaders h, string name) => h.TryGetValues(name, out var v) ? v.First() : null;
        var trailerStatus = Get(response.TrailingHeaders, "grpc-status");
        var headerStatus = Get(response.Headers, "grpc-status");
        return new Reply(response.StatusCode, messages, trailerStatus ?? headerStatus,
            Uri.UnescapeDataString(Get(response.TrailingHeaders, "grpc-message") ?? Get(response.Headers, "grpc-message") ?? ""),
            TrailersOnly: trailerStatus is null && headerStatus is not null);
    }

    public Duplex OpenStream(string path, params (string, string)[] headers) => new(_http, path, headers);

    /// <summary>A bidirectional call: send frames as you go, read response messages as they come.</summary>
    public sealed class Duplex : IAsyncDisposable
    {
        private readonly Channel<byte[]> _outgoing = Channel.CreateUnbounded<byte[]>();
        private readonly CancellationTokenSource _abort = new();
        private readonly Task<HttpResponseMessage> _response;
        private Stream? _body;
        private readonly List<byte[]> _received = [];

        /// <summary>The response messages read so far.</summary>
        public IReadOnlyList<byte[]> Received => _received;

        internal Duplex(HttpClient http, string path, (string, string)[] headers)
        {
            var request = Request(path, new ChannelContent(_outgoing.Reader), "application/grpc", headers);
            _response = http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _abort.Token);
        }

        public ValueTask SendAsync(byte[] bytes) => _outgoing.Writer.WriteAsync(bytes);
        public ValueTask SendAsync(IMessage message) => SendAsync(Frame(message));

        /// <summary>Half-closes: END_STREAM on the request.</summary>
        public void CompleteRequest() => _outgoing.Writer.TryComplete();

        /// <summary>Resets the stream (RST_STREAM CANCEL), like a client that is killed or gives up.</summary>
        public void Abort() => _abort.Cancel();

        /// <summary>The next response message, or null once the response has ended.</summary>
        public async Task<byte[]?> ReadAsync()
        {
            _body ??= await (await _response).Content.ReadAsStreamAsync();
            var prefix = new byte[5];
            int got = await _body.ReadAtLeastAsync(prefix, 5, throwOnEndOfStream: false);
            if (got == 0) return null;
            if (got < 5) throw new InvalidDataException($"response ended inside a message prefix ({got} bytes)");
            var payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(prefix.AsSpan(1))];
            await _body.ReadExactlyAsync(payload);
            _received.Add(payload);
            return payload;
        }

        /// <summary>Reads to the end of the response and returns every message and the status.</summary>
        public async Task<Reply> FinishAsync()
        {
            while (await ReadAsync() is not null) { }
            // Like real clients: once the server has ended the call, stop sending (lets the connection close).
            CompleteRequest();
            var response = await _response;
            return Finish(response, _received);
        }

        public async ValueTask DisposeAsync()
        {
            CompleteRequest();
            _abort.Cancel();
            try { (await _response).Dispose(); } catch (OperationCanceledException) { } catch (HttpRequestException) { }
            _abort.Dispose();
        }

        private sealed class ChannelContent(ChannelReader<byte[]> frames) : HttpContent
        {
            protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
                => SerializeToStreamAsync(stream, context, CancellationToken.None);

            // HttpClient cancels the token when the server resets the stream (e.g. RST_STREAM NO_ERROR after
            // its trailers): stop sending then, as real clients do, so the stream can complete.
            protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
            {
                await foreach (var bytes in frames.ReadAllAsync(cancellationToken))
                {
                    await stream.WriteAsync(bytes, cancellationToken);
                    await stream.FlushAsync(cancellationToken);
                }
            }

            protected override bool TryComputeLength(out long length)
            {
                length = 0;
                return false;
            }
        }
    }

    public void Dispose() => _http.Dispose();
}
