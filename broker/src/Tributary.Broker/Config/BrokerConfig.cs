using System.Collections.Frozen;
using Microsoft.Extensions.Logging;

namespace Tributary.Broker.Config;

/// <summary>The broker's validated, immutable configuration: Kafka's keys and defaults plus typed views of the ones the broker uses.</summary>
/// <remarks>
/// Build it with <see cref="BrokerConfigLoader.Load"/> (file, environment, command line) or <see cref="FromProperties"/> (tests,
/// in-process brokers). Keys without a dedicated property are read with <see cref="GetString"/>, <see cref="GetInt"/> etc.
/// </remarks>
public sealed class BrokerConfig
{
    private const string WildcardAdvertisedHost = "localhost";
    private static readonly string[] SecurityProtocols = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

    private readonly FrozenDictionary<string, ConfigSetting> _explicit;

    internal BrokerConfig(IReadOnlyDictionary<string, ConfigSetting> explicitSettings)
    {
        foreach (var (key, setting) in explicitSettings)
        {
            if (!BrokerConfigDefinitions.TryGet(key, out var definition))
            {
                throw new ArgumentException($"'{key}' is not a known configuration key.", nameof(explicitSettings));
            }

            definition.RequireValid(setting.Value, setting.Origin);
        }

        _explicit = explicitSettings.ToFrozenDictionary(StringComparer.Ordinal);
        Effective = BrokerConfigDefinitions.All.Values.ToFrozenDictionary(
            d => d.Name,
            d => _explicit.TryGetValue(d.Name, out var s) ? s.Value.Trim() : d.DefaultValue,
            StringComparer.Ordinal);

        NodeId = GetInt("node.id");
        ProcessRoles = ParseRoles(GetList("process.roles"));
        ClusterId = NullIfEmpty(GetString("cluster.id"));
        BrokerRack = NullIfEmpty(GetString("broker.rack"));

        ListenerSecurityProtocolMap = ParseSecurityProtocolMap();
        ControllerListenerNames = GetList("controller.listener.names").Select(n => n.ToUpperInvariant()).ToArray();
        Listeners = ParseListeners("listeners");
        BrokerListeners = Listeners.Where(l => !ControllerListenerNames.Contains(l.Name)).ToArray();
        ControllerListeners = Listeners.Where(l => ControllerListenerNames.Contains(l.Name)).ToArray();
        RequirePlaintextOnly(Listeners);
        if (ProcessRoles.HasFlag(ProcessRoles.Broker) && BrokerListeners.Count == 0)
        {
            throw Invalid("listeners", "at least one listener that is not a controller listener (process.roles includes broker)");
        }

        AdvertisedListeners = ResolveAdvertisedListeners();
        InterBrokerListenerName = ResolveInterBrokerListenerName();
        ControllerQuorumVoters = QuorumVoter.ParseList(Definition("controller.quorum.voters"), GetString("controller.quorum.voters") ?? "", OriginOf("controller.quorum.voters"));
        HttpListeners = ListenerEndpoint.ParseHttpList(Definition("http.listeners"), GetString("http.listeners") ?? "", OriginOf("http.listeners"));
        BrokerConfigDefinitions.TryParseLogLevel(GetString("tributary.log.level")!, out var logLevel);
        LogLevel = logLevel;
        LogFormatJson = GetString("tributary.log.format") == "json";

        LogDirs = GetList(IsDefault("log.dirs") ? "log.dir" : "log.dirs");
        if (LogDirs.Count == 0)
        {
            throw Invalid(IsDefault("log.dirs") ? "log.dir" : "log.dirs", "at least one directory");
        }

        NumPartitions = GetInt("num.partitions");
        DefaultReplicationFactor = GetInt("default.replication.factor");
        MinInsyncReplicas = GetInt("min.insync.replicas");
        AutoCreateTopicsEnable = GetBoolean("auto.create.topics.enable");
        SocketRequestMaxBytes = GetInt("socket.request.max.bytes");
        MessageMaxBytes = GetInt("message.max.bytes");
        CompressionType = ConfigValues.Canonical(GetString("compression.type")!, BrokerConfigDefinitions.CompressionTypes);

        LogRetentionMs = ResolveMillis("log.retention.ms", "log.retention.minutes", "log.retention.hours");
        LogRetentionBytes = GetLong("log.retention.bytes");
        LogSegmentBytes = GetInt("log.segment.bytes");
        LogRollMs = ResolveMillis("log.roll.ms", null, "log.roll.hours");
        LogRollJitterMs = ResolveMillis("log.roll.jitter.ms", null, "log.roll.jitter.hours");
        LogIndexIntervalBytes = GetInt("log.index.interval.bytes");
        LogIndexSizeMaxBytes = GetInt("log.index.size.max.bytes");
        LogSegmentDeleteDelayMs = GetLong("log.segment.delete.delay.ms");
        LogPreallocate = GetBoolean("log.preallocate");
        LogRetentionCheckIntervalMs = GetLong("log.retention.check.interval.ms");
        LogCleanupPolicy = GetList("log.cleanup.policy").Select(p => ConfigValues.Canonical(p, BrokerConfigDefinitions.CleanupPolicies)).Distinct().ToArray();
        LogMessageTimestampType = Enum.Parse<MessageTimestampType>(ConfigValues.Canonical(GetString("log.message.timestamp.type")!, BrokerConfigDefinitions.TimestampTypes));
        LogMessageTimestampBeforeMaxMs = GetLong("log.message.timestamp.before.max.ms");
        LogMessageTimestampAfterMaxMs = GetLong("log.message.timestamp.after.max.ms");

        LogFlushIntervalMessages = GetLong("log.flush.interval.messages");
        LogFlushIntervalMs = GetNullableLong("log.flush.interval.ms");
        LogFlushSchedulerIntervalMs = GetLong("log.flush.scheduler.interval.ms");

        LogCleanerEnable = GetBoolean("log.cleaner.enable");
        LogCleanerThreads = GetInt("log.cleaner.threads");
        LogCleanerIoMaxBytesPerSecond = GetDouble("log.cleaner.io.max.bytes.per.second");
        LogCleanerMinCleanableRatio = GetDouble("log.cleaner.min.cleanable.ratio");
        LogCleanerDeleteRetentionMs = GetLong("log.cleaner.delete.retention.ms");
        LogCleanerMinCompactionLagMs = GetLong("log.cleaner.min.compaction.lag.ms");
        LogCleanerMaxCompactionLagMs = GetLong("log.cleaner.max.compaction.lag.ms");
        LogCleanerBackoffMs = GetLong("log.cleaner.backoff.ms");
        if (LogCleanerMinCompactionLagMs > LogCleanerMaxCompactionLagMs)
        {
            throw Invalid("log.cleaner.min.compaction.lag.ms", $"a value <= log.cleaner.max.compaction.lag.ms ({LogCleanerMaxCompactionLagMs})");
        }

        ReplicaLagTimeMaxMs = GetLong("replica.lag.time.max.ms");
        ProducerIdExpirationMs = GetLong("producer.id.expiration.ms");
        ProducerIdExpirationCheckIntervalMs = GetLong("producer.id.expiration.check.interval.ms");
        UncleanLeaderElectionEnable = GetBoolean("unclean.leader.election.enable");
        ReplicaFetchMaxBytes = GetInt("replica.fetch.max.bytes");
        ReplicaFetchResponseMaxBytes = GetInt("replica.fetch.response.max.bytes");
        ReplicaFetchWaitMaxMs = GetInt("replica.fetch.wait.max.ms");
        ControlledShutdownEnable = GetBoolean("controlled.shutdown.enable");
        ReplicaFetchMinBytes = GetInt("replica.fetch.min.bytes");
        ReplicaFetchBackoffMs = GetInt("replica.fetch.backoff.ms");
        ReplicaHighWatermarkCheckpointIntervalMs = GetLong("replica.high.watermark.checkpoint.interval.ms");
        AutoLeaderRebalanceEnable = GetBoolean("auto.leader.rebalance.enable");
        LeaderImbalanceCheckIntervalSeconds = GetLong("leader.imbalance.check.interval.seconds");
        LeaderImbalancePerBrokerPercentage = GetInt("leader.imbalance.per.broker.percentage");
        BrokerHeartbeatIntervalMs = GetInt("broker.heartbeat.interval.ms");
        BrokerSessionTimeoutMs = GetInt("broker.session.timeout.ms");
        ControllerQuorumElectionTimeoutMs = GetInt("controller.quorum.election.timeout.ms");
        ControllerQuorumHeartbeatIntervalMs = GetInt("controller.quorum.heartbeat.interval.ms");
        ControllerQuorumRequestTimeoutMs = GetInt("controller.quorum.request.timeout.ms");

        OffsetsTopicNumPartitions = GetInt("offsets.topic.num.partitions");
        OffsetsTopicReplicationFactor = (short)GetInt("offsets.topic.replication.factor");
        OffsetsTopicSegmentBytes = GetInt("offsets.topic.segment.bytes");
        OffsetsRetentionMinutes = GetInt("offsets.retention.minutes");
        OffsetsCommitTimeoutMs = GetInt("offsets.commit.timeout.ms");
        OffsetsRetentionCheckIntervalMs = GetLong("offsets.retention.check.interval.ms");
        GroupMinSessionTimeoutMs = GetInt("group.min.session.timeout.ms");
        GroupMaxSessionTimeoutMs = GetInt("group.max.session.timeout.ms");
        GroupInitialRebalanceDelayMs = GetInt("group.initial.rebalance.delay.ms");
        GroupMaxSize = GetInt("group.max.size");
        if (GroupMinSessionTimeoutMs > GroupMaxSessionTimeoutMs)
        {
            throw Invalid("group.min.session.timeout.ms", $"a value <= group.max.session.timeout.ms ({GroupMaxSessionTimeoutMs})");
        }

        if (GetLong("queued.max.request.bytes") is var queued and not -1 && queued < SocketRequestMaxBytes)
        {
            throw Invalid("queued.max.request.bytes", $"-1 or a value >= socket.request.max.bytes ({SocketRequestMaxBytes}), so every accepted frame fits");
        }
    }

