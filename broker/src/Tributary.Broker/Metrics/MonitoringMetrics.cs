using System.Diagnostics.Metrics;
using System.Globalization;

namespace Tributary.Broker.Metrics;

/// <summary>Which purgatory a waiting request sits in (Kafka's <c>delayedOperation</c> label values).</summary>
public enum DelayedOperation
{
    /// <summary>An acks=all produce waiting for its in-sync replicas.</summary>
    Produce,

    /// <summary>A fetch long-polling for data (consumers) or appends (followers).</summary>
    Fetch,
}

/// <summary>
/// The metrics that alerting and dashboards need beyond <see cref="BrokerMetrics"/>' core set: at-min-ISR, fenced brokers,
/// ISR shrinks/expands, leader elections, purgatory sizes, per-partition offsets, log-dir space, metadata quorum state,
/// committed offsets and group lag sums, open file descriptors. They live on the broker's meter.
/// </summary>
/// <remarks>Counters are observed (not pushed), so they are exported as 0 before the first event and a query over them
/// has a series from the start.</remarks>
public sealed class MonitoringMetrics
{
    private long _isrShrinks;
    private long _isrExpands;
    private long _leaderElections;
    private volatile IMonitoringMetricsSource? _source;
    private volatile IConsumerGroupOffsetSource? _offsets;
    private long _produceWaiters;
    private long _fetchWaiters;

    internal MonitoringMetrics(Meter meter)
    {
        meter.CreateObservableCounter(MonitoringMetricNames.IsrShrinks, () => Volatile.Read(ref _isrShrinks), unit: null,
            description: "ISR shrinks on partitions this broker leads.");
        meter.CreateObservableCounter(MonitoringMetricNames.IsrExpands, () => Volatile.Read(ref _isrExpands), unit: null,
            description: "ISR expansions on partitions this broker leads.");
        meter.CreateObservableCounter(MonitoringMetricNames.LeaderElections, () => Volatile.Read(ref _leaderElections), unit: null,
            description: "Partition leaderships this broker took over; summed over brokers, the cluster's leader elections.");

        Gauge(meter, MonitoringMetricNames.AtMinIsrPartitionCount, "Led partitions whose ISR size equals min.insync.replicas.", s => s.AtMinIsrPartitions);
        Gauge(meter, MonitoringMetricNames.FencedBrokerCount, "Registered brokers that are fenced (active controller only).", s => s.FencedBrokerCount);
        meter.CreateObservableGauge(MonitoringMetricNames.PurgatorySize, ObservePurgatories, unit: null,
            description: "Requests waiting: Produce = acks=all waits for the ISR, Fetch = long polls.");
        meter.CreateObservableGauge(MonitoringMetricNames.LogStartOffset, () => ObserveOffsets(start: true), unit: null,
            description: "First offset of each local partition replica's log.");
        meter.CreateObservableGauge(MonitoringMetricNames.LogEndOffset, () => ObserveOffsets(start: false), unit: null,
            description: "Log end offset of each local partition replica.");
        meter.CreateObservableGauge(MonitoringMetricNames.LogDirFreeBytes, () => ObserveLogDirs(free: true), unit: null,
            description: "Free bytes on the file system of each log directory.");
        meter.CreateObservableGauge(MonitoringMetricNames.LogDirTotalBytes, () => ObserveLogDirs(free: false), unit: null,
            description: "Size of the file system of each log directory.");
        meter.CreateObservableGauge(MonitoringMetricNames.RaftCurrentLeader, () => ObserveQuorum(q => q.LeaderId), unit: null,
            description: "Metadata quorum leader (active controller) as this node knows it, -1 if none.");
        meter.CreateObservableGauge(MonitoringMetricNames.RaftCurrentEpoch, () => ObserveQuorum(q => q.Epoch), unit: null,
            description: "Metadata quorum epoch (one more per election).");
        meter.CreateObservableGauge(MonitoringMetricNames.RaftHighWatermark, () => ObserveQuorum(q => q.HighWatermark), unit: null,
            description: "Metadata log high watermark as this node knows it.");
        meter.CreateObservableGauge(MonitoringMetricNames.RaftVoterLag, ObserveVoterLags, unit: null,
            description: "Quorum leader only: metadata records each voter is behind the leader's log end.");
        meter.CreateObservableGauge(MonitoringMetricNames.ConsumerGroupCurrentOffset, ObserveCommittedOffsets, unit: null,
            description: "Committed offset per consumer group and partition (kafka-exporter's name).");
        meter.CreateObservableGauge(MonitoringMetricNames.ConsumerGroupLagSum, ObserveLagSums, unit: null,
            description: "Lag summed over a consumer group's partitions of one topic (kafka-exporter's name).");
        meter.CreateObservableGauge(MonitoringMetricNames.ProcessOpenFds, ObserveOpenFds, unit: null,
            description: "Open file descriptors of this process.");
        meter.CreateObservableGauge(MonitoringMetricNames.ProcessMaxFds, ObserveMaxFds, unit: null,
            description: "Open-file limit of this process.");
    }

    /// <summary>Starts reporting the gauges from <paramref name="source"/>.</summary>
    public void AttachSource(IMonitoringMetricsSource source) => _source = source ?? throw new ArgumentNullException(nameof(source));

    /// <summary>Starts reporting committed offsets and lag sums from <paramref name="source"/>.</summary>
    public void AttachOffsetSource(IConsumerGroupOffsetSource source) => _offsets = source ?? throw new ArgumentNullException(nameof(source));

    /// <summary>Stops reporting source-backed gauges (shutdown).</summary>
    public void Detach()
    {
        _source = null;
        _offsets = null;
    }

