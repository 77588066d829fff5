using System.Collections.Immutable;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Config;
using Tributary.Broker.Metadata;
using Tributary.Broker.Metrics;
using Tributary.Broker.Replication;
using Tributary.Broker.Replication.Fetcher;
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
    private Groups.OffsetsTopic? _offsetsTopic;
    private Producers.ProducerExpiry? _producerExpiry;
    private IMetadataLog? _metadataLog;
    private MetadataLoader? _loader;
    private Groups.RemoteHighWatermarks? _remoteHighWatermarks;
    private QuorumController? _controller;
    private ReplicaFetcherManager? _fetchers;
    private Task? _heartbeats;
    private readonly CancellationTokenSource _heartbeatsDone = new();
    private readonly TaskCompletionSource _unfenced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Protocol.Uuid _incarnationId = Protocol.Uuid.NewRandom();
    private volatile TaskCompletionSource? _controlledShutdown;
    private volatile bool _isFenced = true;
    private long _brokerEpoch = -1;
    private long _lastHeartbeatOkAt = Environment.TickCount64;
    private volatile string _notReadyReason = "starting";
    private volatile bool _isReady;

    public BrokerServer(BrokerConfig config, BrokerMetrics metrics, ILoggerFactory loggerFactory, IHostApplicationLifetime? lifetime = null)
    {
        _lifetime = lifetime;
        Config = config;
        DynamicConfig = new DynamicBrokerConfig(config);
        Metrics = metrics;
        RequestMemory = new Network.RequestMemoryBudget(config.GetLong("queued.max.request.bytes") is var queued and > 0 ? queued : long.MaxValue);
        metrics.AttachRequestMemory(() => RequestMemory.Capacity - RequestMemory.InUse);
        LoggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Tributary.Broker");
    }

    public BrokerConfig Config { get; }

    /// <summary>Dynamic broker configs (KIP-226) from the metadata log over <see cref="Config"/>; topic defaults read it.</summary>
    public DynamicBrokerConfig DynamicConfig { get; }
    public BrokerMetrics Metrics { get; }

    /// <summary>Request frame bytes held broker-wide (queued.max.request.bytes; -1 = unbounded).</summary>
    public Network.RequestMemoryBudget RequestMemory { get; }
    public ILoggerFactory LoggerFactory { get; }
    public bool IsReady => _isReady;
    public string NotReadyReason => _isReady ? "" : _notReadyReason;

    /// <summary>Set once start-up has finished; request handling goes through it.</summary>
    public RequestDispatcher Dispatcher { get; private set; } = null!;

    /// <summary>How this broker reaches the active controller (set during start-up, before <see cref="WhenReady"/> completes).</summary>
    public ControllerGateway Controller { get; private set; } = null!;

    /// <summary>Cancelled when the broker begins shutting down; long polls and idle connections end with it.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Completes when the broker serves requests; faults if start-up failed.</summary>
    public Task WhenReady => _ready.Task;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _startup = Task.Run(StartUpAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>
    /// KRaft's broker start-up order: join the metadata quorum (voters also run the controller), register with the
    /// active controller, catch up with the metadata log up to the registration, then open the logs with the topic
    /// configs that log describes, become leader or follower of each replica, and heartbeat until the controller
    /// unfences this broker. Only then is it ready.
    /// </summary>
    private async Task StartUpAsync()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var stopping = _stopping.Token;
        try
        {
            FileLimitCheck.EnsureSufficient(Config.LogDirs, LoggerFactory.CreateLogger("Tributary.FileLimits"));
            _notReadyReason = "starting the metadata quorum";
            var metadataLog = await QuorumMetadataLog.StartAsync(Config, LoggerFactory).ConfigureAwait(false);
            _metadataLog = metadataLog;
            var loader = new MetadataLoader(metadataLog, LoggerFactory.CreateLogger("Tributary.Metadata"));
            _loader = loader;
            // Every node snapshots its image, so its log can be truncated below it and a restart replays snapshot + tail.
            loader.AddPublisher(new MetadataSnapshotGenerator(metadataLog, new MetadataSnapshotOptions
            {
                MaxBytesBetweenSnapshots = Config.GetLong("metadata.log.max.record.bytes.between.snapshots"),
                MaxInterval = TimeSpan.FromMilliseconds(Config.GetLong("metadata.log.max.snapshot.interval.ms")),
            }, TimeProvider.System, LoggerFactory.CreateLogger("Tributary.Metadata.Snapshots"), stopping));
            loader.Start();

            var client = new ControllerClient(metadataLog, loader, TimeSpan.FromMilliseconds(Config.ControllerQuorumRequestTimeoutMs),
                LoggerFactory.CreateLogger("Tributary.ControllerClient"));
            if (metadataLog.IsVoter)
            {
                // The controller replays the log itself: it answers when its own state has a change, never waiting
                // for this broker's publisher below.
                var controller = new QuorumController(metadataLog, ControllerOptions(), TimeProvider.System,
                    LoggerFactory.CreateLogger("Tributary.Controller"));
                _controller = controller;
                metadataLog.SetControllerRequestHandler(controller.ServeAsync);
                client.SetLocal(controller);
                controller.Start();
            }

            var gateway = new ControllerGateway((command, cancellation) => client.SendAsync<ControllerReply>(command, cancellation),
                () => loader.Current, LoggerFactory.CreateLogger("Tributary.Controller"));
            Controller = gateway;
            if (!Config.ProcessRoles.HasFlag(ProcessRoles.Broker))
            {
                // A dedicated controller (process.roles=controller): quorum voter and controller only, no logs, no Kafka
                // listener. Ready once it has applied the metadata log up to the quorum's committed offset.
                _notReadyReason = "catching up with the metadata log";
                await WaitForQuorumCatchUpAsync(metadataLog, loader, stopping).ConfigureAwait(false);
                Metrics.AttachSource(this);
                AttachMonitoring(loader, offsets: null);
                _isReady = true;
                _ready.TrySetResult();
                LogControllerReady(_logger, Config.NodeId, started.ElapsedMilliseconds);
                return;
            }

            _notReadyReason = "registering with the controller";
            var registration = await RegisterAsync(client, stopping).ConfigureAwait(false);
            _notReadyReason = "catching up with the metadata log";
            await loader.WaitForOffsetAsync(registration.Offset, stopping).ConfigureAwait(false);
            var image = loader.Current;
            ApplyDynamicConfig(image);

            _notReadyReason = "recovering logs";
            var logs = OpenLogs(image.Topics);
            _logs = logs;
            Metrics.LogCleaner.AttachSource(() => logs.Cleaner is { IsEnabled: true } cleaner ? cleaner.Snapshot() : null, () => Config.LogDirs);

            var fetchers = new ReplicaFetcherManager(Config.NodeId, () => Volatile.Read(ref _brokerEpoch), Replication.Fetcher.FetcherOptions.FromConfig(Config), LoggerFactory,
                stages: Metrics.ProduceStages);
            _fetchers = fetchers;
            var replicas = new ReplicaManager(Config.NodeId, logs, t => LogConfigFor(t.Configs),
                t => TopicConfigCatalog.Resolve(DynamicConfig.Current, t.Configs).MinInsyncReplicas, LoggerFactory.CreateLogger("Tributary.Replicas"),
                TimeProvider.System, new ReplicaFetcherControl(fetchers),
                new ControllerAlterPartitionSender(gateway, Config.NodeId, () => Volatile.Read(ref _brokerEpoch)), Config.ReplicaLagTimeMaxMs,
                Metrics.ProduceStages);
            _replicas = replicas;

            _notReadyReason = "loading consumer groups";
            var groups = StartGroupCoordinator(gateway, replicas);
            // Subscribe before applying the current image, so no image published in between is missed. Dynamic broker
            // configs first: the replicas resolve topic configs (and min.insync.replicas) from them.
            var publisher = new BrokerMetadataPublisher(DynamicConfig, replicas, _logger);
            loader.AddPublisher(publisher);
            publisher.Publish(loader.Current);
            DeleteStrayLogs(logs, loader.Current);
            replicas.StartIsrMaintenance();

            var producerIds = StartProducerIds(gateway, replicas);
            var transactions = StartTransactionCoordinator(gateway, replicas, producerIds);
            var context = new BrokerContext(DynamicConfig, gateway, replicas, logs, Metrics, groups, producerIds, DescribeQuorum,
                new Quotas.ControllerMutationQuota(Config.GetDouble("tributary.controller.mutation.rate"), TimeProvider.System), TimeProvider.System,
                transactions: transactions);
            Dispatcher = new RequestDispatcher(context);
            Metrics.AttachSource(this);
            Groups.ConsumerGroupLag? groupLag = null;
            var remoteHighWatermarks = new Groups.RemoteHighWatermarks(Config.NodeId, () => loader.Current,
                () => groupLag?.RemotePartitions() ?? [], TimeSpan.FromMilliseconds(Config.GetInt("tributary.consumer.lag.refresh.ms")),
                Config.SocketRequestMaxBytes, TimeSpan.FromSeconds(30), TimeProvider.System, LoggerFactory.CreateLogger("Tributary.Groups.Lag"));
            _remoteHighWatermarks = remoteHighWatermarks;
            groupLag = new Groups.ConsumerGroupLag(groups, replicas, remoteHighWatermarks);
            remoteHighWatermarks.Start();
            Metrics.AttachConsumerGroupLagSource(groupLag);
            AttachMonitoring(loader, groupLag);

            _notReadyReason = "waiting for the controller to unfence this broker";
            _heartbeats = Task.Run(() => HeartbeatLoopAsync(client, loader, registration.BrokerEpoch), CancellationToken.None);
            await _unfenced.Task.WaitAsync(stopping).ConfigureAwait(false);

            _isReady = true;
            _ready.TrySetResult();
            LogReady(_logger, Config.NodeId, loader.Current.ClusterId, loader.Current.Topics.Count, started.ElapsedMilliseconds);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            _notReadyReason = "stopped during start-up";
            _ready.TrySetCanceled(stopping);
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

    /// <summary>
    /// Logs on disk that the metadata (caught up past this broker's registration) no longer places here — the topic was
    /// deleted, or the replica moved away, while this broker was down — are deleted, as KRaft brokers do with stray logs.
    /// </summary>
    private void DeleteStrayLogs(LogManager logs, MetadataImage image)
    {
        foreach (var log in logs.AllLogs)
        {
            var tp = log.TopicPartition;
            var placed = image.Topics.TryGetValue(tp.Topic, out var topic) && tp.Partition < topic.Partitions.Length
                         && topic.Partitions[tp.Partition].Replicas.Contains(Config.NodeId);
            if (!placed)
            {
                LogStrayLogDeleted(_logger, tp.Topic, tp.Partition);
                logs.DeleteLog(tp.Topic, tp.Partition);
            }
        }
    }

    /// <summary>Waits until a quorum leader is known and this node applied everything committed when it looked.</summary>
    private static async Task WaitForQuorumCatchUpAsync(IMetadataLog log, MetadataLoader loader, CancellationToken stopping)
    {
        while (true)
        {
            stopping.ThrowIfCancellationRequested();
            if (log is QuorumMetadataLog quorum && quorum.Leadership.LeaderId >= 0)
            {
                await loader.WaitForOffsetAsync(quorum.Quorum.CommittedOffset, stopping).ConfigureAwait(false);
                return;
            }

            await Task.Delay(50, stopping).ConfigureAwait(false);
        }
    }

    /// <summary>Registers this incarnation with the active controller, retrying until one answers.</summary>
    private async Task<RegisterBrokerReply> RegisterAsync(ControllerClient client, CancellationToken stopping)
    {
        var endpoints = RegisteredEndpoints();
        while (true)
        {
            stopping.ThrowIfCancellationRequested();
            var reply = await client.SendAsync<RegisterBrokerReply>(
                new RegisterBrokerCommand(Config.NodeId, _incarnationId, endpoints, Config.BrokerRack), stopping).ConfigureAwait(false);
            if (reply.IsOk)
            {
                Volatile.Write(ref _brokerEpoch, reply.BrokerEpoch);
                LogRegistered(_logger, Config.NodeId, reply.BrokerEpoch);
                return reply;
            }

            LogRegistrationRetry(_logger, reply.Error, reply.Message ?? "");
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(Config.BrokerHeartbeatIntervalMs, 500)), stopping).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Heartbeats to the active controller every broker.heartbeat.interval.ms (at once while fenced or shutting down):
    /// keeps the session alive, reports the applied metadata offset (which unfences a caught-up broker), re-registers
    /// after a STALE_BROKER_EPOCH, and carries the controlled-shutdown request.
    /// </summary>
    private async Task HeartbeatLoopAsync(ControllerClient client, MetadataLoader loader, long epoch)
    {
        var interval = TimeSpan.FromMilliseconds(Config.BrokerHeartbeatIntervalMs);
        var fastInterval = TimeSpan.FromMilliseconds(Math.Min(Config.BrokerHeartbeatIntervalMs, 100));
        while (!_heartbeatsDone.IsCancellationRequested)
        {
            var fenced = true;
            try
            {
                var wantShutdown = _controlledShutdown is not null;
                var reply = await client.SendAsync<BrokerHeartbeatReply>(
                    new BrokerHeartbeatCommand(Config.NodeId, epoch, loader.Current.Offset, WantFence: false, WantShutdown: wantShutdown),
                    _heartbeatsDone.Token).ConfigureAwait(false);
                if (reply.Error == Protocol.ErrorCode.StaleBrokerEpoch)
                {
                    // The controller forgot us (e.g. fenced and replaced by a newer incarnation record): register again.
                    var registration = await RegisterAsync(client, _heartbeatsDone.Token).ConfigureAwait(false);
                    epoch = registration.BrokerEpoch;
                    continue;
                }

                if (reply.IsOk)
                {
                    Volatile.Write(ref _lastHeartbeatOkAt, Environment.TickCount64);
                    fenced = reply.IsFenced;
                    _isFenced = reply.IsFenced;
                    if (!reply.IsFenced)
                    {
                        _unfenced.TrySetResult();
                    }

                    if (wantShutdown && reply.ShouldShutdown)
                    {
                        _controlledShutdown?.TrySetResult();
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                LogHeartbeatFailed(_logger, e.Message);
            }

            try
            {
                var urgent = fenced || _controlledShutdown is not null;
                await Task.Delay(urgent ? fastInterval : interval, _heartbeatsDone.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private IReadOnlyList<global::Tributary.Metadata.Records.BrokerEndpoint> RegisteredEndpoints()
    {
        // The inter-broker listener first: followers reach leaders through the first endpoint.
        return Config.AdvertisedListeners
            .OrderBy(l => l.Name == Config.InterBrokerListenerName ? 0 : 1)
            .Select(l => new global::Tributary.Metadata.Records.BrokerEndpoint(l.Name, l.Host, l.Port, SecurityProtocol: 0))
            .ToList();
    }

    private QuorumControllerOptions ControllerOptions() => new()
    {
        ClusterId = Config.ClusterId,
        BrokerSessionTimeout = TimeSpan.FromMilliseconds(Config.BrokerSessionTimeoutMs),
        UncleanLeaderElectionEnable = Config.UncleanLeaderElectionEnable,
        AutoLeaderRebalanceEnable = Config.AutoLeaderRebalanceEnable,
        LeaderImbalanceCheckInterval = TimeSpan.FromSeconds(Config.LeaderImbalanceCheckIntervalSeconds),
        LeaderImbalancePerBrokerPercentage = Config.LeaderImbalancePerBrokerPercentage,
        ValidateTopicConfig = TopicConfigCatalog.Validate,
        RemovedTopicConfigEffect = key => RemovedTopicConfigs.IsRemoved(key) ? RemovedTopicConfigs.Effect(key) : null,
        MinInsyncReplicasFor = overrides => TopicConfigCatalog.Resolve(DynamicConfig.Current, overrides).MinInsyncReplicas,
        MaxPartitionsPerBroker = MaxPartitionsPerBroker(out var reason),
        MaxPartitionsPerBrokerReason = reason,
    };

    /// <summary>
    /// max.broker.partitions, lowered on a node that is also a broker to what its open-file limit holds: every partition
    /// keeps its active segment open, plus <see cref="FileLimitCheck.Headroom"/> descriptors for everything else. A create
    /// beyond it is refused with a clear error instead of failing later with errno 24 (EMFILE).
    /// </summary>
    private int MaxPartitionsPerBroker(out string reason)
    {
        var configured = Config.GetInt("max.broker.partitions");
        reason = $"max.broker.partitions={configured}";
        if (Config.ProcessRoles.HasFlag(ProcessRoles.Broker) && FileLimitCheck.ReadSoftLimit() is { } limit
            && limit - FileLimitCheck.Headroom < configured)
        {
            var byFiles = (int)Math.Max(0, limit - FileLimitCheck.Headroom);
            reason = $"the open-file limit {limit} of this node leaves room for {byFiles} partitions beside {FileLimitCheck.Headroom} other descriptors; raise `ulimit -n`";
            return byFiles;
        }

        return configured;
    }

    private QuorumDescription DescribeQuorum() => _metadataLog is QuorumMetadataLog log ? log.Describe() : QuorumDescription.Unknown;

    /// <summary>Opens (and, after an unclean stop, recovers) every partition log; starts flushing, retention and cleaning.</summary>
    private LogManager OpenLogs(ImmutableSortedDictionary<string, TopicImage> topics) =>
        LogManager.Open(new LogManagerOptions
        {
            LogDirs = Config.LogDirs,
            DefaultConfig = LogConfigFor(ImmutableDictionary<string, string>.Empty),
            TopicConfig = topic => topics.TryGetValue(topic, out var t) ? LogConfigFor(t.Configs) : LogConfigFor(ImmutableDictionary<string, string>.Empty),
            // Kafka's default scheduler interval is "never" (Long.MaxValue); the tick also drives checkpoints, so keep it ≤ 1 s.
            FlushSchedulerIntervalMs = Math.Clamp(Config.LogFlushSchedulerIntervalMs, 10, 1000),
            // The replica layer owns the high watermark (the slowest in-sync replica's log end on a leader).
            HighWatermarkFollowsLogEnd = false,
            HighWatermarkCheckpointIntervalMs = Config.ReplicaHighWatermarkCheckpointIntervalMs,
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

    /// <summary>The group coordinator serves the groups of the <c>__consumer_offsets</c> partitions this broker leads.</summary>
    private Groups.GroupCoordinator StartGroupCoordinator(ControllerGateway controller, ReplicaManager replicas)
    {
        var logger = LoggerFactory.CreateLogger("Tributary.Groups");
        var offsetsTopic = new Groups.OffsetsTopic(Config, controller, replicas, logger);
        _offsetsTopic = offsetsTopic;
        var groups = new Groups.GroupCoordinator(Groups.GroupCoordinatorOptions.From(Config), offsetsTopic, TimeProvider.System, logger);
        groups.Start();
        _groups = groups;
        return groups;
    }

    /// <summary>Producer ids come in blocks from the controller; idle producers expire from every partition.</summary>
    private Producers.ProducerIdManager StartProducerIds(ControllerGateway controller, ReplicaManager replicas)
    {
        var logger = LoggerFactory.CreateLogger("Tributary.Producers");
        _producerExpiry = new Producers.ProducerExpiry(() => replicas.Partitions.Select(p => p.Log).ToList(),
            Config.ProducerIdExpirationMs, Config.ProducerIdExpirationCheckIntervalMs, TimeProvider.System, logger);
        _producerExpiry.Start();
        return new Producers.ProducerIdManager(
            cancellation => controller.AllocateProducerIdBlockAsync(Config.NodeId, Volatile.Read(ref _brokerEpoch), cancellation), logger);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Runs before Kestrel stops. Controlled shutdown first (controlled.shutdown.enable): while still serving, ask the
    /// controller to move this broker's leaderships away and drop it from ISRs, and wait until it says so (bounded), so
    /// producers with acks=all see no failed write. Then readiness drops and connections (idle ones, long polls) end.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _isReady = false;
        _notReadyReason = "shutting down";
        if (Config.ControlledShutdownEnable && _heartbeats is not null && _startup is { IsCompletedSuccessfully: true } && !_isFenced)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _controlledShutdown = done;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            // Wait for the controller's go-ahead, but not for a controller that isn't there: once heartbeats have failed for
            // a session timeout (no quorum), nobody can move the leaderships anyway.
            var poll = TimeSpan.FromMilliseconds(100);
            while (!done.Task.IsCompleted && sw.Elapsed < ControlledShutdownTimeout && !cancellationToken.IsCancellationRequested
                   && Environment.TickCount64 - Volatile.Read(ref _lastHeartbeatOkAt) < Config.BrokerSessionTimeoutMs)
            {
                await Task.WhenAny(done.Task, Task.Delay(poll, CancellationToken.None)).ConfigureAwait(false);
            }

            if (done.Task.IsCompleted)
            {
                LogControlledShutdown(_logger, Config.NodeId, sw.ElapsedMilliseconds);
            }
            else
            {
                LogControlledShutdownTimedOut(_logger, Config.NodeId, sw.ElapsedMilliseconds);
            }
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>Kafka retries controlled shutdown for a while and then stops anyway; so do we (inside the host's 30 s stop budget).</summary>
    private static readonly TimeSpan ControlledShutdownTimeout = TimeSpan.FromSeconds(20);

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _isReady = false;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_startup is not null)
        {
            await _startup.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await _heartbeatsDone.CancelAsync().ConfigureAwait(false);
        if (_heartbeats is not null)
        {
            await _heartbeats.ConfigureAwait(false);
        }

        Metrics.DetachSource();
        Metrics.DetachConsumerGroupLagSource();
        if (_remoteHighWatermarks is not null)
        {
            await _remoteHighWatermarks.DisposeAsync().ConfigureAwait(false);
        }

        DetachMonitoring();
        Metrics.LogCleaner.DetachSource();
        if (_fetchers is not null)
        {
            await _fetchers.DisposeAsync().ConfigureAwait(false);
        }

        await StopTransactionCoordinatorAsync().ConfigureAwait(false);
        _groups?.Dispose();
        _offsetsTopic?.Dispose();
        _producerExpiry?.Dispose();
        _replicas?.Dispose();
        if (_logs is not null)
        {
            _logs.Close();
            LogStopped(_logger, Config.NodeId);
        }

        if (_controller is not null)
        {
            await _controller.DisposeAsync().ConfigureAwait(false);
        }

        if (_loader is not null)
        {
            await _loader.DisposeAsync().ConfigureAwait(false);
        }

        if (_metadataLog is not null)
        {
            // A leading voter hands leadership over before it stops (shorter failover than an election timeout).
            await _metadataLog.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Applies the dynamic broker configs (cluster default and this broker's own) of a published metadata image.</summary>
    private void ApplyDynamicConfig(MetadataImage image) => BrokerMetadataPublisher.ApplyDynamicConfig(DynamicConfig, image, _logger);

    /// <summary>Maps Kafka's topic configs (overrides over broker defaults, dynamic ones included) onto the storage layer's typed config.</summary>
    private LogConfig LogConfigFor(IReadOnlyDictionary<string, string> overrides)
    {
        var effective = TopicConfigCatalog.Resolve(DynamicConfig.Current, overrides);
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

    // IBrokerMetricsSource: what the gauges on /metrics read. Controller gauges are non-zero on the active controller only,
    // as in Kafka, so sums over all brokers are the cluster's figures.
    int IBrokerMetricsSource.PartitionCount => _replicas?.Partitions.Count() ?? 0;
    int IBrokerMetricsSource.LeaderCount => _replicas?.Partitions.Count(p => p.IsLeader) ?? 0;
    int IBrokerMetricsSource.UnderReplicatedPartitions =>
        _replicas?.Partitions.Count(p => p.IsLeader && p.Image.Isr.Length < p.Image.Replicas.Length) ?? 0;
    int IBrokerMetricsSource.UnderMinIsrPartitions =>
        _replicas?.Partitions.Count(p => p.IsLeader && p.Image.Isr.Length < p.MinInsyncReplicas) ?? 0;
    int IBrokerMetricsSource.OfflinePartitions => IsActiveController
        ? _loader?.Current.Topics.Values.Sum(t => t.Partitions.Count(p => p.IsOffline)) ?? 0
        : 0;
    bool IBrokerMetricsSource.IsActiveController => IsActiveController;
    int IBrokerMetricsSource.ActiveBrokerCount => IsActiveController ? _loader?.Current.Brokers.Values.Count(b => !b.Fenced) ?? 0 : 0;

    private bool IsActiveController => _controller?.IsActive ?? false;

    IEnumerable<(string Topic, int Partition, long SizeBytes)> IBrokerMetricsSource.LogSizes() =>
        _replicas?.Partitions.Select(p => (p.Topic, p.Index, p.Log.SizeInBytes)) ?? [];

    [LoggerMessage(EventId = 1, EventName = "BrokerReady", Level = LogLevel.Information, Message = "Broker {NodeId} of cluster {ClusterId} ready with {TopicCount} topics after {ElapsedMs} ms")]
    private static partial void LogReady(ILogger logger, int nodeId, string clusterId, int topicCount, long elapsedMs);

    [LoggerMessage(EventId = 2, EventName = "BrokerStartupFailed", Level = LogLevel.Critical, Message = "Broker start-up failed")]
    private static partial void LogStartupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4, EventName = "BrokerRegistered", Level = LogLevel.Information, Message = "Broker {NodeId} registered with the controller; broker epoch {BrokerEpoch}")]
    private static partial void LogRegistered(ILogger logger, int nodeId, long brokerEpoch);

    [LoggerMessage(EventId = 5, EventName = "BrokerRegistrationRetry", Level = LogLevel.Information, Message = "Registration not accepted yet: {Error} {Reason}")]
    private static partial void LogRegistrationRetry(ILogger logger, Protocol.ErrorCode error, string reason);

    [LoggerMessage(EventId = 6, EventName = "BrokerHeartbeatFailed", Level = LogLevel.Warning, Message = "Heartbeat to the controller failed: {Reason}")]
    private static partial void LogHeartbeatFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 7, EventName = "ControlledShutdownDone", Level = LogLevel.Information, Message = "Broker {NodeId}: controlled shutdown complete after {ElapsedMs} ms (no leaderships left)")]
    private static partial void LogControlledShutdown(ILogger logger, int nodeId, long elapsedMs);

    [LoggerMessage(EventId = 8, EventName = "ControlledShutdownTimedOut", Level = LogLevel.Warning, Message = "Broker {NodeId}: controlled shutdown not confirmed after {ElapsedMs} ms (no controller, or it did not finish); stopping anyway")]
    private static partial void LogControlledShutdownTimedOut(ILogger logger, int nodeId, long elapsedMs);

    [LoggerMessage(EventId = 9, EventName = "StrayLogDeleted", Level = LogLevel.Warning, Message = "Deleting stray log {Topic}-{Partition}: the metadata no longer places a replica on this broker")]
    private static partial void LogStrayLogDeleted(ILogger logger, string topic, int partition);

    [LoggerMessage(EventId = 10, EventName = "ControllerReady", Level = LogLevel.Information, Message = "Controller {NodeId} (process.roles=controller) ready after {ElapsedMs} ms")]
    private static partial void LogControllerReady(ILogger logger, int nodeId, long elapsedMs);

    [LoggerMessage(EventId = 3, EventName = "BrokerStopped", Level = LogLevel.Information, Message = "Broker {NodeId} stopped; logs closed cleanly")]
    private static partial void LogStopped(ILogger logger, int nodeId);
}