    /// <summary>All defaults: one broker+controller on PLAINTEXT://:9092, HTTP on 0.0.0.0:9094.</summary>
    public static BrokerConfig Default { get; } = new(new Dictionary<string, ConfigSetting>());

    /// <summary>Builds a config from key=value pairs (as if from a properties file); unknown keys are errors here because in code they are typos.</summary>
    public static BrokerConfig FromProperties(IReadOnlyDictionary<string, string> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        var settings = new Dictionary<string, ConfigSetting>(StringComparer.Ordinal);
        foreach (var (key, value) in properties)
        {
            if (!BrokerConfigDefinitions.All.ContainsKey(key))
            {
                throw new ConfigException($"Unknown configuration '{key}'.");
            }

            settings[key] = new ConfigSetting(key, value, BrokerConfigSource.ConfigFile, "properties");
        }

        return new BrokerConfig(settings);
    }

    // ---- Identity and roles -------------------------------------------------------------------------------------

    /// <summary><c>node.id</c> (default 1).</summary>
    public int NodeId { get; }

    /// <summary><c>process.roles</c> (default broker,controller).</summary>
    public ProcessRoles ProcessRoles { get; }

    /// <summary><c>cluster.id</c>, null when not configured.</summary>
    public string? ClusterId { get; }

    /// <summary><c>broker.rack</c>, null when not configured.</summary>
    public string? BrokerRack { get; }

