using Tributary.Broker.Metrics;
using Tributary.Broker.Replication;

namespace Tributary.Broker.Groups;

/// <summary>Feeds <c>kafka_consumergroup_lag</c>: high watermark minus committed offset, never negative.</summary>
/// <remarks>
/// Partitions with a replica here use its high watermark; the others use the one their leader last reported
/// (<see cref="RemoteHighWatermarks"/>, refreshed in the background), so every committed partition gets a lag series.
/// </remarks>
public sealed class ConsumerGroupLag : IConsumerGroupLagSource, IConsumerGroupOffsetSource
{
    private readonly GroupCoordinator _coordinator;
    private readonly ReplicaManager _replicas;
    private readonly RemoteHighWatermarks? _remote;

    public ConsumerGroupLag(GroupCoordinator coordinator, ReplicaManager replicas, RemoteHighWatermarks? remote = null)
    {
        _coordinator = coordinator;
        _replicas = replicas;
        _remote = remote;
    }

    /// <summary>Committed partitions this broker hosts no replica of: the ones <see cref="RemoteHighWatermarks"/> asks leaders about.</summary>
    public IEnumerable<(string Topic, int Partition)> RemotePartitions()
    {
        foreach (var (_, topic, partition, offset) in _coordinator.CommittedOffsets())
        {
            if (offset >= 0 && !_replicas.TryGetPartition(topic, partition, out _))
            {
                yield return (topic, partition);
            }
        }
    }

    private bool TryHighWatermark(string topic, int partition, out long highWatermark)
    {
        if (_replicas.TryGetPartition(topic, partition, out var replica))
        {
            highWatermark = replica.HighWatermark;
            return true;
        }

        highWatermark = -1;
        return _remote is not null && _remote.TryGet(topic, partition, out highWatermark);
    }

    public IEnumerable<(string Group, string Topic, int Partition, long Lag)> ConsumerGroupLags()
    {
        foreach (var (group, topic, partition, offset) in _coordinator.CommittedOffsets())
        {
            if (offset >= 0 && TryHighWatermark(topic, partition, out var highWatermark))
            {
                yield return (group, topic, partition, Math.Max(0, highWatermark - offset));
            }
        }
    }

    public IEnumerable<(string Group, string Topic, int Partition, long CommittedOffset, long Lag)> ConsumerGroupOffsets()
    {
        foreach (var (group, topic, partition, offset) in _coordinator.CommittedOffsets())
        {
            if (offset >= 0 && TryHighWatermark(topic, partition, out var highWatermark))
            {
                yield return (group, topic, partition, offset, Math.Max(0, highWatermark - offset));
            }
        }
    }
}
