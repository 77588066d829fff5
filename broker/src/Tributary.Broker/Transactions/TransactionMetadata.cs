namespace Tributary.Broker.Transactions;

/// <summary>
/// One transactional id as its coordinator holds it in memory. Guarded by its own lock; <see cref="Pending"/> is set while a
/// write to <c>__transaction_state</c> is in flight, and every other operation on the id answers CONCURRENT_TRANSACTIONS
/// until that write is applied or failed (Kafka's pendingState).
/// </summary>
internal sealed class TransactionMetadata(string transactionalId, int statePartition)
{
    public string TransactionalId { get; } = transactionalId;

    /// <summary>The <c>__transaction_state</c> partition the id lives in.</summary>
    public int StatePartition { get; } = statePartition;

    public long ProducerId { get; set; } = -1;
    public short ProducerEpoch { get; set; } = -1;
    public long LastProducerId { get; set; } = -1;
    public short LastProducerEpoch { get; set; } = -1;
    public int TimeoutMs { get; set; }
    public TransactionState State { get; set; } = TransactionState.Empty;
    public SortedSet<TopicPartitionKey> Partitions { get; } = [];
    public long StartTimestampMs { get; set; } = -1;
    public long LastUpdateTimestampMs { get; set; } = -1;

    /// <summary>The state being written, if a write is in flight.</summary>
    public TransactionState? Pending { get; set; }

    /// <summary>Set once the id was removed (expired, or its partition unloaded): whoever still holds it must look again.</summary>
    public bool Removed { get; set; }

    public TransactionRecord ToRecord() => new(ProducerId, ProducerEpoch, LastProducerId, LastProducerEpoch, TimeoutMs, State,
        Partitions.ToList(), StartTimestampMs, LastUpdateTimestampMs);

    public void Apply(TransactionRecord record)
    {
        ProducerId = record.ProducerId;
        ProducerEpoch = record.ProducerEpoch;
        LastProducerId = record.LastProducerId;
        LastProducerEpoch = record.LastProducerEpoch;
        TimeoutMs = record.TimeoutMs;
        State = record.State;
        Partitions.Clear();
        Partitions.UnionWith(record.Partitions);
        StartTimestampMs = record.StartTimestampMs;
        LastUpdateTimestampMs = record.LastUpdateTimestampMs;
    }

    /// <summary>Kafka: an epoch this high can't be bumped again; the producer gets a new producer id instead.</summary>
    public static bool IsEpochExhausted(short epoch) => epoch >= short.MaxValue - 1;
}