    // ---- Listeners ----------------------------------------------------------------------------------------------

    /// <summary>Every entry of <c>listeners</c> (broker and controller), in order.</summary>
    public IReadOnlyList<ListenerEndpoint> Listeners { get; }

    /// <summary>The listeners that serve Kafka clients: <see cref="Listeners"/> minus <c>controller.listener.names</c>.</summary>
    public IReadOnlyList<ListenerEndpoint> BrokerListeners { get; }

    /// <summary>The listeners named in <c>controller.listener.names</c> (KRaft quorum traffic).</summary>
    public IReadOnlyList<ListenerEndpoint> ControllerListeners { get; }

    /// <summary><c>advertised.listeners</c>, or the broker listeners with wildcard hosts replaced by localhost.</summary>
    public IReadOnlyList<ListenerEndpoint> AdvertisedListeners { get; }

    /// <summary><c>listener.security.protocol.map</c>, listener name → security protocol.</summary>
    public IReadOnlyDictionary<string, string> ListenerSecurityProtocolMap { get; }

    /// <summary><c>controller.listener.names</c>, upper-cased (default CONTROLLER).</summary>
    public IReadOnlyList<string> ControllerListenerNames { get; }

    /// <summary><c>inter.broker.listener.name</c>; defaults to PLAINTEXT when that listener exists, else the first broker listener.</summary>
    public string InterBrokerListenerName { get; }

    /// <summary><c>controller.quorum.voters</c> (may be empty).</summary>
    public IReadOnlyList<QuorumVoter> ControllerQuorumVoters { get; }

