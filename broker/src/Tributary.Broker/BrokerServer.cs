using System.Collections.Immutable;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Config;
using Tributary.Broker.Metadata;
using Tributary.Broker.Metrics;
using Tributary.Broker.Replication;
using Tributary.Broker.Requests;
using Tributary.Storage;

namespace Tributary.Broker;

/// <summary>
/// The broker's lifetime. Start-up (metadata load, log recovery) runs in the background so the HTTP probes
/// answer at once: <c>/healthz</c> is up while <c>/readyz</c> says "recovering logs" until every log is open.
/// Kafka connections accepted before that wait for readiness. Stop closes the logs cleanly (clean-shutdown
/// marker, so the next start skips recovery).
/// </summary>
public sealed partial class BrokerServer : IHostedLifecycleService, IBrokerMetricsSource
{
    private readonly ILogger _logger;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private Task? _startup;
    private LogManager? _logs;
    private ReplicaManager? _replicas;
    private Groups.GroupCoordinator? _groups;
    private Producers.ProducerExpiry? _producerExpiry;
    private volatile string _notReadyReason = "starting";
    private volatile bool _isReady;

    public BrokerServer(BrokerConfig config, BrokerMetrics metrics, ILoggerFactory loggerFactory, IHostApplicationLifetime? lifetime = null)
    {
        _lifetime = lifetime;
        Config = config;
        Metrics = metrics;
        LoggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Tributary.Broker");
    }

    public BrokerConfig Config { get; }
    public BrokerMetrics Metrics { get; }
    public ILoggerFactory LoggerFactory { get; }
    public bool IsReady => _isReady;
    public string NotReadyReason => _isReady ? "" : _notReadyReason;

    /// <summary>Set once start-up has finished; request handling goes through it.</summary>
    public RequestDispatcher Dispatcher { get; private set; } = null!;

