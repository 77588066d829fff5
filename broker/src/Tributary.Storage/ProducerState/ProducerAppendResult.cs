namespace Tributary.Storage;

/// <summary>How the producer state judged a leader append; the broker maps it onto a Kafka error code.</summary>
public enum ProducerAppendStatus
{
    /// <summary>Appended: no producer id, or the batch continues its producer's sequence.</summary>
    Appended,

    /// <summary>
    /// The batch repeats one of the producer's last five batches (a retry after a lost response): nothing was appended and the
    /// result carries the original offsets, which Kafka answers with success.
    /// </summary>
    Duplicate,

    /// <summary>The batch's epoch is older than the producer's latest: a zombie (Kafka: INVALID_PRODUCER_EPOCH).</summary>
    InvalidProducerEpoch,

    /// <summary>The batch does not continue its producer's sequence (Kafka: OUT_OF_ORDER_SEQUENCE_NUMBER).</summary>
    OutOfOrderSequence,

    /// <summary>A batch with a producer id but a negative base sequence (Kafka: INVALID_RECORD).</summary>
    InvalidSequence,

    /// <summary>A non-transactional batch from a producer with an open transaction here (Kafka: INVALID_TXN_STATE).</summary>
    InvalidTxnState,

    /// <summary>A transaction marker from a coordinator epoch older than the producer's last marker (Kafka:
    /// TRANSACTION_COORDINATOR_FENCED).</summary>
    TransactionCoordinatorFenced,
}

/// <summary>The producer-state verdict on a leader append.</summary>
/// <param name="Status">appended, duplicate or why it was refused.</param>
/// <param name="Duplicate">for <see cref="ProducerAppendStatus.Duplicate"/>, the batch as first appended.</param>
/// <param name="Message">for refusals, a reason suitable for the produce response's error message.</param>
public readonly record struct ProducerAppendResult(ProducerAppendStatus Status, ProducerBatchMetadata Duplicate = default, string? Message = null)
{
    public static readonly ProducerAppendResult Appended = new(ProducerAppendStatus.Appended);

    public bool IsRefused => Status is not (ProducerAppendStatus.Appended or ProducerAppendStatus.Duplicate);
}

/// <summary>A transaction of one producer completed by a marker in this partition.</summary>
/// <param name="FirstOffset">offset of the transaction's first batch here (the marker's own offset when it had none).</param>
/// <param name="LastOffset">offset of the marker.</param>
/// <param name="IsAborted">the marker was ABORT.</param>
public readonly record struct CompletedTransaction(long ProducerId, long FirstOffset, long LastOffset, bool IsAborted);