    /// <summary><c>http.listeners</c> (ours): where /healthz, /readyz and /metrics are served; empty disables HTTP.</summary>
    public IReadOnlyList<ListenerEndpoint> HttpListeners { get; }

    /// <summary><c>tributary.log.level</c> (ours, default Information).</summary>
    public LogLevel LogLevel { get; }

    /// <summary><c>tributary.log.format</c> (ours): true for one JSON object per console line, false (default) for text lines.</summary>
    public bool LogFormatJson { get; }

    // ---- Storage and topic defaults -----------------------------------------------------------------------------

    /// <summary><c>log.dirs</c>, falling back to <c>log.dir</c> (default /tmp/kraft-combined-logs).</summary>
    public IReadOnlyList<string> LogDirs { get; }

    public int NumPartitions { get; }
    public int DefaultReplicationFactor { get; }
    public int MinInsyncReplicas { get; }
    public bool AutoCreateTopicsEnable { get; }

    /// <summary><c>socket.request.max.bytes</c>: a larger request frame closes the connection.</summary>
    public int SocketRequestMaxBytes { get; }

    /// <summary><c>message.max.bytes</c>: largest record batch (topic synonym max.message.bytes).</summary>
    public int MessageMaxBytes { get; }

    /// <summary><c>compression.type</c> (default producer).</summary>
    public string CompressionType { get; }

    /// <summary>Retention in ms from log.retention.ms, else .minutes, else .hours (Kafka's precedence); -1 = unlimited.</summary>
    public long LogRetentionMs { get; }

    /// <summary><c>log.retention.bytes</c>; -1 = unlimited.</summary>
    public long LogRetentionBytes { get; }

    public int LogSegmentBytes { get; }

    /// <summary>Segment roll time in ms from log.roll.ms, else log.roll.hours.</summary>
    public long LogRollMs { get; }

    /// <summary>Segment roll jitter in ms from log.roll.jitter.ms, else log.roll.jitter.hours.</summary>
    public long LogRollJitterMs { get; }

    public int LogIndexIntervalBytes { get; }
    public int LogIndexSizeMaxBytes { get; }

    /// <summary><c>log.segment.delete.delay.ms</c> (topic synonym file.delete.delay.ms).</summary>
    public long LogSegmentDeleteDelayMs { get; }

    public bool LogPreallocate { get; }
    public long LogRetentionCheckIntervalMs { get; }

    /// <summary><c>log.cleanup.policy</c>: "delete" and/or "compact".</summary>
    public IReadOnlyList<string> LogCleanupPolicy { get; }

    public MessageTimestampType LogMessageTimestampType { get; }
    public long LogMessageTimestampBeforeMaxMs { get; }
    public long LogMessageTimestampAfterMaxMs { get; }

    /// <summary><c>log.flush.interval.messages</c>; Long.MaxValue = never flush by count.</summary>
    public long LogFlushIntervalMessages { get; }

    /// <summary><c>log.flush.interval.ms</c>; null = use <see cref="LogFlushSchedulerIntervalMs"/>.</summary>
    public long? LogFlushIntervalMs { get; }

    public long LogFlushSchedulerIntervalMs { get; }

    /// <summary>The flush interval that applies: log.flush.interval.ms, else log.flush.scheduler.interval.ms (Kafka's rule).</summary>
    public long EffectiveLogFlushIntervalMs => LogFlushIntervalMs ?? LogFlushSchedulerIntervalMs;

    public bool LogCleanerEnable { get; }
    public int LogCleanerThreads { get; }
    public double LogCleanerIoMaxBytesPerSecond { get; }
    public double LogCleanerMinCleanableRatio { get; }
    public long LogCleanerDeleteRetentionMs { get; }
    public long LogCleanerMinCompactionLagMs { get; }
    public long LogCleanerMaxCompactionLagMs { get; }
    public long LogCleanerBackoffMs { get; }

    // ---- Replication --------------------------------------------------------------------------------------------

