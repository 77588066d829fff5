using Tributary.Broker.Config;

namespace Tributary.Broker.Transactions;

/// <summary>The transaction coordinator's settings (Kafka's broker keys).</summary>
public sealed record TransactionCoordinatorOptions
{
    /// <summary>transaction.max.timeout.ms: the largest transaction.timeout.ms a producer may ask for.</summary>
    public int MaxTransactionTimeoutMs { get; init; } = 900_000;

    /// <summary>transaction.abort.timed.out.transaction.cleanup.interval.ms: how often timed-out transactions are aborted.</summary>
    public int AbortTimedOutTransactionsIntervalMs { get; init; } = 10_000;

    /// <summary>transactional.id.expiration.ms: an idle transactional id is removed after this long without a transaction.</summary>
    public long TransactionalIdExpirationMs { get; init; } = 604_800_000;

    /// <summary>transaction.remove.expired.transaction.cleanup.interval.ms: how often expired transactional ids are removed.</summary>
    public long RemoveExpiredTransactionalIdsIntervalMs { get; init; } = 3_600_000;

    /// <summary>How long a write to <c>__transaction_state</c> waits for its in-sync replicas (Kafka: request.timeout.ms of the append).</summary>
    public int StateWriteTimeoutMs { get; init; } = 5_000;

    /// <summary>Wait before retrying a failed CompleteCommit/CompleteAbort write while still coordinator.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public static TransactionCoordinatorOptions From(BrokerConfig config) => new()
    {
        MaxTransactionTimeoutMs = config.GetInt("transaction.max.timeout.ms"),
        AbortTimedOutTransactionsIntervalMs = config.GetInt("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
        TransactionalIdExpirationMs = config.GetInt("transactional.id.expiration.ms"),
        RemoveExpiredTransactionalIdsIntervalMs = config.GetInt("transaction.remove.expired.transaction.cleanup.interval.ms"),
    };
}
