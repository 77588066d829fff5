using System.Collections.Frozen;
using System.Globalization;

namespace Tributary.Broker.Config;

/// <summary>Kafka's topic-level configs (names, types, validation) and how a topic's overrides combine with the broker's defaults.</summary>
public static class TopicConfigCatalog
{
    /// <summary>All topic configs by name.</summary>
    public static FrozenDictionary<string, TopicConfigDefinition> All { get; } = Build().ToFrozenDictionary(d => d.Name, StringComparer.Ordinal);

    public static bool TryGet(string name, out TopicConfigDefinition definition) => All.TryGetValue(name, out definition!);

    /// <summary>Unknown names are treated as sensitive so that a stray secret is never echoed back.</summary>
    public static bool IsSensitive(string name) =>
        All.TryGetValue(name, out var definition) ? definition.IsSensitive : !RemovedTopicConfigs.IsRemoved(name);

    /// <summary>Checks one override (Kafka 4.0's configs and, with Kafka 3.9's rules, those 4.0 removed); null when valid, else a message for Kafka's INVALID_CONFIG error.</summary>
    public static string? Validate(string name, string? value) =>
        All.TryGetValue(name, out var definition) || RemovedTopicConfigs.All.TryGetValue(name, out definition)
            ? definition.Validate(value)
            : $"Unknown topic config name: {name}";

    /// <summary>Checks a topic's complete override set, including rules across keys; null when valid.</summary>
    public static string? Validate(IReadOnlyDictionary<string, string> overrides, BrokerConfig broker)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        ArgumentNullException.ThrowIfNull(broker);
        foreach (var (name, value) in overrides)
        {
            if (Validate(name, value) is { } error)
            {
                return error;
            }
        }

        var min = Long("min.compaction.lag.ms");
        var max = Long("max.compaction.lag.ms");
        return min > max
            ? $"Conflicting topic configs: min.compaction.lag.ms ({min}) must not exceed max.compaction.lag.ms ({max})."
            : null;

