using System.Globalization;
using System.Text;

namespace Tributary.Connect.Runtime;

/// <summary>The worker's <c>exactly.once.source.support</c> setting.</summary>
public enum ExactlyOnceSourceSupport
{
    Disabled,
    Preparing,
    Enabled,
}

/// <summary>The worker's properties (Kafka's worker config key names and defaults).</summary>
public sealed class WorkerConfig
{
    private readonly Dictionary<string, string> props;

    public WorkerConfig(IReadOnlyDictionary<string, string> props)
    {
        this.props = new Dictionary<string, string>(props, StringComparer.Ordinal);
        BootstrapServers = Get("bootstrap.servers", "localhost:9092");
        var listener = Get("listeners", "http://:8083").Split(',')[0].Trim();
        if (!Uri.TryCreate(listener.Replace("://:", "://0.0.0.0:", StringComparison.Ordinal), UriKind.Absolute, out var uri) || uri.Scheme != "http")
        {
            throw new ArgumentException($"Invalid value {listener} for configuration listeners: expected http://host:port");
        }

        ListenHost = uri.Host;
        ListenPort = uri.Port;
        var advertisedHost = props.GetValueOrDefault("rest.advertised.host.name") is { Length: > 0 } h ? h : ListenHost is "0.0.0.0" or "" ? "127.0.0.1" : ListenHost;
        var advertisedPort = props.TryGetValue("rest.advertised.port", out var p) ? Int(p, "rest.advertised.port") : ListenPort;
        AdvertisedUrl = $"http://{advertisedHost}:{advertisedPort}/";
        WorkerId = $"{advertisedHost}:{advertisedPort}";
        PluginPath = Get("plugin.path", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        GroupId = Get("group.id", "connect-cluster");
        ConfigTopic = Get("config.storage.topic", "connect-configs");
        OffsetTopic = Get("offset.storage.topic", "connect-offsets");
        StatusTopic = Get("status.storage.topic", "connect-status");
        ConfigReplicationFactor = (short)Int(Get("config.storage.replication.factor", "3"), "config.storage.replication.factor");
        OffsetReplicationFactor = (short)Int(Get("offset.storage.replication.factor", "3"), "offset.storage.replication.factor");
        StatusReplicationFactor = (short)Int(Get("status.storage.replication.factor", "3"), "status.storage.replication.factor");
        OffsetPartitions = Int(Get("offset.storage.partitions", "25"), "offset.storage.partitions");
        StatusPartitions = Int(Get("status.storage.partitions", "5"), "status.storage.partitions");
        OffsetFlushIntervalMs = Int(Get("offset.flush.interval.ms", "60000"), "offset.flush.interval.ms");
        OffsetFile = Get("offset.storage.file.filename", "");
        SessionTimeoutMs = Int(Get("session.timeout.ms", "10000"), "session.timeout.ms");
        HeartbeatIntervalMs = Int(Get("heartbeat.interval.ms", "3000"), "heartbeat.interval.ms");
        RebalanceTimeoutMs = Int(Get("rebalance.timeout.ms", "60000"), "rebalance.timeout.ms");
        TaskShutdownTimeoutMs = Int(Get("task.shutdown.graceful.timeout.ms", "5000"), "task.shutdown.graceful.timeout.ms");
        // KIP-415; Kafka's default is 5 minutes.
        ScheduledRebalanceMaxDelayMs = Int(Get("scheduled.rebalance.max.delay.ms", "300000"), "scheduled.rebalance.max.delay.ms");
        if (ScheduledRebalanceMaxDelayMs < 0)
        {
            throw new ArgumentException($"scheduled.rebalance.max.delay.ms must be at least 0, got {ScheduledRebalanceMaxDelayMs}");
        }

        // KIP-618: disabled (default), preparing (the leader already fences zombies, tasks stay at-least-once: the first step
        // of a rolling upgrade), enabled.
        ExactlyOnceSourceSupport = Get("exactly.once.source.support", "disabled").Trim().ToLowerInvariant() switch
        {
            "disabled" => ExactlyOnceSourceSupport.Disabled,
            "preparing" => ExactlyOnceSourceSupport.Preparing,
            "enabled" => ExactlyOnceSourceSupport.Enabled,
            var other => throw new ArgumentException($"Invalid value {other} for configuration exactly.once.source.support: String must be one of: disabled, preparing, enabled"),
        };
    }

    /// <summary>The worker's <c>exactly.once.source.support</c> (KIP-618).</summary>
    public ExactlyOnceSourceSupport ExactlyOnceSourceSupport { get; }

    /// <summary>Source tasks produce transactionally, with their offsets in the same transaction.</summary>
    public bool ExactlyOnceSourceEnabled => ExactlyOnceSourceSupport == ExactlyOnceSourceSupport.Enabled;

    /// <summary>The leader fences the previous generation's transactional producers before a source connector's new tasks start.</summary>
    public bool ZombieFencingEnabled => ExactlyOnceSourceSupport != ExactlyOnceSourceSupport.Disabled;

    /// <summary>Kafka's transactional.id of a source task: <c>{group.id}-{connector}-{task}</c>.</summary>
    public string TransactionalId(string connector, int task) => $"{GroupId}-{connector}-{task}";

    public string BootstrapServers { get; }
    public string ListenHost { get; }
    public int ListenPort { get; }
    public string AdvertisedUrl { get; }
    public string WorkerId { get; }
    public IReadOnlyList<string> PluginPath { get; }
    public string GroupId { get; }
    public string ConfigTopic { get; }
    public string OffsetTopic { get; }
    public string StatusTopic { get; }
    public short ConfigReplicationFactor { get; }
    public short OffsetReplicationFactor { get; }
    public short StatusReplicationFactor { get; }
    public int OffsetPartitions { get; }
    public int StatusPartitions { get; }
    public int OffsetFlushIntervalMs { get; }

    /// <summary>How long a departed worker's connectors and tasks wait for it before they are reassigned (KIP-415).</summary>
    public int ScheduledRebalanceMaxDelayMs { get; }
    public string OffsetFile { get; }
    public int SessionTimeoutMs { get; }
    public int HeartbeatIntervalMs { get; }
    public int RebalanceTimeoutMs { get; }
    public int TaskShutdownTimeoutMs { get; }

    public IReadOnlyDictionary<string, string> All => props;

    public string Get(string key, string fallback) => props.TryGetValue(key, out var v) && v.Length > 0 ? v : fallback;

    /// <summary>Keys under <paramref name="prefix"/> without it (e.g. <c>value.converter.schemas.enable</c>).</summary>
    public Dictionary<string, string> Subset(string prefix) => ConnectorConfig.Subset(props, prefix);

    private static int Int(string raw, string key) =>
        int.TryParse(raw.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"Invalid value {raw} for configuration {key}: Not a number of type INT");

    /// <summary>Reads a Java properties file (<c>key=value</c> or <c>key: value</c>, <c>#</c>/<c>!</c> comments, <c>\</c> continuations).</summary>
    public static Dictionary<string, string> ReadProperties(string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var pending = new StringBuilder();
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.TrimStart();
            if (pending.Length == 0 && (line.Length == 0 || line[0] is '#' or '!'))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending.Append(line[..^1]);
                continue;
            }

            pending.Append(line);
            var full = pending.ToString();
            pending.Clear();
            var sep = full.IndexOfAny(['=', ':']);
            if (sep < 0)
            {
                result[full.Trim()] = "";
                continue;
            }

            result[full[..sep].Trim()] = full[(sep + 1)..].Trim();
        }

        return result;
    }
}
