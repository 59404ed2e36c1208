using System.Buffers;
using System.IO.Pipelines;
using MolecularLearning.Protocols.Grpc;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Protocols.Tests.Grpc;

public class GrpcFramingTests
{
    private static EvaluateRequest Sample(ulong id) => new() { Id = id, Symbols = { "O", "H" }, PositionsAngstrom = { 0, 0, 0, 0.96, 0, 0 } };

    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int segment)
    {
        // A chain of small segments, so frames straddle segment boundaries as DATA frames do.
        var chunks = bytes.Chunk(segment).ToArray();
        var first = new Segment(chunks[0], 0);
        var last = first;
        for (int i = 1; i < chunks.Length; i++) last = last.Append(chunks[i]);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data, long runningIndex) { Memory = data; RunningIndex = runningIndex; }
        public Segment Append(byte[] data) { var next = new Segment(data, RunningIndex + Memory.Length); Next = next; return next; }
    }

    [Fact]
    public void WriteFrame_then_TryReadFrame_round_trips_several_messages_across_segment_boundaries()
    {
        var writer = new ArrayBufferWriter<byte>();
        for (ulong id = 1; id <= 3; id++) GrpcEndpoint.WriteFrame(writer, Sample(id));
        var bytes = writer.WrittenSpan.ToArray();
        Assert.Equal(0, bytes[0]);
        Assert.Equal(Sample(1).CalculateSize(), (bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4]);

        var buffer = Segmented(bytes, 7);
        for (ulong id = 1; id <= 3; id++)
        {
            Assert.True(GrpcEndpoint.TryReadFrame(ref buffer, 1024, out var payload));
            Assert.Equal(Sample(id), EvaluateRequest.Parser.ParseFrom(payload));
        }
        Assert.True(buffer.IsEmpty);
        Assert.False(GrpcEndpoint.TryReadFrame(ref buffer, 1024, out _));
    }

    [Fact]
    public void TryReadFrame_waits_for_the_whole_message()
    {
        var frame = RawGrpcClient.Frame(Sample(1));
        for (int cut = 0; cut < frame.Length; cut++)
        {
            var partial = new ReadOnlySequence<byte>(frame, 0, cut);
            Assert.False(GrpcEndpoint.TryReadFrame(ref partial, 1024, out _));
            Assert.Equal(cut, partial.Length); // nothing consumed
        }
    }

    [Fact]
    public void Oversized_message_is_refused_from_its_prefix_alone()
    {
        // Only the 5-byte prefix has arrived: the server must not wait for (or buffer) 1 MB it will refuse.
        var prefix = new ReadOnlySequence<byte>(RawGrpcClient.Frame([], declaredLength: 1 << 20));
        var e = Assert.Throws<GrpcException>(() => GrpcEndpoint.TryReadFrame(ref prefix, 1000, out _));
        Assert.Equal(GrpcStatusCode.ResourceExhausted, e.Status);
        Assert.Contains("1048576 bytes", e.Message);
        Assert.Contains("limit of 1000 bytes", e.Message);
    }

    [Theory]
    [InlineData(1, "compressed message")]
    [InlineData(2, "invalid compressed-flag byte 2")]
    [InlineData(255, "invalid compressed-flag byte 255")]
    public void Compressed_or_invalid_flag_is_INTERNAL_under_identity_encoding(byte flag, string expected)
    {
        var frame = new ReadOnlySequence<byte>(RawGrpcClient.Frame(Sample(1), flag));
        var e = Assert.Throws<GrpcException>(() => GrpcEndpoint.TryReadFrame(ref frame, 1024, out _));
        Assert.Equal(GrpcStatusCode.Internal, e.Status);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public async Task ReadMessageAsync_reads_messages_fed_byte_by_byte_then_null_at_end_of_stream()
    {
        var pipe = new Pipe();
        var bytes = RawGrpcClient.Frame(Sample(7)).Concat(RawGrpcClient.Frame(Sample(8))).ToArray();
        var feeding = Task.Run(async () =>
        {
            foreach (var b in bytes) await pipe.Writer.WriteAsync(new[] { b });
            await pipe.Writer.CompleteAsync();
        });
        Assert.Equal(7ul, (await GrpcEndpoint.ReadMessageAsync(pipe.Reader, EvaluateRequest.Parser, 1024, default))!.Id);
        Assert.Equal(8ul, (await GrpcEndpoint.ReadMessageAsync(pipe.Reader, EvaluateRequest.Parser, 1024, default))!.Id);
        Assert.Null(await GrpcEndpoint.ReadMessageAsync(pipe.Reader, EvaluateRequest.Parser, 1024, default));
        await feeding;
    }

    [Theory]
    [InlineData(3, "inside a message prefix (3 of 5 bytes)")]
    [InlineData(9, "inside a message (4 of ")]
    public async Task End_of_stream_inside_a_frame_is_INTERNAL(int keep, string expected)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(RawGrpcClient.Frame(Sample(1)).AsMemory(0, keep));
        await pipe.Writer.CompleteAsync();
        var e = await Assert.ThrowsAsync<GrpcException>(() =>
            GrpcEndpoint.ReadMessageAsync(pipe.Reader, EvaluateRequest.Parser, 1024, default).AsTask());
        Assert.Equal(GrpcStatusCode.Internal, e.Status);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public async Task Garbage_payload_is_INTERNAL_not_a_crash()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(RawGrpcClient.Frame([0xFF, 0xFF, 0xFF, 0xFF, 0xFF]));
        await pipe.Writer.CompleteAsync();
        var e = await Assert.ThrowsAsync<GrpcException>(() =>
            GrpcEndpoint.ReadMessageAsync(pipe.Reader, EvaluateRequest.Parser, 1024, default).AsTask());
        Assert.Equal(GrpcStatusCode.Internal, e.Status);
        Assert.Contains("not a valid protobuf message", e.Message);
    }

    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("1500u", 15_000L)]
    [InlineData("100n", 1L)]
    [InlineData("1n", 1L)] // rounded up to one tick (100 ns), never to "no time at all"
    [InlineData("99999999S", 999_999_990_000_000L)]
    public void Timeout_units(string header, long ticks)
    {
        Assert.True(GrpcEndpoint.TryParseTimeout(header, out var timeout));
        Assert.Equal(ticks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    [InlineData("123456789S")] // 9 digits: the spec allows at most 8
    public void Malformed_timeouts_are_rejected(string header) => Assert.False(GrpcEndpoint.TryParseTimeout(header, out _));

    [Fact]
    public void Status_messages_are_percent_encoded_as_UTF8()
    {
        Assert.Equal("plain text: ok", GrpcEndpoint.PercentEncode("plain text: ok"));
        Assert.Equal("100%25 sure%0Anext line", GrpcEndpoint.PercentEncode("100% sure\nnext line"));
        Assert.Equal("%C3%85 is %C3%A5ngstr%C3%B6m", GrpcEndpoint.PercentEncode("Å is ångström"));
        Assert.Equal("Å is ångström", Uri.UnescapeDataString(GrpcEndpoint.PercentEncode("Å is ångström")));
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("Application/GRPC; charset=utf-8", true)]
    [InlineData("application/grpc+json", false)]
    [InlineData("application/json", false)]
    [InlineData("text/plain", false)]
    [InlineData(null, false)]
    public void Content_types(string? contentType, bool accepted) => Assert.Equal(accepted, GrpcEndpoint.IsGrpcContentType(contentType));
}
