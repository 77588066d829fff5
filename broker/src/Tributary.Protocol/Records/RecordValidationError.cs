namespace Tributary.Protocol.Records;

/// <summary>Why a produced record set was rejected; see <see cref="RecordValidationErrors.ToErrorCode"/> for the Kafka code.</summary>
public enum RecordValidationError
{
    None,

    /// <summary>Truncated batch, impossible length or CRC mismatch.</summary>
    CorruptMessage,

    /// <summary>Structurally valid batch with inconsistent contents (counts, offset deltas, record framing, empty set).</summary>
    InvalidRecord,

    /// <summary>A batch is larger than the allowed maximum (max.message.bytes).</summary>
    RecordTooLarge,

    /// <summary>A batch is not magic 2; Tributary neither stores nor up-converts message formats v0/v1.</summary>
    UnsupportedMagic,

    /// <summary>A CreateTime timestamp is further from the broker clock than allowed.</summary>
    InvalidTimestamp,

    /// <summary>The compression attribute names no known codec.</summary>
    UnsupportedCompression,
}

/// <summary>Maps validation errors onto Kafka protocol error codes.</summary>
public static class RecordValidationErrors
{
    public static ErrorCode ToErrorCode(this RecordValidationError error) => error switch
    {
        RecordValidationError.None => ErrorCode.None,
        RecordValidationError.CorruptMessage => ErrorCode.CorruptMessage,
        RecordValidationError.InvalidRecord => ErrorCode.InvalidRecord,
        RecordValidationError.RecordTooLarge => ErrorCode.MessageTooLarge,
        // Kafka rejects magic < 2 in produce v3+ with InvalidRecordException.
        RecordValidationError.UnsupportedMagic => ErrorCode.InvalidRecord,
        RecordValidationError.InvalidTimestamp => ErrorCode.InvalidTimestamp,
        RecordValidationError.UnsupportedCompression => ErrorCode.UnsupportedCompressionType,
        _ => ErrorCode.UnknownServerError,
    };
}

/// <summary>What <see cref="RecordBatchValidator.ValidateProduce"/> learned about a record set.</summary>
public readonly record struct ProduceValidation
{
    public int BatchCount { get; init; }

    /// <summary>Sum of recordCount over all batches: the number of offsets the append will consume.</summary>
    public int RecordCount { get; init; }

    public int TotalBytes { get; init; }

    /// <summary>Largest batch maxTimestamp (for uncompressed batches the largest record timestamp); -1 if none.</summary>
    public long MaxTimestamp { get; init; }

    public long FirstProducerId { get; init; }
    public short FirstProducerEpoch { get; init; }
    public int FirstBaseSequence { get; init; }
    public bool HasTransactional { get; init; }
    public bool HasControl { get; init; }

    /// <summary>Index of the batch that failed, -1 when valid.</summary>
    public int ErrorBatchIndex { get; init; }

    /// <summary>Human-readable reason (a constant string, suitable for a produce response's error message), null when valid.</summary>
    public string? ErrorMessage { get; init; }
}
