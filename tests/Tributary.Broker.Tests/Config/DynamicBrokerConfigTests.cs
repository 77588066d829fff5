using System.Collections.Immutable;
using Tributary.Broker.Config;

namespace Tributary.Broker.Tests.Config;

public class DynamicBrokerConfigTests
{
    private static readonly ImmutableDictionary<string, string> None = ImmutableDictionary<string, string>.Empty;

    private static DynamicBrokerConfig WithStatic(params (string Key, string Value)[] settings) =>
        new(BrokerConfig.FromProperties(settings.ToDictionary(s => s.Key, s => s.Value)));

    private static ImmutableDictionary<string, string> Configs(params (string Key, string Value)[] settings) =>
        settings.ToImmutableDictionary(s => s.Key, s => s.Value);

    [Fact]
    public void Per_broker_value_wins_over_the_cluster_default_which_wins_over_the_static_one()
    {
        var dynamic = WithStatic(("log.segment.bytes", "1000000"));

        dynamic.Apply(Configs(("log.segment.bytes", "2000000")), None, out _);
        Assert.Equal((2_000_000, BrokerConfigSource.DynamicDefaultBroker), (dynamic.Current.LogSegmentBytes, dynamic.Current.SourceOf("log.segment.bytes")));

        dynamic.Apply(Configs(("log.segment.bytes", "2000000")), Configs(("log.segment.bytes", "3000000")), out _);
        Assert.Equal((3_000_000, BrokerConfigSource.DynamicBroker), (dynamic.Current.LogSegmentBytes, dynamic.Current.SourceOf("log.segment.bytes")));

        dynamic.Apply(None, None, out _);
        Assert.Equal((1_000_000, BrokerConfigSource.ConfigFile), (dynamic.Current.LogSegmentBytes, dynamic.Current.SourceOf("log.segment.bytes")));
    }

    [Fact]
    public void Dynamic_retention_ms_wins_over_static_retention_hours_and_reaches_topics_without_an_override()
    {
        var dynamic = WithStatic(("log.retention.hours", "1"));

        dynamic.Apply(Configs(("log.retention.ms", "60000")), None, out _);
        var topic = TopicConfigCatalog.Resolve(dynamic.Current, new Dictionary<string, string>());

        Assert.Equal(60_000, topic.RetentionMs);
        Assert.Equal(TopicConfigSource.DynamicDefaultBrokerConfig, topic.Entries["retention.ms"].Source);
    }

    [Fact]
    public void Keys_that_cannot_change_live_are_refused_by_name()
    {
        var error = WithStatic().Validate(new Dictionary<string, string> { ["log.dirs"] = "/x", ["node.id"] = "7", ["log.retention.ms"] = "1" }, perBroker: true);

        Assert.Equal("Cannot update these configs dynamically: log.dirs, node.id", error);
    }

    [Fact]
    public void Invalid_values_and_invalid_combinations_are_refused()
    {
        var dynamic = WithStatic();

        Assert.Contains("min.insync.replicas", dynamic.Validate(new Dictionary<string, string> { ["min.insync.replicas"] = "0" }, perBroker: false));
        Assert.Contains("log.cleaner.max.compaction.lag.ms", dynamic.Validate(
            new Dictionary<string, string> { ["log.cleaner.min.compaction.lag.ms"] = "5000", ["log.cleaner.max.compaction.lag.ms"] = "1000" }, perBroker: false));
        Assert.Null(dynamic.Validate(new Dictionary<string, string> { ["log.cleanup.policy"] = "compact,delete" }, perBroker: false));
    }

    [Fact]
    public void An_invalid_combination_arriving_from_the_metadata_log_keeps_the_previous_config()
    {
        var dynamic = WithStatic();
        dynamic.Apply(Configs(("log.cleaner.max.compaction.lag.ms", "1000")), None, out _);

        var applied = dynamic.Apply(Configs(("log.cleaner.max.compaction.lag.ms", "1000")), Configs(("log.cleaner.min.compaction.lag.ms", "5000")), out var error);

        Assert.False(applied);
        Assert.NotNull(error);
        Assert.Equal(0, dynamic.Current.LogCleanerMinCompactionLagMs);
    }

    [Fact]
    public void Broker_description_lists_each_level_as_a_synonym_most_specific_first()
    {
        var dynamic = WithStatic(("min.insync.replicas", "2"));
        dynamic.Apply(Configs(("min.insync.replicas", "3")), Configs(("min.insync.replicas", "1")), out _);

        var entry = dynamic.DescribeBroker().Single(e => e.Definition.Name == "min.insync.replicas");

        Assert.Equal(("1", TopicConfigSource.DynamicBrokerConfig, false), (entry.Value, entry.Source, entry.ReadOnly));
        Assert.Equal(
            [(TopicConfigSource.DynamicBrokerConfig, "1"), (TopicConfigSource.DynamicDefaultBrokerConfig, "3"), (TopicConfigSource.BrokerConfig, "2"), (TopicConfigSource.Default, "1")],
            entry.Synonyms.Select(s => (s.Source, s.Value)));
        Assert.True(dynamic.DescribeBroker().Single(e => e.Definition.Name == "listeners").ReadOnly);
        Assert.Equal(["min.insync.replicas"], dynamic.DescribeClusterDefault().Select(e => e.Definition.Name));
    }
}
