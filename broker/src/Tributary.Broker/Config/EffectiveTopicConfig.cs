namespace Tributary.Broker.Config;

/// <summary>A broker-level key that feeds a topic config, as DescribeConfigs reports synonyms (most specific first).</summary>
public sealed record ConfigSynonym(string Name, string? Value, TopicConfigSource Source);

/// <summary>One topic config's effective value and where it came from (DescribeConfigs TOPIC resources).</summary>
public sealed record TopicConfigValue(
    string Name,
    string? Value,
    TopicConfigSource Source,
    bool IsSensitive,
    IReadOnlyList<ConfigSynonym> Synonyms,
    TopicConfigDefinition Definition)
{
    public bool IsDefault => Source == TopicConfigSource.Default;
}

/// <summary>A topic's configuration after applying its overrides over the broker defaults; immutable.</summary>
public sealed class EffectiveTopicConfig
{
    internal EffectiveTopicConfig(IReadOnlyDictionary<string, TopicConfigValue> entries)
    {
        Entries = entries;
        CleanupPolicy = ConfigValues.SplitList(Value("cleanup.policy"))
            .Select(p => ConfigValues.Canonical(p, BrokerConfigDefinitions.CleanupPolicies)).Distinct().ToArray();
        CompressionType = ConfigValues.Canonical(Value("compression.type"), BrokerConfigDefinitions.CompressionTypes);
        DeleteRetentionMs = Long("delete.retention.ms");
        FileDeleteDelayMs = Long("file.delete.delay.ms");
        FlushMessages = Long("flush.messages");
        FlushMs = Long("flush.ms");
        IndexIntervalBytes = Int("index.interval.bytes");
        MaxCompactionLagMs = Long("max.compaction.lag.ms");
        MaxMessageBytes = Int("max.message.bytes");
        MessageTimestampAfterMaxMs = TimestampLimit("message.timestamp.after.max.ms");
        MessageTimestampBeforeMaxMs = TimestampLimit("message.timestamp.before.max.ms");
        TimestampType = Enum.Parse<MessageTimestampType>(ConfigValues.Canonical(Value("message.timestamp.type"), BrokerConfigDefinitions.TimestampTypes));
        MinCleanableDirtyRatio = ConfigValues.ParseDouble(Value("min.cleanable.dirty.ratio"));
        MinCompactionLagMs = Long("min.compaction.lag.ms");
        MinInsyncReplicas = Int("min.insync.replicas");
        Preallocate = ConfigValues.ParseBoolean(Value("preallocate"));
        RetentionBytes = Long("retention.bytes");
        var retentionMs = Long("retention.ms");
        RetentionMs = retentionMs < 0 ? -1 : retentionMs;
        SegmentBytes = Int("segment.bytes");
        SegmentIndexBytes = Int("segment.index.bytes");
        SegmentJitterMs = Long("segment.jitter.ms");
        SegmentMs = Long("segment.ms");
        UncleanLeaderElectionEnable = ConfigValues.ParseBoolean(Value("unclean.leader.election.enable"));
    }

    /// <summary>Every topic config with value, source, sensitivity and synonyms, by name.</summary>
    public IReadOnlyDictionary<string, TopicConfigValue> Entries { get; }

    /// <summary>"delete" and/or "compact".</summary>
    public IReadOnlyList<string> CleanupPolicy { get; }

    public bool IsCompacted => CleanupPolicy.Contains("compact");

    public bool IsDeleteRetentionEnabled => CleanupPolicy.Contains("delete");

    public string CompressionType { get; }
    public long DeleteRetentionMs { get; }
    public long FileDeleteDelayMs { get; }

    /// <summary>Messages between fsyncs; Long.MaxValue = leave it to the OS and replication.</summary>
    public long FlushMessages { get; }

    /// <summary>Maximum ms a message stays unflushed; Long.MaxValue = never forced.</summary>
    public long FlushMs { get; }

    public int IndexIntervalBytes { get; }
    public long MaxCompactionLagMs { get; }
    public int MaxMessageBytes { get; }
    public long MessageTimestampAfterMaxMs { get; }
    public long MessageTimestampBeforeMaxMs { get; }
    public MessageTimestampType TimestampType { get; }
    public double MinCleanableDirtyRatio { get; }
    public long MinCompactionLagMs { get; }
    public int MinInsyncReplicas { get; }
    public bool Preallocate { get; }

    /// <summary>Bytes kept per partition; -1 = unlimited.</summary>
    public long RetentionBytes { get; }

    /// <summary>Age of data kept; -1 = unlimited.</summary>
    public long RetentionMs { get; }

    public int SegmentBytes { get; }
    public int SegmentIndexBytes { get; }
    public long SegmentJitterMs { get; }
    public long SegmentMs { get; }
    public bool UncleanLeaderElectionEnable { get; }

    /// <summary>The effective value of any topic config by name (null only where Kafka's value is null).</summary>
    public string? this[string name] => Entries[name].Value;

    private string Value(string name) => Entries[name].Value ?? throw new InvalidOperationException($"Topic config '{name}' has no value.");

    private int Int(string name) => ConfigValues.ParseInt(Value(name));

    /// <summary>
    /// Kafka 3.x (until KIP-937's key was removed in 4.0): a topic's message.timestamp.difference.max.ms bounds a direction
    /// whose own key (before/after.max.ms) the topic does not set.
    /// </summary>
    private long TimestampLimit(string name) =>
        Entries[name].Source != TopicConfigSource.TopicOverride
        && Entries.TryGetValue(RemovedTopicConfigs.MessageTimestampDifferenceMaxMs, out var difference)
            ? ConfigValues.ParseLong(difference.Value!)
            : Long(name);

    private long Long(string name) => ConfigValues.ParseLong(Value(name));
}
