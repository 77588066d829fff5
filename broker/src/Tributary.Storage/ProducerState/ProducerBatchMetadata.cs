namespace Tributary.Storage;

/// <summary>What the producer state remembers of one appended batch of an idempotent producer.</summary>
/// <param name="FirstSequence">the batch's baseSequence.</param>
/// <param name="LastSequence">baseSequence + lastOffsetDelta, wrapping past int.MaxValue to 0 as Kafka's sequences do.</param>
/// <param name="FirstOffset">offset assigned to the batch's first record.</param>
/// <param name="LastOffset">offset assigned to the batch's last record.</param>
/// <param name="Timestamp">the batch's maxTimestamp as stored (the broker time under LogAppendTime).</param>
public readonly record struct ProducerBatchMetadata(int FirstSequence, int LastSequence, long FirstOffset, long LastOffset, long Timestamp);

/// <summary>A read-only copy of what one partition knows about one producer.</summary>
/// <param name="ProducerId">the producer id.</param>
/// <param name="ProducerEpoch">the latest epoch appended by this producer.</param>
/// <param name="LastTimestamp">maxTimestamp of the producer's latest batch (expiry is measured from it).</param>
/// <param name="Batches">the producer's latest batches of <paramref name="ProducerEpoch"/>, oldest first, at most
/// <see cref="ProducerStateTable.RetainedBatchesPerProducer"/>.</param>
/// <param name="CoordinatorEpoch">coordinator epoch of the producer's latest transaction marker, -1 before any.</param>
/// <param name="CurrentTxnStartOffset">first offset of the producer's open transaction in this partition, -1 when none.</param>
public sealed record ProducerStateView(long ProducerId, short ProducerEpoch, long LastTimestamp, IReadOnlyList<ProducerBatchMetadata> Batches,
    int CoordinatorEpoch = -1, long CurrentTxnStartOffset = -1)
{
    /// <summary>Sequence of the last record appended, -1 if no batch of the current epoch is known.</summary>
    public int LastSequence => Batches.Count == 0 ? -1 : Batches[^1].LastSequence;
}
