using System.Buffers;
using System.IO.Compression;
using System.Text;
using Tributary.Protocol.Records;
using Tributary.Protocol.Records.Compression;

namespace Tributary.Protocol.Tests.Records.Compression;

public sealed class RecordCompressionTests
{
    private static readonly byte[] Records = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("record bytes, repetitive. ", 400)));

    [Fact]
    public void Gzip_round_trips_the_records_section()
    {
        var compressed = new ArrayBufferWriter<byte>();
        RecordCompression.Compress(CompressionType.Gzip, Records, compressed);
        var decompressed = new ArrayBufferWriter<byte>();

        DecompressionStatus status = RecordCompression.Decompress(CompressionType.Gzip, compressed.WrittenSpan, decompressed, Records.Length);

        Assert.Equal(DecompressionStatus.Ok, status);
        Assert.Equal(Records, decompressed.WrittenSpan.ToArray());
        Assert.True(compressed.WrittenCount < Records.Length / 4);
    }

    [Fact]
    public void Gzip_output_is_a_standard_gzip_stream_other_clients_can_read()
    {
        var compressed = new ArrayBufferWriter<byte>();
        RecordCompression.Compress(CompressionType.Gzip, Records, compressed);

        using var gzip = new GZipStream(new MemoryStream(compressed.WrittenSpan.ToArray()), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);

        Assert.Equal([0x1f, 0x8b], compressed.WrittenSpan[..2].ToArray());
        Assert.Equal(Records, plain.ToArray());
    }

    [Fact]
    public void Decompression_stops_at_the_callers_bound()
    {
        var compressed = new ArrayBufferWriter<byte>();
        RecordCompression.Compress(CompressionType.Gzip, Records, compressed);

        DecompressionStatus status = RecordCompression.Decompress(CompressionType.Gzip, compressed.WrittenSpan, new ArrayBufferWriter<byte>(), 100);

        Assert.Equal(DecompressionStatus.TooLarge, status);
    }

    [Fact]
    public void A_malformed_gzip_stream_is_reported_corrupt()
    {
        byte[] garbage = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3, 4, 5, 6, 7];

        DecompressionStatus status = RecordCompression.Decompress(CompressionType.Gzip, garbage, new ArrayBufferWriter<byte>(), 1 << 20);

        Assert.Equal(DecompressionStatus.Corrupt, status);
    }

    [Theory]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void Codecs_without_an_implementation_report_unsupported_instead_of_guessing(CompressionType codec)
    {
        Assert.False(RecordCompression.IsSupported(codec));
        Assert.Equal(DecompressionStatus.Unsupported, RecordCompression.Decompress(codec, [1, 2, 3], new ArrayBufferWriter<byte>(), 1 << 20));
    }
}
