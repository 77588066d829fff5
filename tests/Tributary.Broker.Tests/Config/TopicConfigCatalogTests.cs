using Tributary.Broker.Config;

namespace Tributary.Broker.Tests.Config;

public sealed class TopicConfigCatalogTests
{
    private static readonly Dictionary<string, string> NoOverrides = [];

    [Theory]
    [InlineData("retention.ms", "86400000")]
    [InlineData("retention.ms", "-1")]
    [InlineData("cleanup.policy", "compact,delete")]
    [InlineData("cleanup.policy", "compact")]
    [InlineData("message.timestamp.type", "LogAppendTime")]
    [InlineData("min.cleanable.dirty.ratio", "0.1")]
    [InlineData("compression.type", "zstd")]
    [InlineData("unclean.leader.election.enable", "true")]
    [InlineData("max.message.bytes", "2097152")]
    public void Validate_accepts_valid_values(string name, string value)
    {
        Assert.Null(TopicConfigCatalog.Validate(name, value));
    }

    [Theory]
    [InlineData("retention.ms", "soon", "a 64-bit integer >= -1")]
    [InlineData("cleanup.policy", "archive", "[compact, delete]")]
    [InlineData("message.timestamp.type", "BrokerTime", "[CreateTime, LogAppendTime]")]
    [InlineData("min.cleanable.dirty.ratio", "2", "[0, 1]")]
    [InlineData("segment.ms", "0", ">= 1")]
    [InlineData("min.insync.replicas", "0", ">= 1")]
    [InlineData("preallocate", "maybe", "true or false")]
    [InlineData("compression.gzip.level", "12", "[1, 9]")]
    public void Validate_rejects_invalid_values_with_a_message_naming_config_and_value(string name, string value, string expected)
    {
        var error = TopicConfigCatalog.Validate(name, value);

        Assert.NotNull(error);
        Assert.Contains($"'{name}'", error, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_rejects_unknown_config_names()
    {
        Assert.Equal("Unknown topic config name: retention.days", TopicConfigCatalog.Validate("retention.days", "7"));
    }

    [Fact]
    public void Validate_rejects_a_minimum_compaction_lag_above_the_maximum()
    {
        var error = TopicConfigCatalog.Validate(
            new Dictionary<string, string> { ["min.compaction.lag.ms"] = "1000", ["max.compaction.lag.ms"] = "10" }, BrokerConfig.Default);

        Assert.NotNull(error);
        Assert.Contains("min.compaction.lag.ms", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Catalog_maps_topic_configs_to_their_broker_default_keys()
    {
        Assert.Equal("log.cleanup.policy", TopicConfigCatalog.All["cleanup.policy"].BrokerDefaultKey);
        Assert.Equal("log.segment.bytes", TopicConfigCatalog.All["segment.bytes"].BrokerDefaultKey);
        Assert.Equal("log.roll.ms", TopicConfigCatalog.All["segment.ms"].BrokerDefaultKey);
        Assert.Equal("log.index.size.max.bytes", TopicConfigCatalog.All["segment.index.bytes"].BrokerDefaultKey);
        Assert.Equal("message.max.bytes", TopicConfigCatalog.All["max.message.bytes"].BrokerDefaultKey);
        Assert.Equal("log.cleaner.delete.retention.ms", TopicConfigCatalog.All["delete.retention.ms"].BrokerDefaultKey);
        Assert.Equal("log.cleaner.min.cleanable.ratio", TopicConfigCatalog.All["min.cleanable.dirty.ratio"].BrokerDefaultKey);
        Assert.Equal(["log.retention.ms", "log.retention.minutes", "log.retention.hours"], TopicConfigCatalog.All["retention.ms"].BrokerSynonyms);
    }

    [Fact]
    public void Catalog_describes_types_and_allowed_values()
    {
        Assert.Equal(ConfigValueType.List, TopicConfigCatalog.All["cleanup.policy"].Type);
        Assert.Equal(["compact", "delete"], TopicConfigCatalog.All["cleanup.policy"].AllowedValues);
        Assert.Equal(ConfigValueType.Long, TopicConfigCatalog.All["retention.ms"].Type);
        Assert.Equal(ConfigValueType.Double, TopicConfigCatalog.All["min.cleanable.dirty.ratio"].Type);
        Assert.Equal(ConfigValueType.Boolean, TopicConfigCatalog.All["preallocate"].Type);
        Assert.False(TopicConfigCatalog.IsSensitive("retention.ms"));
    }

    [Fact]
    public void Resolve_uses_static_defaults_when_neither_topic_nor_broker_sets_a_value()
    {
        var effective = TopicConfigCatalog.Resolve(BrokerConfig.Default, NoOverrides);

        Assert.Equal(604_800_000L, effective.RetentionMs);
        Assert.Equal(-1L, effective.RetentionBytes);
        Assert.Equal(1 << 30, effective.SegmentBytes);
        Assert.Equal(604_800_000L, effective.SegmentMs);
        Assert.Equal(long.MaxValue, effective.FlushMessages);
        Assert.Equal(long.MaxValue, effective.FlushMs);
        Assert.Equal(1_048_588, effective.MaxMessageBytes);
        Assert.Equal(1, effective.MinInsyncReplicas);
        Assert.Equal(["delete"], effective.CleanupPolicy);
        Assert.Equal(MessageTimestampType.CreateTime, effective.TimestampType);
        Assert.Equal(4096, effective.IndexIntervalBytes);
        Assert.Equal(10 * 1024 * 1024, effective.SegmentIndexBytes);
        Assert.Equal(TopicConfigSource.Default, effective.Entries["retention.ms"].Source);
        Assert.Equal("604800000", effective["retention.ms"]);
    }

    [Fact]
    public void Resolve_takes_broker_values_when_the_broker_sets_them()
    {
        var broker = BrokerConfig.FromProperties(new Dictionary<string, string>
        {
            ["log.retention.hours"] = "1",
            ["log.segment.bytes"] = "1048576",
            ["log.cleanup.policy"] = "compact",
            ["min.insync.replicas"] = "2",
        });

        var effective = TopicConfigCatalog.Resolve(broker, NoOverrides);

        Assert.Equal(3_600_000L, effective.RetentionMs);
        Assert.Equal(1_048_576, effective.SegmentBytes);
        Assert.True(effective.IsCompacted);
        Assert.False(effective.IsDeleteRetentionEnabled);
        Assert.Equal(2, effective.MinInsyncReplicas);
        Assert.Equal(TopicConfigSource.BrokerConfig, effective.Entries["retention.ms"].Source);
        Assert.Equal(TopicConfigSource.BrokerConfig, effective.Entries["segment.bytes"].Source);
        Assert.Equal(TopicConfigSource.Default, effective.Entries["max.message.bytes"].Source);
    }

    [Fact]
    public void Resolve_prefers_topic_overrides_over_broker_values()
    {
        var broker = BrokerConfig.FromProperties(new Dictionary<string, string> { ["log.retention.hours"] = "1" });

        var effective = TopicConfigCatalog.Resolve(broker, new Dictionary<string, string>
        {
            ["retention.ms"] = "5000",
            ["cleanup.policy"] = "compact,delete",
            ["message.timestamp.type"] = "LogAppendTime",
        });

        Assert.Equal(5000L, effective.RetentionMs);
        Assert.True(effective.IsCompacted);
        Assert.True(effective.IsDeleteRetentionEnabled);
        Assert.Equal(MessageTimestampType.LogAppendTime, effective.TimestampType);
        Assert.Equal(TopicConfigSource.TopicOverride, effective.Entries["retention.ms"].Source);
    }

    [Fact]
    public void Resolve_lists_synonyms_most_specific_first()
    {
        var broker = BrokerConfig.FromProperties(new Dictionary<string, string> { ["log.retention.hours"] = "1" });

        var entry = TopicConfigCatalog.Resolve(broker, new Dictionary<string, string> { ["retention.ms"] = "5000" }).Entries["retention.ms"];

        Assert.Equal(
            [
                new ConfigSynonym("retention.ms", "5000", TopicConfigSource.TopicOverride),
                new ConfigSynonym("log.retention.hours", "1", TopicConfigSource.BrokerConfig),
                new ConfigSynonym("log.retention.ms", null, TopicConfigSource.Default),
            ],
            entry.Synonyms);
    }

    [Fact]
    public void Resolve_takes_flush_ms_from_the_flush_scheduler_when_the_broker_sets_no_flush_interval()
    {
        var broker = BrokerConfig.FromProperties(new Dictionary<string, string> { ["log.flush.scheduler.interval.ms"] = "2000" });

        var effective = TopicConfigCatalog.Resolve(broker, NoOverrides);

        Assert.Equal(2000L, effective.FlushMs);
        Assert.Equal(TopicConfigSource.BrokerConfig, effective.Entries["flush.ms"].Source);
    }

    [Fact]
    public void Resolve_throws_for_an_invalid_override()
    {
        var error = Assert.Throws<ConfigException>(() =>
            TopicConfigCatalog.Resolve(BrokerConfig.Default, new Dictionary<string, string> { ["segment.bytes"] = "-1" }));

        Assert.Contains("'segment.bytes'", error.Message, StringComparison.Ordinal);
    }
}