    public long ReplicaLagTimeMaxMs { get; }
    public long ProducerIdExpirationMs { get; }
    public long ProducerIdExpirationCheckIntervalMs { get; }
    public bool UncleanLeaderElectionEnable { get; }
    public int ReplicaFetchMaxBytes { get; }
    public int ReplicaFetchResponseMaxBytes { get; }
    public int ReplicaFetchWaitMaxMs { get; }
    public bool ControlledShutdownEnable { get; }
    public int ReplicaFetchMinBytes { get; }
    public int ReplicaFetchBackoffMs { get; }
    public long ReplicaHighWatermarkCheckpointIntervalMs { get; }
    public bool AutoLeaderRebalanceEnable { get; }
    public long LeaderImbalanceCheckIntervalSeconds { get; }
    public int LeaderImbalancePerBrokerPercentage { get; }
    public int BrokerHeartbeatIntervalMs { get; }
    public int BrokerSessionTimeoutMs { get; }
    public int ControllerQuorumElectionTimeoutMs { get; }
    public int ControllerQuorumHeartbeatIntervalMs { get; }
    public int ControllerQuorumRequestTimeoutMs { get; }

    // ---- Group coordinator --------------------------------------------------------------------------------------

    public int OffsetsTopicNumPartitions { get; }

    /// <summary><c>offsets.topic.replication.factor</c> (Kafka default 3; single-broker setups must set 1).</summary>
    public short OffsetsTopicReplicationFactor { get; }

    public int OffsetsTopicSegmentBytes { get; }
    public int OffsetsRetentionMinutes { get; }
    public int OffsetsCommitTimeoutMs { get; }
    public long OffsetsRetentionCheckIntervalMs { get; }
    public int GroupMinSessionTimeoutMs { get; }
    public int GroupMaxSessionTimeoutMs { get; }
    public int GroupInitialRebalanceDelayMs { get; }
    public int GroupMaxSize { get; }

    // ---- Raw view for DescribeConfigs ---------------------------------------------------------------------------

    /// <summary>Every known key with its effective value (explicit or default; null where Kafka's default is null).</summary>
    public IReadOnlyDictionary<string, string?> Effective { get; }

    /// <summary>
    /// This (static) config with dynamic broker configs (KIP-226) layered over it, in Kafka's precedence: per-broker dynamic
    /// over cluster-wide dynamic default over static. Throws <see cref="ConfigException"/> when the combination is invalid.
    /// </summary>
    public BrokerConfig WithDynamic(IReadOnlyDictionary<string, string> clusterDefault, IReadOnlyDictionary<string, string> perBroker)
    {
        ArgumentNullException.ThrowIfNull(clusterDefault);
        ArgumentNullException.ThrowIfNull(perBroker);
        var settings = new Dictionary<string, ConfigSetting>(_explicit, StringComparer.Ordinal);
        foreach (var (key, value) in clusterDefault)
        {
            settings[key] = new ConfigSetting(key, value, BrokerConfigSource.DynamicDefaultBroker, "dynamic cluster-wide default");
        }

        foreach (var (key, value) in perBroker)
        {
            settings[key] = new ConfigSetting(key, value, BrokerConfigSource.DynamicBroker, $"dynamic config of broker {NodeId}");
        }

        return new BrokerConfig(settings);
    }

    /// <summary>True when nobody set <paramref name="key"/> (its value is the default).</summary>
    public bool IsDefault(string key) => !_explicit.ContainsKey(key);

    /// <summary>True when the value of <paramref name="key"/> must not be shown (DescribeConfigs returns null for it).</summary>
    public static bool IsSensitive(string key) => BrokerConfigDefinitions.IsSensitive(key);

    /// <summary>Which source supplied the effective value of <paramref name="key"/>.</summary>
    public BrokerConfigSource SourceOf(string key) => _explicit.TryGetValue(key, out var s) ? s.Source : BrokerConfigSource.Default;

    /// <summary>Human-readable origin of an explicit value ("server.properties line 3", "--override", …), null for defaults.</summary>
    public string? OriginOf(string key) => _explicit.TryGetValue(key, out var s) ? s.Origin : null;

    /// <summary>The effective value of a known key; null when unset with a null default.</summary>
    public string? GetString(string key) =>
        Effective.TryGetValue(key, out var value) ? value : throw new ArgumentException($"'{key}' is not a known configuration key.", nameof(key));

    public int GetInt(string key) => ConfigValues.ParseInt(Required(key));

    public long GetLong(string key) => ConfigValues.ParseLong(Required(key));

    public long? GetNullableLong(string key) => GetString(key) is { } value ? ConfigValues.ParseLong(value) : null;

    public double GetDouble(string key) => ConfigValues.ParseDouble(Required(key));

    public bool GetBoolean(string key) => ConfigValues.ParseBoolean(Required(key));

    public IReadOnlyList<string> GetList(string key) => GetString(key) is { } value ? ConfigValues.SplitList(value) : [];

