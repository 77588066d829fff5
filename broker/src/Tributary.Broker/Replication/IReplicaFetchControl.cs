using Tributary.Broker.Metadata;

namespace Tributary.Broker.Replication;

/// <summary>
/// The replica fetchers as the replica manager drives them: a replica this broker follows is fetched from its leader
/// until it stops following it. After <see cref="StopFetching"/> returns, no fetch result for the partition's previous
/// assignment is applied.
/// </summary>
public interface IReplicaFetchControl
{
    /// <summary>Start (or move) fetching <paramref name="partition"/> from <paramref name="leader"/>.</summary>
    void StartFetching(Partition partition, BrokerRegistration leader);

    /// <summary>Stop fetching <paramref name="partition"/> (it leads now, went offline, or was deleted).</summary>
    void StopFetching(Partition partition);
}