        long Long(string name) =>
            ConfigValues.ParseLong(overrides.TryGetValue(name, out var v) ? v : All[name].BrokerValue(broker)!);
    }

    /// <summary>Combines topic overrides with broker defaults; throws <see cref="ConfigException"/> when an override is unknown or invalid.</summary>
    public static EffectiveTopicConfig Resolve(BrokerConfig broker, IReadOnlyDictionary<string, string> topicOverrides)
    {
        ArgumentNullException.ThrowIfNull(broker);
        ArgumentNullException.ThrowIfNull(topicOverrides);
        if (Validate(topicOverrides, broker) is { } error)
        {
            throw new ConfigException(error);
        }

        var entries = new Dictionary<string, TopicConfigValue>(All.Count, StringComparer.Ordinal);
        foreach (var definition in All.Values)
        {
            var synonyms = new List<ConfigSynonym>(definition.BrokerSynonyms.Count + 2);
            if (topicOverrides.TryGetValue(definition.Name, out var overridden))
            {
                synonyms.Add(new ConfigSynonym(definition.Name, overridden.Trim(), TopicConfigSource.TopicOverride));
            }

            var brokerSource = TopicConfigSource.Default;
            foreach (var key in definition.BrokerSynonyms)
            {
                if (!broker.IsDefault(key))
                {
                    var keySource = SourceOf(broker, key);
                    synonyms.Add(new ConfigSynonym(key, broker.GetString(key), keySource));
                    brokerSource = brokerSource == TopicConfigSource.Default ? keySource : brokerSource;
                }
            }

            var brokerValue = definition.BrokerValue(broker);
            if (definition.BrokerDefaultKey is { } defaultKey)
            {
                synonyms.Add(new ConfigSynonym(defaultKey, BrokerConfigDefinitions.All[defaultKey].DefaultValue, TopicConfigSource.Default));
            }

            var (value, source) = overridden is not null
                ? (overridden.Trim(), TopicConfigSource.TopicOverride)
                : (brokerValue, brokerSource);
            entries[definition.Name] = new TopicConfigValue(definition.Name, value, source, definition.IsSensitive, synonyms, definition);
        }

        // Configs Kafka 4.0 removed appear only where the topic set them (see RemovedTopicConfigs).
        foreach (var (name, value) in topicOverrides)
        {
            if (RemovedTopicConfigs.All.TryGetValue(name, out var removed))
            {
                entries[name] = new TopicConfigValue(name, value.Trim(), TopicConfigSource.TopicOverride, false,
                    [new ConfigSynonym(name, value.Trim(), TopicConfigSource.TopicOverride)], removed);
            }
        }

        return new EffectiveTopicConfig(entries);
    }

    /// <summary>How DescribeConfigs names where a broker key's value came from (static file, dynamic default, dynamic per broker).</summary>
    private static TopicConfigSource SourceOf(BrokerConfig broker, string key) => broker.SourceOf(key) switch
    {
        BrokerConfigSource.DynamicBroker => TopicConfigSource.DynamicBrokerConfig,
        BrokerConfigSource.DynamicDefaultBroker => TopicConfigSource.DynamicDefaultBrokerConfig,
        BrokerConfigSource.Default => TopicConfigSource.Default,
        _ => TopicConfigSource.BrokerConfig,
    };

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static IEnumerable<TopicConfigDefinition> Build()
    {
        const ConfigValueType Bool = ConfigValueType.Boolean;
        const ConfigValueType Long = ConfigValueType.Long;
        const ConfigValueType List = ConfigValueType.List;
        var longMax = BrokerConfigDefinitions.LongMax;

        // Topic configs whose only broker synonym has the same semantics reuse the broker key's range and allowed values.
        TopicConfigDefinition Same(string name, string brokerKey, string doc)
        {
            var b = BrokerConfigDefinitions.All[brokerKey];
            return new TopicConfigDefinition(
                new ConfigDefinition(name, b.Type, b.DefaultValue, doc, b.Minimum, b.Maximum, b.AllowedValues, b.IsSensitive, v => b.Validate(v)),
                [brokerKey]);
        }

        yield return Same("cleanup.policy", "log.cleanup.policy", "delete and/or compact.");
        yield return Same("compression.type", "compression.type", "Final compression of appended batches; producer keeps the producer's codec.");
        yield return Same("compression.gzip.level", "compression.gzip.level", "gzip level (KIP-390).");
        yield return Same("compression.lz4.level", "compression.lz4.level", "lz4 level (KIP-390).");
        yield return Same("compression.zstd.level", "compression.zstd.level", "zstd level (KIP-390).");
        yield return Same("delete.retention.ms", "log.cleaner.delete.retention.ms", "How long tombstones stay in a compacted log.");
        yield return Same("file.delete.delay.ms", "log.segment.delete.delay.ms", "Delay before a deleted segment's files are removed.");
        yield return Same("flush.messages", "log.flush.interval.messages", "Messages appended before an fsync.");
        yield return new TopicConfigDefinition(
            new ConfigDefinition("flush.ms", Long, longMax, "Maximum time a message stays unflushed.", minimum: 0),
            ["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
            b => Invariant(b.EffectiveLogFlushIntervalMs));
        yield return new TopicConfigDefinition(
            new ConfigDefinition("follower.replication.throttled.replicas", List, "", "Replicas throttled on the follower side: partition:broker pairs or *."), []);
        yield return new TopicConfigDefinition(
            new ConfigDefinition("leader.replication.throttled.replicas", List, "", "Replicas throttled on the leader side: partition:broker pairs or *."), []);
        yield return Same("index.interval.bytes", "log.index.interval.bytes", "Bytes between offset index entries.");
        yield return Same("local.retention.bytes", "log.local.retention.bytes", "Local retention size with tiered storage (-2 = retention.bytes).");
        yield return Same("local.retention.ms", "log.local.retention.ms", "Local retention time with tiered storage (-2 = retention.ms).");
        yield return Same("max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", "Maximum age before a record must be eligible for compaction.");
        yield return Same("max.message.bytes", "message.max.bytes", "Largest record batch this topic accepts.");
        yield return Same("message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms", "Largest allowed future skew of CreateTime (KIP-937).");
        yield return Same("message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms", "Largest allowed age of CreateTime (KIP-937).");
        yield return Same("message.timestamp.type", "log.message.timestamp.type", "CreateTime or LogAppendTime.");
        yield return Same("min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", "Minimum dirty ratio before the log is cleaned.");
        yield return Same("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", "Minimum age before a record may be compacted.");
        yield return Same("min.insync.replicas", "min.insync.replicas", "Minimum in-sync replicas for acks=all writes.");
        yield return Same("preallocate", "log.preallocate", "Preallocate segment files.");
        yield return new TopicConfigDefinition(
            new ConfigDefinition("remote.storage.enable", Bool, "false", "Tiered storage for this topic (not supported by Tributary yet)."), []);
        yield return Same("retention.bytes", "log.retention.bytes", "Retention size per partition (-1 = unlimited).");
        yield return new TopicConfigDefinition(
            new ConfigDefinition("retention.ms", Long, "604800000", "Retention time (-1 = unlimited).", minimum: -1),
            ["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
            b => Invariant(b.LogRetentionMs));
        yield return Same("segment.bytes", "log.segment.bytes", "Segment file size before rolling.");
        yield return Same("segment.index.bytes", "log.index.size.max.bytes", "Maximum offset/time index file size.");
        yield return new TopicConfigDefinition(
            new ConfigDefinition("segment.jitter.ms", Long, "0", "Maximum random jitter subtracted from segment.ms.", minimum: 0),
            ["log.roll.jitter.ms", "log.roll.jitter.hours"],
            b => Invariant(b.LogRollJitterMs));
        yield return new TopicConfigDefinition(
            new ConfigDefinition("segment.ms", Long, "604800000", "Segment age before rolling.", minimum: 1),
            ["log.roll.ms", "log.roll.hours"],
            b => Invariant(b.LogRollMs));
        yield return Same("unclean.leader.election.enable", "unclean.leader.election.enable", "Allow out-of-sync replicas to become leader (may lose data).");
    }
}