    private string Required(string key) =>
        GetString(key) ?? throw new InvalidOperationException($"Configuration '{key}' has no value and no default.");

    private static ConfigDefinition Definition(string key) => BrokerConfigDefinitions.All[key];

    private ConfigException Invalid(string key, string expectation) =>
        new(Definition(key).InvalidValueMessage(GetString(key) ?? "", expectation, OriginOf(key)));

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static ProcessRoles ParseRoles(IReadOnlyList<string> roles)
    {
        var result = ProcessRoles.None;
        foreach (var role in roles)
        {
            result |= role.Equals("broker", StringComparison.OrdinalIgnoreCase) ? ProcessRoles.Broker : ProcessRoles.Controller;
        }

        return result;
    }

    /// <summary>Kafka's precedence for time triples: the finest unit that is set wins; any negative result means unlimited (-1).</summary>
    private long ResolveMillis(string msKey, string? minutesKey, string hoursKey)
    {
        long millis;
        if (GetNullableLong(msKey) is { } ms)
        {
            millis = ms;
        }
        else if (minutesKey is not null && GetNullableLong(minutesKey) is { } minutes)
        {
            millis = minutes * 60_000L;
        }
        else
        {
            millis = GetLong(hoursKey) * 3_600_000L;
        }

        return millis < 0 ? -1 : millis;
    }

    private FrozenDictionary<string, string> ParseSecurityProtocolMap()
    {
        const string key = "listener.security.protocol.map";
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in GetList(key))
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var name = colon > 0 ? entry[..colon].Trim().ToUpperInvariant() : "";
            var protocol = colon > 0 ? entry[(colon + 1)..].Trim().ToUpperInvariant() : "";
            if (name.Length == 0 || !SecurityProtocols.Contains(protocol))
            {
                throw Invalid(key, $"comma-separated NAME:PROTOCOL pairs with PROTOCOL one of [{string.Join(", ", SecurityProtocols)}] (bad entry '{entry}')");
            }

            if (!map.TryAdd(name, protocol))
            {
                throw Invalid(key, $"each listener name at most once ('{name}' repeats)");
            }
        }

        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private IReadOnlyList<ListenerEndpoint> ParseListeners(string key) =>
        ListenerEndpoint.ParseList(Definition(key), GetString(key) ?? "", ListenerSecurityProtocolMap, OriginOf(key));

    private void RequirePlaintextOnly(IReadOnlyList<ListenerEndpoint> listeners)
    {
        foreach (var listener in listeners)
        {
            if (listener.SecurityProtocol != "PLAINTEXT")
            {
                throw Invalid("listeners", $"PLAINTEXT listeners only; '{listener}' uses {listener.SecurityProtocol}, which Tributary does not support yet");
            }
        }
    }

    private IReadOnlyList<ListenerEndpoint> ResolveAdvertisedListeners()
    {
        const string key = "advertised.listeners";
        IReadOnlyList<ListenerEndpoint> advertised;
        if (IsDefault(key))
        {
            advertised = BrokerListeners;
        }
        else
        {
            advertised = ParseListeners(key);
            foreach (var listener in advertised)
            {
                if (!Listeners.Any(l => l.Name == listener.Name))
                {
                    throw Invalid(key, $"listener names that appear in listeners ('{listener.Name}' does not)");
                }

                if (listener.Host is "0.0.0.0" or "::")
                {
                    throw Invalid(key, $"a routable host; '{listener}' uses a wildcard address clients cannot connect to");
                }
            }
        }

        // A wildcard binds every interface but is no address a client can dial; Kafka substitutes the host name,
        // we prefer localhost so that a laptop run works without DNS. Clusters set advertised.listeners explicitly.
        return advertised
            .Select(l => l.BindsAllInterfaces ? l with { Host = WildcardAdvertisedHost } : l)
            .ToArray();
    }

    private string ResolveInterBrokerListenerName()
    {
        const string key = "inter.broker.listener.name";
        if (GetString(key) is { Length: > 0 } configured)
        {
            var name = configured.ToUpperInvariant();
            if (!BrokerListeners.Any(l => l.Name == name))
            {
                throw Invalid(key, "the name of one of the broker listeners in listeners");
            }

            return name;
        }

        return BrokerListeners.FirstOrDefault(l => l.Name == "PLAINTEXT")?.Name ?? BrokerListeners.FirstOrDefault()?.Name ?? "PLAINTEXT";
    }
}
