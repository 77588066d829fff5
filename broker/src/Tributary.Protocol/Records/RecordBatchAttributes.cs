namespace Tributary.Protocol.Records;

/// <summary>Compression codec of a record batch: bits 0-2 of the batch attributes.</summary>
public enum CompressionType : byte
{
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

/// <summary>Which clock the batch timestamps come from: bit 3 of the batch attributes.</summary>
public enum TimestampType : byte
{
    /// <summary>Timestamps set by the producer.</summary>
    CreateTime = 0,

    /// <summary>The broker overwrote maxTimestamp with its append time; every record's timestamp reads as maxTimestamp.</summary>
    LogAppendTime = 1,
}

/// <summary>Bit masks of the int16 attributes field of record batch v2.</summary>
public static class RecordBatchAttributeBits
{
    public const short CompressionMask = 0x07;
    public const short TimestampTypeLogAppendTime = 0x08;
    public const short Transactional = 0x10;
    public const short Control = 0x20;

    /// <summary>KIP-534: baseTimestamp holds the delete horizon of a compacted batch.</summary>
    public const short DeleteHorizon = 0x40;
}
