using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;

namespace Tributary.Broker.Config;

/// <summary>
/// Dynamic broker configs (KIP-226): the keys Kafka lets AlterConfigs / IncrementalAlterConfigs change on a BROKER resource
/// without a restart, layered over this broker's static config. The values live in the metadata log (ConfigRecords of
/// resource type BROKER: "" = cluster-wide default, "&lt;id&gt;" = one broker), so every broker applies the same ones as the
/// metadata arrives and after a restart. Precedence, as in Kafka: per-broker dynamic &gt; cluster-wide dynamic default &gt;
/// static (server.properties, environment, command line) &gt; built-in default.
/// </summary>
public sealed class DynamicBrokerConfig
{
    /// <summary>
    /// Kafka's dynamically updatable broker keys (DynamicBrokerConfig.AllDynamicConfigs) that Tributary applies live: the
    /// broker-level defaults of topic configs (DynamicLogConfig: the primary broker synonym of each topic config), which
    /// flow into every topic without an override, existing ones included. Every other key Tributary knows (listeners,
    /// node.id, log.dirs, the cleaner's threads and throttle, which the running cleaner does not reload yet, …) is refused with
    /// "Cannot update these configs dynamically", Kafka's answer for a key it cannot change live.
    /// </summary>
    public static readonly FrozenSet<string> UpdatableKeys = new[]
    {
        "log.segment.bytes", "log.roll.ms", "log.roll.jitter.ms", "log.index.size.max.bytes", "log.flush.interval.messages",
        "log.flush.interval.ms", "log.retention.bytes", "log.retention.ms", "message.max.bytes", "log.index.interval.bytes",
        "log.cleaner.delete.retention.ms", "log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms",
        "log.segment.delete.delay.ms", "log.cleaner.min.cleanable.ratio", "log.cleanup.policy", "unclean.leader.election.enable",
        "min.insync.replicas", "compression.type", "compression.gzip.level", "compression.lz4.level", "compression.zstd.level",
        "log.preallocate", "log.message.timestamp.type", "log.message.timestamp.before.max.ms", "log.message.timestamp.after.max.ms",
        "log.local.retention.ms", "log.local.retention.bytes",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly ImmutableDictionary<string, string> None = ImmutableDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);

    private readonly Lock _gate = new();
    private volatile Layers _layers;

    public DynamicBrokerConfig(BrokerConfig staticConfig)
    {
        ArgumentNullException.ThrowIfNull(staticConfig);
        Static = staticConfig;
        _layers = new Layers(staticConfig, None, None);
    }

    /// <summary>The config from file, environment and command line.</summary>
    public BrokerConfig Static { get; }

    /// <summary>The effective config: the dynamic layers over <see cref="Static"/>.</summary>
    public BrokerConfig Current => _layers.Effective;

    /// <summary>The cluster-wide dynamic default now applied.</summary>
    public IReadOnlyDictionary<string, string> ClusterDefault => _layers.ClusterDefault;

    /// <summary>This broker's own dynamic configs now applied.</summary>
    public IReadOnlyDictionary<string, string> PerBroker => _layers.PerBroker;

    /// <summary>The resource name of this broker's own dynamic configs.</summary>
    public string BrokerResourceName => Static.NodeId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Applies the dynamic layers as the metadata now has them. Returns true when the effective config changed; false when
    /// nothing changed, or when the combination is invalid (<paramref name="error"/> says why; the previous config stays).
    /// </summary>
    public bool Apply(ImmutableDictionary<string, string> clusterDefault, ImmutableDictionary<string, string> perBroker, out string? error)
    {
        ArgumentNullException.ThrowIfNull(clusterDefault);
        ArgumentNullException.ThrowIfNull(perBroker);
        error = null;
        lock (_gate)
        {
            var current = _layers;
            if (ReferenceEquals(current.ClusterDefault, clusterDefault) && ReferenceEquals(current.PerBroker, perBroker))
            {
                return false;
            }

            try
            {
                _layers = new Layers(Static.WithDynamic(clusterDefault, perBroker), clusterDefault, perBroker);
                return true;
            }
            catch (ConfigException e)
            {
                error = e.Message;
                return false;
            }
        }
    }

