using Tributary.Protocol;

namespace Tributary.Broker.Replication;

/// <summary>An ISR change a partition leader asks the active controller for (Kafka's AlterPartition, KIP-497).</summary>
/// <param name="LeaderEpoch">The leader epoch the leader holds; the controller refuses the change when it moved on.</param>
/// <param name="PartitionEpoch">The partition epoch the proposal is based on (stale proposals are refused).</param>
public readonly record struct IsrChangeRequest(Uuid TopicId, int Partition, int LeaderEpoch, int PartitionEpoch, IReadOnlyList<int> NewIsr);

/// <summary>The controller's answer to an <see cref="IsrChangeRequest"/>; the new ISR itself arrives through the metadata log.</summary>
public readonly record struct IsrChangeResult(ErrorCode Error, string? Message = null)
{
    public bool IsOk => Error == ErrorCode.None;
}

/// <summary>
/// How a partition leader sends ISR changes to the active controller. The leader never changes its ISR itself: it proposes,
/// and waits for the change to come back in a metadata image.
/// </summary>
public interface IAlterPartitionSender
{
    /// <summary>Sends one ISR change; throws <see cref="OperationCanceledException"/> or <see cref="IOException"/> when it could not be delivered.</summary>
    Task<IsrChangeResult> SendAsync(IsrChangeRequest request, CancellationToken cancellationToken);
}
