namespace Tributary.Protocol.Records;

/// <summary>Byte offsets of the fields of a record batch v2 (magic 2) header; all integers big-endian.</summary>
public static class RecordBatchLayout
{
    public const int BaseOffset = 0;
    public const int BatchLength = 8;
    public const int PartitionLeaderEpoch = 12;
    public const int Magic = 16;
    public const int Crc = 17;
    public const int Attributes = 21;
    public const int LastOffsetDelta = 23;
    public const int BaseTimestamp = 27;
    public const int MaxTimestamp = 35;
    public const int ProducerId = 43;
    public const int ProducerEpoch = 51;
    public const int BaseSequence = 53;
    public const int RecordCount = 57;
    public const int Records = 61;

    /// <summary>Size of the full batch header, the smallest possible batch (zero records).</summary>
    public const int HeaderSize = 61;

    /// <summary>baseOffset + batchLength: the bytes not counted by batchLength.</summary>
    public const int LogOverhead = 12;

    /// <summary>Smallest legal batchLength value (header minus the log overhead).</summary>
    public const int MinBatchLength = HeaderSize - LogOverhead;

    /// <summary>The only message format version Tributary stores and serves.</summary>
    public const byte CurrentMagic = 2;
}
