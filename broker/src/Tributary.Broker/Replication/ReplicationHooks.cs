using Tributary.Broker.Metadata;

namespace Tributary.Broker.Replication;

/// <summary>
/// What the replica manager needs from the rest of the broker to replicate: start/stop following a leader (the replica
/// fetchers), ask the controller for ISR changes (AlterPartition) and this broker's current epoch. A lone broker
/// without a cluster uses <see cref="None"/>.
/// </summary>
public sealed class ReplicationHooks
{
    public static readonly ReplicationHooks None = new();

    /// <summary>Start (or move) fetching this partition from <c>leader</c>.</summary>
    public Action<Partition, BrokerRegistration> FollowLeader { get; init; } = (_, _) => { };

    /// <summary>Stop fetching this partition (it leads now, went offline, or was deleted).</summary>
    public Action<Partition> StopFollowing { get; init; } = _ => { };

    /// <summary>Sends an AlterPartition to the active controller; null when there is none to ask.</summary>
    public Func<AlterPartitionCommand, CancellationToken, Task<AlterPartitionReply>>? AlterPartition { get; init; }

    /// <summary>This broker's epoch from its latest registration (-1 before it registered).</summary>
    public Func<long> BrokerEpoch { get; init; } = () => -1;
}