    public void RecordIsrShrink() => Interlocked.Increment(ref _isrShrinks);

    public void RecordIsrExpand() => Interlocked.Increment(ref _isrExpands);

    public void RecordLeaderElection() => Interlocked.Increment(ref _leaderElections);

    /// <summary>Counts a request in <paramref name="operation"/>'s purgatory until the returned scope is disposed.</summary>
    public PurgatoryScope EnterPurgatory(DelayedOperation operation)
    {
        Interlocked.Increment(ref Waiters(operation));
        return new PurgatoryScope(this, operation);
    }

    private ref long Waiters(DelayedOperation operation)
    {
        if (operation == DelayedOperation.Produce)
        {
            return ref _produceWaiters;
        }

        return ref _fetchWaiters;
    }

    private void Leave(DelayedOperation operation) => Interlocked.Decrement(ref Waiters(operation));

    /// <summary>One request's stay in a purgatory; dispose once it stops waiting.</summary>
    public readonly struct PurgatoryScope : IDisposable
    {
        private readonly MonitoringMetrics? _owner;
        private readonly DelayedOperation _operation;

        internal PurgatoryScope(MonitoringMetrics owner, DelayedOperation operation)
        {
            _owner = owner;
            _operation = operation;
        }

        public void Dispose() => _owner?.Leave(_operation);
    }

    private void Gauge(Meter meter, string name, string description, Func<IMonitoringMetricsSource, int> read) =>
        meter.CreateObservableGauge(name, () => _source is { } s ? [new Measurement<int>(read(s))] : Array.Empty<Measurement<int>>(),
            unit: null, description: description);

    private IEnumerable<Measurement<long>> ObservePurgatories()
    {
        yield return new Measurement<long>(Volatile.Read(ref _produceWaiters), new KeyValuePair<string, object?>("delayedOperation", "Produce"));
        yield return new Measurement<long>(Volatile.Read(ref _fetchWaiters), new KeyValuePair<string, object?>("delayedOperation", "Fetch"));
    }

    private IEnumerable<Measurement<long>> ObserveOffsets(bool start)
    {
        if (_source is not { } source)
        {
            yield break;
        }

        foreach (var (topic, partition, logStart, logEnd) in source.LogOffsets())
        {
            yield return new Measurement<long>(start ? logStart : logEnd,
                new KeyValuePair<string, object?>("topic", topic),
                new KeyValuePair<string, object?>("partition", partition.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private IEnumerable<Measurement<long>> ObserveLogDirs(bool free)
    {
        if (_source is not { } source)
        {
            yield break;
        }

        foreach (var directory in source.LogDirs)
        {
            long bytes;
            try
            {
                // statvfs of the directory itself, so a log dir on its own mount reports that mount.
                var drive = new DriveInfo(Path.GetFullPath(directory));
                bytes = free ? drive.AvailableFreeSpace : drive.TotalSize;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                continue; // a directory that vanished or can't be read has no figure; the broker's own errors report it
            }

            yield return new Measurement<long>(bytes, new KeyValuePair<string, object?>("logdir", directory));
        }
    }

    private IEnumerable<Measurement<long>> ObserveQuorum(Func<Metadata.QuorumDescription, long> read)
    {
        if (_source is not { } source)
        {
            yield break;
        }

        var quorum = source.Quorum();
        if (quorum.Epoch >= 0)
        {
            yield return new Measurement<long>(read(quorum));
        }
    }

    private IEnumerable<Measurement<long>> ObserveVoterLags()
    {
        if (_source is not { } source)
        {
            yield break;
        }

        var quorum = source.Quorum();
        if (quorum.LeaderId != source.NodeId || quorum.Voters.Count == 0)
        {
            yield break;
        }

        var leaderEnd = quorum.Voters.Max(v => v.LogEndOffset);
        foreach (var voter in quorum.Voters)
        {
            if (voter.LogEndOffset >= 0)
            {
                yield return new Measurement<long>(Math.Max(0, leaderEnd - voter.LogEndOffset),
                    new KeyValuePair<string, object?>("voter", voter.ReplicaId.ToString(CultureInfo.InvariantCulture)));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveCommittedOffsets()
    {
        if (_offsets is not { } source)
        {
            yield break;
        }

        foreach (var (group, topic, partition, committed, _) in source.ConsumerGroupOffsets())
        {
            yield return new Measurement<long>(committed,
                new KeyValuePair<string, object?>("consumergroup", group),
                new KeyValuePair<string, object?>("topic", topic),
                new KeyValuePair<string, object?>("partition", partition.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private IEnumerable<Measurement<long>> ObserveLagSums()
    {
        if (_offsets is not { } source)
        {
            return [];
        }

        return source.ConsumerGroupOffsets()
            .GroupBy(o => (o.Group, o.Topic))
            .Select(g => new Measurement<long>(g.Sum(o => o.Lag),
                new KeyValuePair<string, object?>("consumergroup", g.Key.Group),
                new KeyValuePair<string, object?>("topic", g.Key.Topic)))
            .ToList();
    }

    private static IEnumerable<Measurement<long>> ObserveOpenFds()
    {
        long count;
        try
        {
            count = Directory.EnumerateFileSystemEntries("/proc/self/fd").LongCount();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            yield break; // not Linux (no /proc): no figure
        }

        yield return new Measurement<long>(count);
    }

    // Read once: the soft limit does not change while the process runs unless it calls setrlimit, which the broker doesn't.
    private readonly Lazy<long?> _maxFds = new(() => FileLimitCheck.ReadSoftLimit());

    private IEnumerable<Measurement<long>> ObserveMaxFds()
    {
        if (_maxFds.Value is { } limit)
        {
            yield return new Measurement<long>(limit);
        }
    }
}
