using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Tributary.Protocol.Records;
using Tributary.Protocol.Records.Compression;

namespace Tributary.Protocol.Tests.Records.Compression;

public sealed class RecordCompressionTests
{
    // Larger than one xerial snappy block (32 KiB) and one LZ4 block (64 KiB), so multi-block framing is exercised.
    private static readonly byte[] Records = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 9000).Select(i => $"record {i % 97}, ")));

    public static TheoryData<CompressionType> Codecs => [CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Every_kafka_codec_round_trips_the_records_section(CompressionType codec)
    {
        ArrayBufferWriter<byte> compressed = Compress(codec, Records);
        var decompressed = new ArrayBufferWriter<byte>();

        DecompressionStatus status = RecordCompression.Decompress(codec, compressed.WrittenSpan, decompressed, Records.Length);

        Assert.True(RecordCompression.IsSupported(codec));
        Assert.Equal(DecompressionStatus.Ok, status);
        Assert.Equal(Records, decompressed.WrittenSpan.ToArray());
        Assert.True(compressed.WrittenCount < Records.Length / 2);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Decompression_stops_at_the_callers_bound(CompressionType codec)
    {
        ArrayBufferWriter<byte> compressed = Compress(codec, Records);
        var decompressed = new ArrayBufferWriter<byte>();

        DecompressionStatus status = RecordCompression.Decompress(codec, compressed.WrittenSpan, decompressed, Records.Length - 1);

        Assert.Equal(DecompressionStatus.TooLarge, status);
        Assert.True(decompressed.WrittenCount < Records.Length);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void A_malformed_stream_is_reported_corrupt(CompressionType codec)
    {
        ArrayBufferWriter<byte> compressed = Compress(codec, Records);
        byte[] broken = compressed.WrittenSpan.ToArray();
        broken.AsSpan(broken.Length / 3, 64).Fill(0xA5);

        DecompressionStatus status = RecordCompression.Decompress(codec, broken, new ArrayBufferWriter<byte>(), 1 << 20);

        Assert.Equal(DecompressionStatus.Corrupt, status);
    }

    [Fact]
    public void Gzip_output_is_a_standard_gzip_stream()
    {
        ArrayBufferWriter<byte> compressed = Compress(CompressionType.Gzip, Records);

        using var gzip = new GZipStream(new MemoryStream(compressed.WrittenSpan.ToArray()), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);

        Assert.Equal(Records, plain.ToArray());
    }

    [Fact]
    public void Snappy_is_written_with_the_xerial_framing_kafkas_java_side_uses()
    {
        ArrayBufferWriter<byte> compressed = Compress(CompressionType.Snappy, Records);
        ReadOnlySpan<byte> bytes = compressed.WrittenSpan;

        Assert.Equal([0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0], bytes[..8].ToArray());
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(bytes[8..]));
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(bytes[12..]));
        Assert.Equal(CompressionFraming.Standard, RecordCompression.DetectFraming(CompressionType.Snappy, bytes));
    }

    [Fact]
    public void Raw_snappy_as_librdkafka_writes_it_is_read_and_its_framing_recognised()
    {
        var compressed = new ArrayBufferWriter<byte>();
        RecordCompression.Compress(CompressionType.Snappy, Records, compressed, CompressionFraming.SnappyRaw);
        var decompressed = new ArrayBufferWriter<byte>();

        Assert.Equal(CompressionFraming.SnappyRaw, RecordCompression.DetectFraming(CompressionType.Snappy, compressed.WrittenSpan));
        Assert.Equal(DecompressionStatus.Ok,
            RecordCompression.Decompress(CompressionType.Snappy, compressed.WrittenSpan, decompressed, Records.Length));
        Assert.Equal(Records, decompressed.WrittenSpan.ToArray());
    }

    [Fact]
    public void Lz4_output_is_an_lz4_frame_with_independent_blocks()
    {
        ReadOnlySpan<byte> bytes = Compress(CompressionType.Lz4, Records).WrittenSpan;

        Assert.Equal(0x184D2204u, BinaryPrimitives.ReadUInt32LittleEndian(bytes));
        byte flags = bytes[4];
        Assert.Equal(1, flags >> 6); // version 01
        Assert.NotEqual(0, flags & 0x20); // block independence, which Kafka's Java LZ4 reader requires
    }

    [Fact]
    public void Zstd_output_is_a_zstd_frame()
    {
        ReadOnlySpan<byte> bytes = Compress(CompressionType.Zstd, Records).WrittenSpan;

        Assert.Equal(0xFD2FB528u, BinaryPrimitives.ReadUInt32LittleEndian(bytes));
    }

    [Fact]
    public void An_undefined_codec_id_is_unsupported()
    {
        Assert.False(RecordCompression.IsSupported((CompressionType)5));
        Assert.Equal(DecompressionStatus.Unsupported,
            RecordCompression.Decompress((CompressionType)5, [1, 2, 3], new ArrayBufferWriter<byte>(), 1 << 20));
    }

    private static ArrayBufferWriter<byte> Compress(CompressionType codec, byte[] records)
    {
        var compressed = new ArrayBufferWriter<byte>();
        RecordCompression.Compress(codec, records, compressed);
        return compressed;
    }
}
