using Tributary.Protocol;

namespace Tributary.Broker.Transactions;

/// <summary>What the coordinator asks every partition of a finished transaction to write: one COMMIT or ABORT marker.</summary>
public sealed record TransactionMarkerRequest(
    string TransactionalId,
    long ProducerId,
    short ProducerEpoch,
    bool Commit,
    int CoordinatorEpoch,
    IReadOnlyList<TopicPartitionKey> Partitions);

/// <summary>
/// Delivers transaction markers to the leaders of a transaction's partitions (WriteTxnMarkers on the wire in the broker,
/// <c>…TestDouble</c> in unit tests). The coordinator's state machine only sees this interface.
/// </summary>
public interface ITransactionMarkerSender
{
    /// <summary>
    /// Completes with NONE once every partition's leader acknowledged its marker (a partition whose topic no longer exists
    /// counts as done, as in Kafka), retrying leader moves and retriable errors meanwhile; with TRANSACTION_COORDINATOR_FENCED
    /// when a leader knows a newer coordinator. Cancelled when this broker stops coordinating the transaction.
    /// </summary>
    Task<ErrorCode> SendAsync(TransactionMarkerRequest request, CancellationToken cancellation);
}
