using System.Diagnostics.Metrics;
using System.Globalization;

namespace Tributary.Broker.Metrics;

/// <summary>The broker's metrics on the "Tributary.Broker" meter: counters and latencies pushed by request handling, gauges pulled from an <see cref="IBrokerMetricsSource"/>.</summary>
/// <remarks>
/// Recording is allocation-free (one tag, passed as a struct); gauges are only reported once a source is attached, so a
/// broker that is still starting does not claim e.g. "0 active controllers" and trip alerts.
/// Create it through DI (<see cref="IMeterFactory"/>) so that several brokers in one process keep separate meters.
/// </remarks>
public sealed class BrokerMetrics : IDisposable
{
    /// <summary>Meter name to pass to OpenTelemetry's AddMeter.</summary>
    public const string MeterName = "Tributary.Broker";

    // Request latencies span sub-millisecond ApiVersions to long-polling Fetch (fetch.max.wait.ms, default 500 ms)
    // and JoinGroup waits of many seconds; the default OpenTelemetry buckets start at 5 ms and are too coarse.
    private static readonly double[] LatencyBucketsMs =
        [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

    private readonly bool _ownsMeter;
    private readonly Counter<long> _messagesIn;
    private readonly Counter<long> _bytesIn;
    private readonly Counter<long> _bytesOut;
    private readonly Histogram<double> _requestTime;
    private volatile IBrokerMetricsSource? _source;
    private volatile IConsumerGroupLagSource? _lagSource;

    /// <summary>Creates metrics on a meter of its own (tests, tools); the meter is disposed with this object.</summary>
    public BrokerMetrics()
        : this(new Meter(MeterName), ownsMeter: true)
    {
    }

    /// <summary>Creates metrics on a meter from <paramref name="meterFactory"/> (the host's DI container), which owns its lifetime.</summary>
    public BrokerMetrics(IMeterFactory meterFactory)
        : this((meterFactory ?? throw new ArgumentNullException(nameof(meterFactory))).Create(MeterName), ownsMeter: false)
    {
    }

    private BrokerMetrics(Meter meter, bool ownsMeter)
    {
        Meter = meter;
        _ownsMeter = ownsMeter;

        _messagesIn = meter.CreateCounter<long>(BrokerMetricNames.MessagesIn, description: "Records appended by produce requests, per topic.");
        _bytesIn = meter.CreateCounter<long>(BrokerMetricNames.BytesIn, description: "Bytes received from produce requests, per topic.");
        _bytesOut = meter.CreateCounter<long>(BrokerMetricNames.BytesOut, description: "Bytes sent in fetch responses, per topic.");
        _requestTime = meter.CreateHistogram(
            BrokerMetricNames.RequestTotalTimeMs,
            unit: null,
            description: "Time from request received to response sent, in milliseconds, per Kafka API.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBucketsMs });

        Gauge(BrokerMetricNames.PartitionCount, "Partition replicas hosted by this broker.", s => s.PartitionCount);
        Gauge(BrokerMetricNames.LeaderCount, "Partitions this broker leads.", s => s.LeaderCount);
        Gauge(BrokerMetricNames.UnderReplicatedPartitions, "Led partitions whose ISR is smaller than the replica set.", s => s.UnderReplicatedPartitions);
        Gauge(BrokerMetricNames.UnderMinIsrPartitionCount, "Led partitions whose ISR is below min.insync.replicas.", s => s.UnderMinIsrPartitions);
        Gauge(BrokerMetricNames.OfflinePartitionsCount, "Partitions without a live leader (reported by the active controller).", s => s.OfflinePartitions);
        Gauge(BrokerMetricNames.ActiveControllerCount, "1 on the active controller, 0 elsewhere.", s => s.IsActiveController ? 1 : 0);
        Gauge(BrokerMetricNames.ActiveBrokerCount, "Brokers registered and unfenced, as seen by this node.", s => s.ActiveBrokerCount);
        meter.CreateObservableGauge(BrokerMetricNames.LogSize, ObserveLogSizes, unit: null, description: "Bytes on disk per partition replica.");

        meter.CreateObservableGauge(BrokerMetricNames.MemoryPoolAvailable,
            () => _requestMemoryAvailable is { } read ? [new Measurement<long>(read())] : Array.Empty<Measurement<long>>(),
            unit: null, description: "Request frame bytes that may still be read before connections wait (queued.max.request.bytes).");
        meter.CreateObservableGauge(BrokerMetricNames.ConsumerGroupLag, ObserveConsumerGroupLags, unit: null,
            description: "Committed offset behind the high watermark, per consumer group and partition (kafka-exporter's name).");
        Monitoring = new MonitoringMetrics(meter);
        LogCleaner = new LogCleanerMetrics(meter);
        FetchSessions = new FetchSessionMetrics(meter);
        ProduceStages = new ProduceStageMetrics(meter);
    }

    /// <summary>Incremental fetch sessions (kafka_server_fetchsessioncache_*) and follower fetch counters.</summary>
    public FetchSessionMetrics FetchSessions { get; }

    /// <summary>Per-stage produce latencies (tributary_produce_stage_seconds{stage}).</summary>
    public ProduceStageMetrics ProduceStages { get; }

    /// <summary>Kafka's log cleaner gauges (kafka_log_logcleaner_*, kafka_log_logcleanermanager_*).</summary>
    public LogCleanerMetrics LogCleaner { get; }

    /// <summary>The meter all instruments live on.</summary>
    public Meter Meter { get; }

    /// <summary>The metrics alerting and dashboards read beyond this core set (purgatories, ISR changes, offsets, quorum, …).</summary>
    public MonitoringMetrics Monitoring { get; }

    /// <summary>Reports <see cref="BrokerMetricNames.MemoryPoolAvailable"/> from <paramref name="availableBytes"/>.</summary>
    public void AttachRequestMemory(Func<long> availableBytes) => _requestMemoryAvailable = availableBytes;

    private volatile Func<long>? _requestMemoryAvailable;

    /// <summary>Starts reporting gauges from <paramref name="source"/>; attaching again replaces the previous source.</summary>
    public void AttachSource(IBrokerMetricsSource source) => _source = source ?? throw new ArgumentNullException(nameof(source));

    /// <summary>Stops reporting gauges (e.g. while shutting down).</summary>
    public void DetachSource() => _source = null;

    /// <summary>Starts reporting <c>kafka_consumergroup_lag</c> from <paramref name="source"/> (the group coordinator's view).</summary>
    public void AttachConsumerGroupLagSource(IConsumerGroupLagSource source) => _lagSource = source ?? throw new ArgumentNullException(nameof(source));

    /// <summary>Stops reporting consumer lag.</summary>
    public void DetachConsumerGroupLagSource() => _lagSource = null;

    public void RecordMessagesIn(string topic, long count) => _messagesIn.Add(count, new KeyValuePair<string, object?>("topic", topic));

    public void RecordBytesIn(string topic, long bytes) => _bytesIn.Add(bytes, new KeyValuePair<string, object?>("topic", topic));

    public void RecordBytesOut(string topic, long bytes) => _bytesOut.Add(bytes, new KeyValuePair<string, object?>("topic", topic));

    /// <summary>Records one request's total time; <paramref name="apiName"/> is Kafka's API name (Produce, Fetch, Metadata, …).</summary>
    public void RecordRequest(string apiName, double milliseconds) =>
        _requestTime.Record(milliseconds, new KeyValuePair<string, object?>("request", apiName));

    public void Dispose()
    {
        _source = null;
        _lagSource = null;
        Monitoring.Detach();
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }

    private void Gauge(string name, string description, Func<IBrokerMetricsSource, int> read) =>
        Meter.CreateObservableGauge(name, () => _source is { } s ? [new Measurement<int>(read(s))] : Array.Empty<Measurement<int>>(),
            unit: null, description: description);

    private IEnumerable<Measurement<long>> ObserveConsumerGroupLags()
    {
        if (_lagSource is not { } source)
        {
            yield break;
        }

        foreach (var (group, topic, partition, lag) in source.ConsumerGroupLags())
        {
            yield return new Measurement<long>(lag,
                new KeyValuePair<string, object?>("consumergroup", group),
                new KeyValuePair<string, object?>("topic", topic),
                new KeyValuePair<string, object?>("partition", partition.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private IEnumerable<Measurement<long>> ObserveLogSizes()
    {
        if (_source is not { } source)
        {
            yield break;
        }

        foreach (var (topic, partition, size) in source.LogSizes())
        {
            yield return new Measurement<long>(size,
                new KeyValuePair<string, object?>("topic", topic),
                new KeyValuePair<string, object?>("partition", partition.ToString(CultureInfo.InvariantCulture)));
        }
    }
}
