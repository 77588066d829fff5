using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Tributary.Protocol.Records;
using Tributary.Protocol.Records.Compression;

namespace Tributary.Protocol.Tests.Records;

/// <summary>Finding records without a key in a produced batch, as a compacted topic must before appending it.</summary>
public sealed class KeylessRecordScanTests
{
    private static byte[] Batch(params string?[] keys)
    {
        var builder = new RecordBatchBuilder();
        foreach (var key in keys)
        {
            builder.Append(1_700_000_000_000, key is null ? null : Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes("v"));
        }

        return builder.Build();
    }

    private static byte[] Compressed(byte[] plainBatch, CompressionType codec)
    {
        var compressed = new ArrayBufferWriter<byte>();
        RecordCompression.Compress(codec, plainBatch.AsSpan(RecordBatchLayout.Records), compressed);
        var batch = new byte[RecordBatchLayout.HeaderSize + compressed.WrittenCount];
        plainBatch.AsSpan(0, RecordBatchLayout.HeaderSize).CopyTo(batch);
        compressed.WrittenSpan.CopyTo(batch.AsSpan(RecordBatchLayout.Records));
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatchLayout.BatchLength), batch.Length - RecordBatchLayout.LogOverhead);
        var attributes = BinaryPrimitives.ReadInt16BigEndian(batch.AsSpan(RecordBatchLayout.Attributes));
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatchLayout.Attributes), (short)(attributes | (short)codec));
        RecordBatchRewriter.WriteCrc(batch);
        return batch;
    }

    [Fact]
    public void A_batch_where_every_record_has_a_key_yields_no_list()
    {
        List<int>? keyless = null;

        var error = KeylessRecordScan.Find(Batch("a", "b", "c"), 1 << 20, ref keyless, out _);

        Assert.Equal(RecordValidationError.None, error);
        Assert.Null(keyless);
    }

    [Fact]
    public void The_index_of_every_record_without_a_key_is_listed()
    {
        List<int>? keyless = null;

        var error = KeylessRecordScan.Find(Batch(null, "b", null, null), 1 << 20, ref keyless, out _);

        Assert.Equal(RecordValidationError.None, error);
        Assert.Equal([0, 2, 3], keyless);
    }

    [Fact]
    public void An_empty_key_is_a_key()
    {
        List<int>? keyless = null;

        KeylessRecordScan.Find(Batch(""), 1 << 20, ref keyless, out _);

        Assert.Null(keyless);
    }

    [Theory]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void Records_of_a_compressed_batch_are_checked_too(CompressionType codec)
    {
        List<int>? keyless = null;

        var error = KeylessRecordScan.Find(Compressed(Batch("a", null), codec), 1 << 20, ref keyless, out _);

        Assert.Equal(RecordValidationError.None, error);
        Assert.Equal([1], keyless);
    }

    [Fact]
    public void A_compressed_batch_larger_than_the_bound_once_decompressed_is_refused()
    {
        List<int>? keyless = null;
        var keys = Enumerable.Range(0, 2_000).Select(i => (string?)$"key-{i}").ToArray();

        var error = KeylessRecordScan.Find(Compressed(Batch(keys), CompressionType.Gzip), 1_024, ref keyless, out var message);

        Assert.Equal(RecordValidationError.RecordTooLarge, error);
        Assert.NotNull(message);
    }
}
