using Tributary.Broker.Config;

namespace Tributary.Broker.Tests.Config;

/// <summary>Topic configs Kafka 3.9 accepts and Kafka 4.0 removed: accepted with 3.9's validation, shown only where set.</summary>
public sealed class RemovedTopicConfigsTests
{
    [Theory]
    [InlineData("message.format.version", "0.10.2")]
    [InlineData("message.format.version", "2.8")]
    [InlineData("message.format.version", "2.8.1")]
    [InlineData("message.format.version", "3.0-IV1")]
    [InlineData("message.format.version", "0.10.0-IV0")]
    [InlineData("message.downconversion.enable", "false")]
    [InlineData("message.timestamp.difference.max.ms", "86400000")]
    public void Validate_accepts_what_Kafka_3_9_accepts(string name, string value)
    {
        Assert.Null(TopicConfigCatalog.Validate(name, value));
    }

    [Theory]
    [InlineData("message.format.version", "banana", "a Kafka version")]
    [InlineData("message.format.version", "4.0", "a Kafka version")]
    [InlineData("message.downconversion.enable", "sometimes", "true or false")]
    [InlineData("message.timestamp.difference.max.ms", "-1", ">= 0")]
    public void Validate_rejects_what_Kafka_3_9_rejects_with_a_message_naming_config_and_value(string name, string value, string expected)
    {
        var error = TopicConfigCatalog.Validate(name, value);

        Assert.NotNull(error);
        Assert.Contains($"'{name}'", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_reports_a_removed_config_only_where_the_topic_set_it()
    {
        var unset = TopicConfigCatalog.Resolve(BrokerConfig.Default, new Dictionary<string, string>());
        var set = TopicConfigCatalog.Resolve(BrokerConfig.Default, new Dictionary<string, string> { ["message.format.version"] = "2.8" });

        Assert.DoesNotContain("message.format.version", unset.Entries.Keys);
        var entry = set.Entries["message.format.version"];
        Assert.Equal(("2.8", TopicConfigSource.TopicOverride, false), (entry.Value, entry.Source, entry.IsSensitive));
        Assert.False(TopicConfigCatalog.IsSensitive("message.format.version"));
    }

    [Fact]
    public void Message_format_version_and_down_conversion_change_nothing_else()
    {
        var plain = TopicConfigCatalog.Resolve(BrokerConfig.Default, new Dictionary<string, string>());
        var legacy = TopicConfigCatalog.Resolve(BrokerConfig.Default, new Dictionary<string, string>
        {
            ["message.format.version"] = "0.10.2",
            ["message.downconversion.enable"] = "false",
        });

        Assert.Equal(
            plain.Entries.Values.Select(v => (v.Name, v.Value, v.Source)),
            legacy.Entries.Values.Where(v => !RemovedTopicConfigs.IsRemoved(v.Name)).Select(v => (v.Name, v.Value, v.Source)));
    }

    [Fact]
    public void Timestamp_difference_bounds_both_directions_the_topic_leaves_unset_as_in_Kafka_3()
    {
        var difference = TopicConfigCatalog.Resolve(BrokerConfig.Default, new Dictionary<string, string>
        {
            ["message.timestamp.difference.max.ms"] = "60000",
        });
        var withAfter = TopicConfigCatalog.Resolve(BrokerConfig.Default, new Dictionary<string, string>
        {
            ["message.timestamp.difference.max.ms"] = "60000",
            ["message.timestamp.after.max.ms"] = "5000",
        });

        Assert.Equal((60000L, 60000L), (difference.MessageTimestampBeforeMaxMs, difference.MessageTimestampAfterMaxMs));
        Assert.Equal((60000L, 5000L), (withAfter.MessageTimestampBeforeMaxMs, withAfter.MessageTimestampAfterMaxMs));
    }
}
