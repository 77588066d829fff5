using Tributary.Broker.Config;
using Tributary.Broker.Metadata;
using Tributary.Broker.Metrics;

namespace Tributary.Broker;

/// <summary>What the <see cref="MonitoringMetrics"/> read from this broker, and the ISR/leadership changes it counts from metadata images.</summary>
public sealed partial class BrokerServer : IMonitoringMetricsSource
{
    private readonly Lock _monitoringGate = new();
    private MetadataImage? _countedImage;

    int IMonitoringMetricsSource.NodeId => Config.NodeId;

    int IMonitoringMetricsSource.AtMinIsrPartitions =>
        _replicas?.Partitions.Count(p => p.IsLeader && p.Image.Isr.Length == p.MinInsyncReplicas) ?? 0;

    int IMonitoringMetricsSource.FencedBrokerCount => IsActiveController ? _loader?.Current.Brokers.Values.Count(b => b.Fenced) ?? 0 : 0;

    IReadOnlyList<string> IMonitoringMetricsSource.LogDirs => _logs is null ? [] : Config.LogDirs;

    IEnumerable<(string Topic, int Partition, long LogStartOffset, long LogEndOffset)> IMonitoringMetricsSource.LogOffsets() =>
        _replicas?.Partitions.Select(p => (p.Topic, p.Index, p.Log.LogStartOffset, p.Log.LogEndOffset)) ?? [];

    QuorumDescription IMonitoringMetricsSource.Quorum() => DescribeQuorum();

    /// <summary>Starts the monitoring gauges and counts ISR and leadership changes in images published from now on.</summary>
    /// <remarks>Images replayed before this (start-up catch-up) are not counted: they describe changes that already happened.</remarks>
    private void AttachMonitoring(MetadataLoader loader, Groups.ConsumerGroupLag? offsets)
    {
        Metrics.Monitoring.AttachSource(this);
        if (offsets is not null)
        {
            Metrics.Monitoring.AttachOffsetSource(offsets);
        }

        if (!Config.ProcessRoles.HasFlag(ProcessRoles.Broker))
        {
            return;
        }

        lock (_monitoringGate)
        {
            _countedImage = loader.Current;
        }

        loader.AddPublisher(_partitionChangeCounter ??= new PartitionChangeCounter(this));
    }

    private PartitionChangeCounter? _partitionChangeCounter;

    /// <summary>Counts ISR and leadership changes from each published image.</summary>
    private sealed class PartitionChangeCounter(BrokerServer server) : IMetadataPublisher
    {
        public string Name => "PartitionChangeMetrics";

        public void OnMetadataUpdate(MetadataDelta delta, MetadataImage newImage) => server.CountPartitionChanges(newImage);
    }

    /// <summary>
    /// Counts, on the partition's (new) leader only, so that a sum over brokers counts each event once: a leader election
    /// when this broker took over leadership, an ISR shrink when members left the ISR, an expand when members joined.
    /// </summary>
    private void CountPartitionChanges(MetadataImage image)
    {
        MetadataImage? previous;
        lock (_monitoringGate)
        {
            previous = _countedImage;
            _countedImage = image;
        }

        if (previous is null || ReferenceEquals(previous, image))
        {
            return;
        }

        var self = Config.NodeId;
        foreach (var (name, topic) in image.Topics)
        {
            if (!previous.Topics.TryGetValue(name, out var before) || ReferenceEquals(before, topic) || before.Id != topic.Id)
            {
                continue; // new or recreated topics start with their first leader: no election
            }

            foreach (var partition in topic.Partitions)
            {
                if (partition.Leader != self || partition.Partition >= before.Partitions.Length)
                {
                    continue;
                }

                var old = before.Partitions[partition.Partition];
                if (old.Leader != self)
                {
                    Metrics.Monitoring.RecordLeaderElection();
                }

                if (old.Isr.Any(r => !partition.Isr.Contains(r)))
                {
                    Metrics.Monitoring.RecordIsrShrink();
                }

                if (partition.Isr.Any(r => !old.Isr.Contains(r)))
                {
                    Metrics.Monitoring.RecordIsrExpand();
                }
            }
        }
    }

    private void DetachMonitoring()
    {
        Metrics.Monitoring.Detach();
        if (_loader is { } loader && _partitionChangeCounter is { } counter)
        {
            loader.RemovePublisher(counter);
        }
    }
}
