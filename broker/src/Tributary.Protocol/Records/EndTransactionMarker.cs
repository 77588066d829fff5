using System.Buffers.Binary;

namespace Tributary.Protocol.Records;

/// <summary>The type in a control record's key (Kafka's ControlRecordType); only the transaction markers are written by us.</summary>
public enum ControlRecordType : short
{
    Abort = 0,
    Commit = 1,
}

/// <summary>
/// A transaction marker (KIP-98): a control batch (attributes bits 4 transactional and 5 control) of the producer, with one
/// record whose key is int16 version (0) + int16 type (0 abort, 1 commit) and whose value is int16 version (0) + int32 coordinator
/// epoch. The batch carries no sequence (-1); control batches are never compressed.
/// </summary>
/// <param name="Type">commit or abort.</param>
/// <param name="CoordinatorEpoch">epoch of the transaction coordinator that wrote the marker.</param>
public readonly record struct EndTransactionMarker(ControlRecordType Type, int CoordinatorEpoch)
{
    private const short CurrentVersion = 0;
    private const int KeySize = 4;
    private const int ValueSize = 6;

    public bool IsCommit => Type == ControlRecordType.Commit;

    /// <summary>The marker batch of <paramref name="producerId"/>/<paramref name="producerEpoch"/> at offset 0 (the log assigns offsets).</summary>
    public byte[] BuildBatch(long producerId, short producerEpoch, long timestampMs)
    {
        var key = new byte[KeySize];
        BinaryPrimitives.WriteInt16BigEndian(key, CurrentVersion);
        BinaryPrimitives.WriteInt16BigEndian(key.AsSpan(2), (short)Type);
        var value = new byte[ValueSize];
        BinaryPrimitives.WriteInt16BigEndian(value, CurrentVersion);
        BinaryPrimitives.WriteInt32BigEndian(value.AsSpan(2), CoordinatorEpoch);
        return new RecordBatchBuilder
        {
            ProducerId = producerId,
            ProducerEpoch = producerEpoch,
            BaseSequence = -1,
            IsTransactional = true,
            IsControl = true,
        }.Append(timestampMs, key, value).Build();
    }

    /// <summary>
    /// Reads the marker of a control batch (one whole batch). False when the batch is not a control batch, is compressed or
    /// malformed, or holds a control record of another type (Kafka's LEADER_CHANGE and others are not transaction markers).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> batch, out EndTransactionMarker marker)
    {
        marker = default;
        if (!RecordBatchHeader.TryRead(batch, out RecordBatchHeader header) || !header.IsControl
            || header.Compression != CompressionType.None || header.RecordCount < 1
            || header.BatchLength < RecordBatchLayout.MinBatchLength || header.TotalSize > batch.Length)
        {
            return false;
        }

        if (RecordParser.TryParse(batch[RecordBatchLayout.Records..(int)header.TotalSize], out ParsedRecord record) != RecordParseStatus.Ok
            || record.KeyIsNull || record.Key.Length < KeySize || record.ValueIsNull || record.Value.Length < ValueSize)
        {
            return false;
        }

        short type = BinaryPrimitives.ReadInt16BigEndian(record.Key[2..]);
        if (type is not ((short)ControlRecordType.Abort or (short)ControlRecordType.Commit))
        {
            return false;
        }

        marker = new EndTransactionMarker((ControlRecordType)type, BinaryPrimitives.ReadInt32BigEndian(record.Value[2..]));
        return true;
    }
}