    /// <summary>Cancelled when the broker begins shutting down; long polls and idle connections end with it.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Completes when the broker serves requests; faults if start-up failed.</summary>
    public Task WhenReady => _ready.Task;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _startup = Task.Run(StartUp, CancellationToken.None);
        return Task.CompletedTask;
    }

    private void StartUp()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            _notReadyReason = "loading metadata";
            var store = new MetadataStore(Config.LogDirs[0], LoggerFactory.CreateLogger("Tributary.Metadata"));
            var (clusterId, topics) = store.Load(Config.ClusterId);
            var self = SelfRegistration();
            var image = new MetadataImage(clusterId, Config.NodeId,
                ImmutableDictionary<int, BrokerRegistration>.Empty.Add(self.NodeId, self), topics, 1);

            _notReadyReason = "recovering logs";
            FileLimitCheck.EnsureSufficient(Config.LogDirs, LoggerFactory.CreateLogger("Tributary.FileLimits"));
            var logs = OpenLogs(topics);
            _logs = logs;

            var controller = new ClusterController(store, image, TopicConfigCatalog.Validate, LoggerFactory.CreateLogger("Tributary.Controller"));
            var replicas = new ReplicaManager(Config.NodeId, logs, t => LogConfigFor(t.Configs),
                t => TopicConfigCatalog.Resolve(Config, t.Configs).MinInsyncReplicas, LoggerFactory.CreateLogger("Tributary.Replicas"));
            _replicas = replicas;
            replicas.ApplyImage(image);
            controller.ImagePublished += replicas.ApplyImage;

            _notReadyReason = "loading consumer groups";
            var groups = StartGroupCoordinator(controller, replicas);
            var producerIds = StartProducerIds(controller, replicas);
            var context = new BrokerContext(Config, controller, replicas, logs, Metrics) { Groups = groups, ProducerIds = producerIds };
            Dispatcher = new RequestDispatcher(context);
            Metrics.AttachSource(this);
            Metrics.AttachConsumerGroupLagSource(new Groups.ConsumerGroupLag(groups, replicas));
            _isReady = true;
            _ready.TrySetResult();
            LogReady(_logger, Config.NodeId, clusterId, topics.Count, started.ElapsedMilliseconds);
        }
        catch (Exception e)
        {
            _notReadyReason = "start-up failed: " + e.Message;
            LogStartupFailed(_logger, e);
            _ready.TrySetException(e);
            // Like Kafka, a broker that can't open its logs or metadata exits rather than run half-started.
            Environment.ExitCode = 1;
            _lifetime?.StopApplication();
        }
    }

    /// <summary>Opens (and, after an unclean stop, recovers) every partition log; starts flushing, retention and cleaning.</summary>
    private LogManager OpenLogs(ImmutableSortedDictionary<string, TopicImage> topics) =>
        LogManager.Open(new LogManagerOptions
        {
            LogDirs = Config.LogDirs,
            DefaultConfig = LogConfigFor(ImmutableDictionary<string, string>.Empty),
            TopicConfig = topic => topics.TryGetValue(topic, out var t) ? LogConfigFor(t.Configs) : LogConfigFor(ImmutableDictionary<string, string>.Empty),
            // Kafka's default scheduler interval is "never" (Long.MaxValue); the tick also drives checkpoints, so keep it ≤ 1 s.
            FlushSchedulerIntervalMs = Math.Clamp(Config.LogFlushSchedulerIntervalMs, 10, 1000),
            RetentionCheckIntervalMs = Config.LogRetentionCheckIntervalMs,
            Cleaner = new Storage.Cleaner.LogCleanerOptions
            {
                Enabled = Config.LogCleanerEnable,
                Threads = Config.LogCleanerThreads,
                IoMaxBytesPerSecond = Config.LogCleanerIoMaxBytesPerSecond,
                BackoffMs = Config.LogCleanerBackoffMs,
                DedupeBufferBytes = Config.GetLong("log.cleaner.dedupe.buffer.size"),
            },
        }, LoggerFactory);

    /// <summary>Rebuilds the groups from <c>__consumer_offsets</c> before the broker reports ready, then starts their timers.</summary>
    private Groups.GroupCoordinator StartGroupCoordinator(ClusterController controller, ReplicaManager replicas)
    {
        var logger = LoggerFactory.CreateLogger("Tributary.Groups");
        var groups = new Groups.GroupCoordinator(Groups.GroupCoordinatorOptions.From(Config),
            new Groups.OffsetsTopic(Config, controller, replicas, logger), TimeProvider.System, logger);
        groups.Load();
        groups.Start();
        _groups = groups;
        return groups;
    }

    /// <summary>Producer ids come from persisted controller blocks; idle producers expire from every partition.</summary>
    private Producers.ProducerIdManager StartProducerIds(ClusterController controller, ReplicaManager replicas)
    {
        var logger = LoggerFactory.CreateLogger("Tributary.Producers");
        _producerExpiry = new Producers.ProducerExpiry(() => replicas.Partitions.Select(p => p.Log).ToList(),
            Config.ProducerIdExpirationMs, Config.ProducerIdExpirationCheckIntervalMs, TimeProvider.System, logger);
        _producerExpiry.Start();
        return new Producers.ProducerIdManager(() => controller.AllocateProducerIdBlock(Config.NodeId), logger);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Runs before Kestrel stops: readiness drops and connections (idle ones, long polls) end now, so the listener
    /// shutdown doesn't wait out its timeout. Controlled shutdown (moving leadership away) belongs here too.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _isReady = false;
        _notReadyReason = "shutting down";
        await _stopping.CancelAsync().ConfigureAwait(false);
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _isReady = false;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_startup is not null)
        {
            await _startup.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        Metrics.DetachSource();
        Metrics.DetachConsumerGroupLagSource();
        _groups?.Dispose();
        _producerExpiry?.Dispose();
        _replicas?.Dispose();
        if (_logs is not null)
        {
            _logs.Close();
            LogStopped(_logger, Config.NodeId);
        }
    }

    private BrokerRegistration SelfRegistration()
    {
        var advertised = Config.AdvertisedListeners.FirstOrDefault(l => Config.BrokerListeners.Any(b => b.Name == l.Name))
                         ?? Config.AdvertisedListeners.FirstOrDefault()
                         ?? throw new InvalidOperationException("no advertised listener");
        return new BrokerRegistration(Config.NodeId, advertised.Host, advertised.Port, Config.BrokerRack);
    }

    /// <summary>Maps Kafka's topic configs (overrides over broker defaults) onto the storage layer's typed config.</summary>
    private LogConfig LogConfigFor(IReadOnlyDictionary<string, string> overrides)
    {
        var effective = TopicConfigCatalog.Resolve(Config, overrides);
        return new LogConfig
        {
            SegmentBytes = effective.SegmentBytes,
            SegmentMs = effective.SegmentMs,
            IndexIntervalBytes = effective.IndexIntervalBytes,
            MaxIndexSizeBytes = effective.SegmentIndexBytes,
            FlushIntervalMessages = effective.FlushMessages,
            FlushIntervalMs = effective.FlushMs,
            RetentionMs = effective.RetentionMs,
            RetentionBytes = effective.RetentionBytes,
            CleanupPolicy = (effective.IsCompacted ? CleanupPolicy.Compact : 0) | (effective.IsDeleteRetentionEnabled ? CleanupPolicy.Delete : 0),
            MessageTimestampType = effective.TimestampType == global::Tributary.Broker.Config.MessageTimestampType.LogAppendTime
                ? Storage.MessageTimestampType.LogAppendTime
                : Storage.MessageTimestampType.CreateTime,
            MaxMessageBytes = effective.MaxMessageBytes,
            DeleteRetentionMs = effective.DeleteRetentionMs,
            FileDeleteDelayMs = effective.FileDeleteDelayMs,
            MinCleanableDirtyRatio = effective.MinCleanableDirtyRatio,
            MinCompactionLagMs = effective.MinCompactionLagMs,
            MaxCompactionLagMs = effective.MaxCompactionLagMs,
            SegmentJitterMs = effective.SegmentJitterMs,
        };
    }

    // IBrokerMetricsSource: what the gauges on /metrics read.
    int IBrokerMetricsSource.PartitionCount => _replicas?.Partitions.Count() ?? 0;
    int IBrokerMetricsSource.LeaderCount => _replicas?.Partitions.Count(p => p.Image.Leader == Config.NodeId) ?? 0;
    int IBrokerMetricsSource.UnderReplicatedPartitions =>
        _replicas?.Partitions.Count(p => p.Image.Leader == Config.NodeId && p.Image.Isr.Length < p.Image.Replicas.Length) ?? 0;
    int IBrokerMetricsSource.UnderMinIsrPartitions => 0;
    int IBrokerMetricsSource.OfflinePartitions => _replicas?.Partitions.Count(p => p.Image.IsOffline) ?? 0;
    bool IBrokerMetricsSource.IsActiveController => _isReady;
    int IBrokerMetricsSource.ActiveBrokerCount => _isReady ? 1 : 0;

    IEnumerable<(string Topic, int Partition, long SizeBytes)> IBrokerMetricsSource.LogSizes() =>
        _replicas?.Partitions.Select(p => (p.Topic, p.Index, p.Log.SizeInBytes)) ?? [];

    [LoggerMessage(EventId = 1, EventName = "BrokerReady", Level = LogLevel.Information, Message = "Broker {NodeId} of cluster {ClusterId} ready with {TopicCount} topics after {ElapsedMs} ms")]
    private static partial void LogReady(ILogger logger, int nodeId, string clusterId, int topicCount, long elapsedMs);

    [LoggerMessage(EventId = 2, EventName = "BrokerStartupFailed", Level = LogLevel.Critical, Message = "Broker start-up failed")]
    private static partial void LogStartupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3, EventName = "BrokerStopped", Level = LogLevel.Information, Message = "Broker {NodeId} stopped; logs closed cleanly")]
    private static partial void LogStopped(ILogger logger, int nodeId);
}
