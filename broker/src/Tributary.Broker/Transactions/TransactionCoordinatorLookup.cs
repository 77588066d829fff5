using Tributary.Protocol;

namespace Tributary.Broker.Transactions;

/// <summary>FindCoordinator key type 1: the coordinator of a transactional id is the leader of its <c>__transaction_state</c> partition.</summary>
public static class TransactionCoordinatorLookup
{
    /// <summary>How long FindCoordinator waits for <c>__transaction_state</c> to be created before answering COORDINATOR_NOT_AVAILABLE.</summary>
    private static readonly TimeSpan CreateWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Creates <c>__transaction_state</c> on first use (bounded wait; it goes on in the background and a retry joins it), then
    /// answers its partition's leader. COORDINATOR_NOT_AVAILABLE (retried by clients) while there is none.
    /// </summary>
    public static async Task<(ErrorCode Error, string? Message, BrokerRegistration? Node)> FindAsync(BrokerContext broker, string? transactionalId,
        CancellationToken cancellation)
    {
        if (string.IsNullOrEmpty(transactionalId))
        {
            return (ErrorCode.InvalidRequest, "The transactional id must not be empty.", null);
        }

        var coordinator = broker.Transactions;
        if (coordinator is null)
        {
            return (ErrorCode.CoordinatorNotAvailable, "This broker runs no transaction coordinator.", null);
        }

        if (!broker.Image.Topics.ContainsKey(TransactionStateTopic.Name))
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            bounded.CancelAfter(CreateWait);
            if (await coordinator.EnsureStateTopicAsync(bounded.Token).ConfigureAwait(false) != ErrorCode.None)
            {
                return (ErrorCode.CoordinatorNotAvailable, "The coordinator is not available.", null);
            }
        }

        var image = broker.Image;
        var partition = coordinator.PartitionFor(transactionalId);
        var leader = image.Topics.TryGetValue(TransactionStateTopic.Name, out var topic) && partition < topic.Partitions.Length
            ? topic.Partitions[partition].Leader
            : -1;
        if (leader < 0 || !image.Brokers.TryGetValue(leader, out var node))
        {
            return (ErrorCode.CoordinatorNotAvailable, "The coordinator is not available.", null);
        }

        return (ErrorCode.None, null, node);
    }
}
