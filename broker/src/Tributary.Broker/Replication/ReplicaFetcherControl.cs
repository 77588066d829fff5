using Tributary.Broker.Metadata;
using Tributary.Broker.Replication.Fetcher;

namespace Tributary.Broker.Replication;

/// <summary>The replica manager's <see cref="IReplicaFetchControl"/> over this broker's <see cref="ReplicaFetcherManager"/>.</summary>
public sealed class ReplicaFetcherControl(ReplicaFetcherManager fetchers) : IReplicaFetchControl
{
    public void StartFetching(Partition partition, BrokerRegistration leader) =>
        fetchers.SetLeader(new FollowerReplica(partition), leader.NodeId, leader.Host, leader.Port);

    public void StopFetching(Partition partition) => fetchers.Remove(partition.Topic, partition.Index);
}
