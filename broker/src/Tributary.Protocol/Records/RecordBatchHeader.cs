using System.Buffers.Binary;

namespace Tributary.Protocol.Records;

/// <summary>The 61-byte header of a record batch v2, parsed from a span. Parsing checks nothing but the span length.</summary>
public readonly struct RecordBatchHeader
{
    public long BaseOffset { get; }

    /// <summary>Bytes after the batchLength field (so the whole batch is <see cref="TotalSize"/> bytes).</summary>
    public int BatchLength { get; }

    public int PartitionLeaderEpoch { get; }
    public byte Magic { get; }
    public uint Crc { get; }
    public short Attributes { get; }
    public int LastOffsetDelta { get; }
    public long BaseTimestamp { get; }
    public long MaxTimestamp { get; }
    public long ProducerId { get; }
    public short ProducerEpoch { get; }
    public int BaseSequence { get; }
    public int RecordCount { get; }

    private RecordBatchHeader(ReadOnlySpan<byte> header)
    {
        BaseOffset = BinaryPrimitives.ReadInt64BigEndian(header[RecordBatchLayout.BaseOffset..]);
        BatchLength = BinaryPrimitives.ReadInt32BigEndian(header[RecordBatchLayout.BatchLength..]);
        PartitionLeaderEpoch = BinaryPrimitives.ReadInt32BigEndian(header[RecordBatchLayout.PartitionLeaderEpoch..]);
        Magic = header[RecordBatchLayout.Magic];
        Crc = BinaryPrimitives.ReadUInt32BigEndian(header[RecordBatchLayout.Crc..]);
        Attributes = BinaryPrimitives.ReadInt16BigEndian(header[RecordBatchLayout.Attributes..]);
        LastOffsetDelta = BinaryPrimitives.ReadInt32BigEndian(header[RecordBatchLayout.LastOffsetDelta..]);
        BaseTimestamp = BinaryPrimitives.ReadInt64BigEndian(header[RecordBatchLayout.BaseTimestamp..]);
        MaxTimestamp = BinaryPrimitives.ReadInt64BigEndian(header[RecordBatchLayout.MaxTimestamp..]);
        ProducerId = BinaryPrimitives.ReadInt64BigEndian(header[RecordBatchLayout.ProducerId..]);
        ProducerEpoch = BinaryPrimitives.ReadInt16BigEndian(header[RecordBatchLayout.ProducerEpoch..]);
        BaseSequence = BinaryPrimitives.ReadInt32BigEndian(header[RecordBatchLayout.BaseSequence..]);
        RecordCount = BinaryPrimitives.ReadInt32BigEndian(header[RecordBatchLayout.RecordCount..]);
    }

    /// <summary>Offset of the last record (baseOffset + lastOffsetDelta). Compaction may leave gaps, so not baseOffset + count - 1.</summary>
    public long LastOffset => BaseOffset + LastOffsetDelta;

    /// <summary>Offset following this batch.</summary>
    public long NextOffset => LastOffset + 1;

    /// <summary>Size of the whole batch in bytes: batchLength plus the 12 bytes of baseOffset and batchLength.</summary>
    public long TotalSize => (long)BatchLength + RecordBatchLayout.LogOverhead;

    public CompressionType Compression => (CompressionType)(Attributes & RecordBatchAttributeBits.CompressionMask);

    public TimestampType TimestampType =>
        (Attributes & RecordBatchAttributeBits.TimestampTypeLogAppendTime) != 0 ? TimestampType.LogAppendTime : TimestampType.CreateTime;

    public bool IsTransactional => (Attributes & RecordBatchAttributeBits.Transactional) != 0;

    public bool IsControl => (Attributes & RecordBatchAttributeBits.Control) != 0;

    public bool HasDeleteHorizon => (Attributes & RecordBatchAttributeBits.DeleteHorizon) != 0;

    /// <summary>Parses the header at the start of <paramref name="batch"/>; false if fewer than 61 bytes are available.</summary>
    public static bool TryRead(ReadOnlySpan<byte> batch, out RecordBatchHeader header)
    {
        if (batch.Length < RecordBatchLayout.HeaderSize)
        {
            header = default;
            return false;
        }

        header = new RecordBatchHeader(batch);
        return true;
    }

    /// <summary>Parses the header at the start of <paramref name="batch"/>.</summary>
    /// <exception cref="ArgumentException">fewer than 61 bytes.</exception>
    public static RecordBatchHeader Read(ReadOnlySpan<byte> batch)
    {
        if (!TryRead(batch, out RecordBatchHeader header))
        {
            throw new ArgumentException($"A record batch header needs {RecordBatchLayout.HeaderSize} bytes, got {batch.Length}.", nameof(batch));
        }

        return header;
    }

    /// <summary>Computes the CRC-32C a batch should carry (over attributes..end); the span must hold the whole batch.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> wholeBatch) => Crc32C.Compute(wholeBatch[RecordBatchLayout.Attributes..]);
}
