using Tributary.Broker.Metrics;
using Tributary.Broker.Replication;

namespace Tributary.Broker.Groups;

/// <summary>Feeds <c>kafka_consumergroup_lag</c>: high watermark minus committed offset, never negative.</summary>
public sealed class ConsumerGroupLag : IConsumerGroupLagSource, IConsumerGroupOffsetSource
{
    private readonly GroupCoordinator _coordinator;
    private readonly ReplicaManager _replicas;

    public ConsumerGroupLag(GroupCoordinator coordinator, ReplicaManager replicas)
    {
        _coordinator = coordinator;
        _replicas = replicas;
    }

    public IEnumerable<(string Group, string Topic, int Partition, long Lag)> ConsumerGroupLags()
    {
        foreach (var (group, topic, partition, offset) in _coordinator.CommittedOffsets())
        {
            if (offset >= 0 && _replicas.TryGetPartition(topic, partition, out var replica))
            {
                yield return (group, topic, partition, Math.Max(0, replica.HighWatermark - offset));
            }
        }
    }

    public IEnumerable<(string Group, string Topic, int Partition, long CommittedOffset, long Lag)> ConsumerGroupOffsets()
    {
        foreach (var (group, topic, partition, offset) in _coordinator.CommittedOffsets())
        {
            if (offset >= 0 && _replicas.TryGetPartition(topic, partition, out var replica))
            {
                yield return (group, topic, partition, offset, Math.Max(0, replica.HighWatermark - offset));
            }
        }
    }
}