    /// <summary>
    /// Checks a broker resource's complete new dynamic config set as Kafka's broker does before forwarding it (DynamicBrokerConfig
    /// .validateConfigs): only dynamically updatable keys, valid values, and a valid combination with the other layer as this
    /// broker has it. Returns null when valid, else the message for Kafka's INVALID_REQUEST.
    /// </summary>
    public string? Validate(IReadOnlyDictionary<string, string> configs, bool perBroker)
    {
        ArgumentNullException.ThrowIfNull(configs);
        var unknown = configs.Keys.Where(k => !BrokerConfigDefinitions.All.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            return $"Unknown broker configs: {string.Join(", ", unknown)}";
        }

        var fixedKeys = configs.Keys.Where(k => !UpdatableKeys.Contains(k)).Order(StringComparer.Ordinal).ToList();
        if (fixedKeys.Count > 0)
        {
            return $"Cannot update these configs dynamically: {string.Join(", ", fixedKeys)}";
        }

        foreach (var (key, value) in configs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var definition = BrokerConfigDefinitions.All[key];
            if (definition.Validate(value) is { } expectation)
            {
                return definition.InvalidValueMessage(value, expectation);
            }
        }

        var layers = _layers;
        try
        {
            _ = perBroker ? Static.WithDynamic(layers.ClusterDefault, configs) : Static.WithDynamic(configs, layers.PerBroker);
            return null;
        }
        catch (ConfigException e)
        {
            return e.Message;
        }
    }

    /// <summary>Every config of this broker as DescribeConfigs reports it, with Kafka's sources and synonyms (most specific first).</summary>
    public IReadOnlyList<BrokerConfigEntry> DescribeBroker()
    {
        var layers = _layers;
        return BrokerConfigDefinitions.All.Values
            .OrderBy(d => d.Name, StringComparer.Ordinal)
            .Select(d => Describe(d, layers, includePerBroker: true))
            .ToList();
    }

    /// <summary>The cluster-wide dynamic defaults (DescribeConfigs on the broker resource ""), as Kafka lists them: only those set.</summary>
    public IReadOnlyList<BrokerConfigEntry> DescribeClusterDefault()
    {
        var layers = _layers;
        return layers.ClusterDefault.Keys
            .Where(BrokerConfigDefinitions.All.ContainsKey)
            .Order(StringComparer.Ordinal)
            .Select(k => Describe(BrokerConfigDefinitions.All[k], layers, includePerBroker: false))
            .ToList();
    }

    private BrokerConfigEntry Describe(ConfigDefinition definition, Layers layers, bool includePerBroker)
    {
        var name = definition.Name;
        var synonyms = new List<BrokerConfigSynonym>(4);
        if (includePerBroker && layers.PerBroker.TryGetValue(name, out var own))
        {
            synonyms.Add(new BrokerConfigSynonym(name, own, TopicConfigSource.DynamicBrokerConfig));
        }

        if (layers.ClusterDefault.TryGetValue(name, out var clusterDefault))
        {
            synonyms.Add(new BrokerConfigSynonym(name, clusterDefault, TopicConfigSource.DynamicDefaultBrokerConfig));
        }

        if (!Static.IsDefault(name))
        {
            synonyms.Add(new BrokerConfigSynonym(name, Static.GetString(name), TopicConfigSource.BrokerConfig));
        }

        if (definition.DefaultValue is not null)
        {
            synonyms.Add(new BrokerConfigSynonym(name, definition.DefaultValue, TopicConfigSource.Default));
        }

        var value = includePerBroker ? layers.Effective.GetString(name) : clusterDefault;
        var source = synonyms.Count > 0 ? synonyms[0].Source : TopicConfigSource.Default;
        return new BrokerConfigEntry(definition, value, source, ReadOnly: !UpdatableKeys.Contains(name), synonyms);
    }

    private sealed record Layers(BrokerConfig Effective, IReadOnlyDictionary<string, string> ClusterDefault, IReadOnlyDictionary<string, string> PerBroker);
}

/// <summary>One broker config as DescribeConfigs reports it.</summary>
public sealed record BrokerConfigEntry(ConfigDefinition Definition, string? Value, TopicConfigSource Source, bool ReadOnly,
    IReadOnlyList<BrokerConfigSynonym> Synonyms);

/// <summary>A level a broker config's value may come from (KIP-226 synonyms), with the value set there.</summary>
public sealed record BrokerConfigSynonym(string Name, string? Value, TopicConfigSource Source);
