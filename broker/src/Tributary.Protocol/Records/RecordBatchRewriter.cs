using System.Buffers.Binary;

namespace Tributary.Protocol.Records;

/// <summary>In-place edits the leader makes to validated batches before appending them.</summary>
public static class RecordBatchRewriter
{
    /// <summary>
    /// Rewrites each batch's baseOffset so the batches take consecutive offsets from <paramref name="firstOffset"/>; returns the
    /// offset after the last batch. baseOffset is outside the CRC, so CRCs stay valid.
    /// </summary>
    /// <exception cref="ArgumentException">the span does not consist of whole batches.</exception>
    public static long AssignOffsets(Span<byte> batches, long firstOffset)
    {
        long nextOffset = firstOffset;
        int position = 0;
        while (position < batches.Length)
        {
            Span<byte> batch = SliceBatch(batches, position);
            BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatchLayout.BaseOffset..], nextOffset);
            int lastOffsetDelta = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatchLayout.LastOffsetDelta..]);
            nextOffset += (long)lastOffsetDelta + 1;
            position += batch.Length;
        }

        return nextOffset;
    }

    /// <summary>Marks one batch as LogAppendTime with maxTimestamp = <paramref name="timestampMs"/> and recomputes its CRC.</summary>
    /// <remarks>Kafka leaves the record deltas untouched; readers take every record's timestamp from maxTimestamp.</remarks>
    public static void SetLogAppendTime(Span<byte> batch, long timestampMs)
    {
        batch = SliceBatch(batch, 0);
        short attributes = BinaryPrimitives.ReadInt16BigEndian(batch[RecordBatchLayout.Attributes..]);
        attributes |= RecordBatchAttributeBits.TimestampTypeLogAppendTime;
        BinaryPrimitives.WriteInt16BigEndian(batch[RecordBatchLayout.Attributes..], attributes);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatchLayout.MaxTimestamp..], timestampMs);
        WriteCrc(batch);
    }

    /// <summary>Stamps the leader epoch the batch was appended under (outside the CRC).</summary>
    public static void SetPartitionLeaderEpoch(Span<byte> batch, int partitionLeaderEpoch) =>
        BinaryPrimitives.WriteInt32BigEndian(SliceBatch(batch, 0)[RecordBatchLayout.PartitionLeaderEpoch..], partitionLeaderEpoch);

    /// <summary>Recomputes and stores the CRC of one whole batch.</summary>
    public static void WriteCrc(Span<byte> batch)
    {
        batch = SliceBatch(batch, 0);
        BinaryPrimitives.WriteUInt32BigEndian(batch[RecordBatchLayout.Crc..], RecordBatchHeader.ComputeCrc(batch));
    }

    private static Span<byte> SliceBatch(Span<byte> batches, int position)
    {
        Span<byte> rest = batches[position..];
        if (rest.Length < RecordBatchLayout.HeaderSize)
        {
            throw new ArgumentException("Record set ends inside a batch header.", nameof(batches));
        }

        int batchLength = BinaryPrimitives.ReadInt32BigEndian(rest[RecordBatchLayout.BatchLength..]);
        long totalSize = (long)batchLength + RecordBatchLayout.LogOverhead;
        if (batchLength < RecordBatchLayout.MinBatchLength || totalSize > rest.Length)
        {
            throw new ArgumentException("Record batch length is out of bounds.", nameof(batches));
        }

        return rest[..(int)totalSize];
    }
}
