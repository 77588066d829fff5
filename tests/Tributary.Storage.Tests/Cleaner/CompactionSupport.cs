using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Tributary.Protocol.Records;
using Tributary.Protocol.Records.Compression;
using Tributary.Storage.Cleaner;

namespace Tributary.Storage.Tests.Cleaner;

/// <summary>A record as a consumer sees it after reading the log.</summary>
internal readonly record struct ReadRecord(long Offset, string? Key, string? Value, long Timestamp);

internal static class Compaction
{
    public static readonly LogConfig CompactConfig = new()
    {
        CleanupPolicy = CleanupPolicy.Compact,
        SegmentBytes = 16 * 1024,
        IndexIntervalBytes = 256,
    };

    /// <summary>Appends one batch of keyed records (null value = tombstone) as the leader.</summary>
    public static LogAppendInfo Append(PartitionLog log, long timestamp, params (string Key, string? Value)[] records) =>
        AppendWith(log, new RecordBatchBuilder(), timestamp, records);

    public static LogAppendInfo AppendWith(PartitionLog log, RecordBatchBuilder builder, long timestamp, params (string Key, string? Value)[] records)
    {
        foreach ((string key, string? value) in records)
        {
            builder.Append(timestamp, Encoding.UTF8.GetBytes(key), value is null ? null : Encoding.UTF8.GetBytes(value));
        }

        byte[] batch = builder.Build();
        LogAppendInfo info = log.AppendAsLeader(batch, records.Length, partitionLeaderEpoch: 0, timestamp, logAppendTime: false);
        // A single replica: every append is committed at once, so the cleaner may reach it (it never cleans at/above the HW).
        log.UpdateHighWatermark(log.LogEndOffset);
        return info;
    }

    /// <summary>Re-encodes an uncompressed batch with <paramref name="codec"/>, as a producer with that compression.type sends it.</summary>
    public static byte[] Compress(byte[] plainBatch, CompressionType codec)
    {
        var compressed = new ArrayBufferWriter<byte>();
        RecordCompression.Compress(codec, plainBatch.AsSpan(RecordBatchLayout.Records), compressed);
        var batch = new byte[RecordBatchLayout.HeaderSize + compressed.WrittenCount];
        plainBatch.AsSpan(0, RecordBatchLayout.HeaderSize).CopyTo(batch);
        compressed.WrittenSpan.CopyTo(batch.AsSpan(RecordBatchLayout.Records));
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatchLayout.BatchLength), batch.Length - RecordBatchLayout.LogOverhead);
        short attributes = BinaryPrimitives.ReadInt16BigEndian(batch.AsSpan(RecordBatchLayout.Attributes));
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatchLayout.Attributes), (short)(attributes | (short)codec));
        RecordBatchRewriter.WriteCrc(batch);
        return batch;
    }

    /// <summary>Every batch header of the log, in order (CRCs checked).</summary>
    public static List<RecordBatchHeader> ReadHeaders(PartitionLog log)
    {
        var headers = new List<RecordBatchHeader>();
        foreach (var (records, _) in ReadChunks(log))
        {
            headers.AddRange(Batches.Headers(records));
        }

        return headers;
    }

    /// <summary>The whole log from its start, one <see cref="PartitionLog.Read"/> at a time, with the offset each read began at.</summary>
    private static IEnumerable<(ReadOnlyMemory<byte> Records, long From)> ReadChunks(PartitionLog log)
    {
        long next = log.LogStartOffset;
        while (next < log.LogEndOffset)
        {
            LogReadResult result = log.Read(next, 1 << 20, long.MaxValue, minOneBatch: true);
            Assert.Equal(LogReadError.None, result.Error);
            if (result.Records.IsEmpty)
            {
                yield break;
            }

            yield return (result.Records, next);
            next = result.NextOffset;
        }
    }

    /// <summary>Every record readable from the log start, decompressing compressed batches, in log order.</summary>
    public static List<ReadRecord> ReadAll(PartitionLog log)
    {
        var records = new List<ReadRecord>();
        foreach (var (chunk, from) in ReadChunks(log))
        {
            var batches = new RecordBatchEnumerator(chunk.Span);
            while (batches.MoveNext())
            {
                Assert.True(RecordBatchValidator.HasValidCrc(batches.Current), "a served batch failed its CRC");
                foreach (ReadRecord record in Decode(batches.Current))
                {
                    if (record.Offset >= from)
                    {
                        records.Add(record);
                    }
                }
            }
        }

        return records;
    }

    public static List<ReadRecord> Decode(ReadOnlySpan<byte> batch)
    {
        RecordBatchHeader header = RecordBatchHeader.Read(batch);
        byte[] plain = batch.ToArray();
        if (header.Compression != CompressionType.None)
        {
            var decompressed = new ArrayBufferWriter<byte>();
            decompressed.Write(batch[..RecordBatchLayout.HeaderSize]);
            Assert.Equal(DecompressionStatus.Ok,
                RecordCompression.Decompress(header.Compression, batch[RecordBatchLayout.Records..], decompressed, 64 << 20));
            plain = decompressed.WrittenSpan.ToArray();
            BinaryPrimitives.WriteInt32BigEndian(plain.AsSpan(RecordBatchLayout.BatchLength), plain.Length - RecordBatchLayout.LogOverhead);
            BinaryPrimitives.WriteInt16BigEndian(plain.AsSpan(RecordBatchLayout.Attributes), (short)(header.Attributes & ~RecordBatchAttributeBits.CompressionMask));
        }

        var records = new List<ReadRecord>();
        var reader = new RecordReader(plain);
        while (reader.TryReadNext(out RecordView record))
        {
            records.Add(new ReadRecord(record.Offset, record.HasKey ? Encoding.UTF8.GetString(record.Key) : null,
                record.HasValue ? Encoding.UTF8.GetString(record.Value) : null, record.Timestamp));
        }

        return records;
    }

    /// <summary>What a consumer of the compacted log must end up with: the latest value per key (tombstoned keys absent).</summary>
    public static Dictionary<string, string> Latest(IEnumerable<ReadRecord> records)
    {
        var latest = new Dictionary<string, string>();
        foreach (ReadRecord record in records)
        {
            if (record.Value is null)
            {
                latest.Remove(record.Key!);
            }
            else
            {
                latest[record.Key!] = record.Value;
            }
        }

        return latest;
    }

    public static LogCleaner NewCleaner(params PartitionLog[] logs) => new(new LogCleanerOptions { Enabled = false }, () => logs);
}
