using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Confluent;

/// <summary>DescribeConfigs, AlterConfigs and IncrementalAlterConfigs as Confluent.Kafka's AdminClient sees them.</summary>
public sealed class AdminConfigTests : IClassFixture<AdminBrokerFixture>, IDisposable
{
    private const string KafkaDefaultSegmentBytes = "1073741824";

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public AdminConfigTests(AdminBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    private static ConfigResource TopicResource(string topic) => new() { Type = ResourceType.Topic, Name = topic };

    private static ConfigResource BrokerResource => new() { Type = ResourceType.Broker, Name = BrokerProcess.NodeId.ToString(CultureInfo.InvariantCulture) };

    [Fact]
    public async Task DescribeConfigs_reports_a_topic_override_as_dynamic_topic_config()
    {
        var topic = KafkaClients.UniqueTopic("describe-override");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["retention.ms"] = "3600000" });

        var entry = await DescribeAsync(TopicResource(topic), "retention.ms");

        Assert.Equal("3600000", entry.Value);
        Assert.False(entry.IsDefault);
        Assert.Equal(ConfigSource.DynamicTopicConfig, entry.Source);
    }

    [Fact]
    public async Task DescribeConfigs_reports_an_unset_topic_config_as_default_with_kafkas_default_value()
    {
        var topic = KafkaClients.UniqueTopic("describe-default");
        await clients.CreateTopicAsync(topic, 1);

        var entry = await DescribeAsync(TopicResource(topic), "segment.bytes");

        Assert.Equal(KafkaDefaultSegmentBytes, entry.Value);
        Assert.True(entry.IsDefault);
        Assert.Equal(ConfigSource.DefaultConfig, entry.Source);
    }

    [Fact]
    public async Task DescribeConfigs_reports_a_command_line_broker_override_as_static_broker_config()
    {
        var entry = await DescribeAsync(BrokerResource, "num.partitions");

        Assert.Equal(AdminBrokerFixture.NumPartitionsOverride.ToString(CultureInfo.InvariantCulture), entry.Value);
        Assert.False(entry.IsDefault);
        Assert.Equal(ConfigSource.StaticBrokerConfig, entry.Source);
    }

    [Fact]
    public async Task DescribeConfigs_reports_an_unset_broker_config_as_default_with_kafkas_default_value()
    {
        var entry = await DescribeAsync(BrokerResource, "log.retention.hours");

        Assert.Equal("168", entry.Value);
        Assert.True(entry.IsDefault);
        Assert.Equal(ConfigSource.DefaultConfig, entry.Source);
    }

    [Fact]
    public async Task AlterConfigs_replaces_the_whole_set_of_topic_overrides()
    {
        var topic = KafkaClients.UniqueTopic("alter");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["retention.ms"] = "3600000" });
        using var admin = clients.CreateAdmin();

        // The legacy AlterConfigs API is not incremental: keys left out of the request lose their override.
        await admin.AlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>> { [TopicResource(topic)] = [new ConfigEntry { Name = "segment.bytes", Value = "10485760" }] },
            new AlterConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });

        var entries = await DescribeAllAsync(TopicResource(topic));
        Assert.Equal("10485760", entries["segment.bytes"].Value);
        Assert.Equal(ConfigSource.DynamicTopicConfig, entries["segment.bytes"].Source);
        Assert.True(entries["retention.ms"].IsDefault, $"retention.ms should have reverted to its default, is {entries["retention.ms"].Value} from {entries["retention.ms"].Source}");
        Assert.Equal("604800000", entries["retention.ms"].Value);
    }

    [Fact]
    public async Task IncrementalAlterConfigs_SET_adds_a_topic_override_and_keeps_the_others()
    {
        var topic = KafkaClients.UniqueTopic("incr-set");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["retention.ms"] = "3600000" });

        await IncrementalAlterAsync(topic, new ConfigEntry { Name = "cleanup.policy", Value = "compact", IncrementalOperation = AlterConfigOpType.Set });

        var entries = await DescribeAllAsync(TopicResource(topic));
        Assert.Equal("compact", entries["cleanup.policy"].Value);
        Assert.Equal(ConfigSource.DynamicTopicConfig, entries["cleanup.policy"].Source);
        Assert.Equal("3600000", entries["retention.ms"].Value);
        Assert.Equal(ConfigSource.DynamicTopicConfig, entries["retention.ms"].Source);
    }

    [Fact]
    public async Task IncrementalAlterConfigs_DELETE_restores_the_default()
    {
        var topic = KafkaClients.UniqueTopic("incr-delete");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["retention.ms"] = "3600000" });

        await IncrementalAlterAsync(topic, new ConfigEntry { Name = "retention.ms", IncrementalOperation = AlterConfigOpType.Delete });

        var entry = await DescribeAsync(TopicResource(topic), "retention.ms");
        Assert.Equal("604800000", entry.Value);
        Assert.True(entry.IsDefault);
        Assert.Equal(ConfigSource.DefaultConfig, entry.Source);
    }

    [Fact]
    public async Task IncrementalAlterConfigs_rejects_an_invalid_value_with_InvalidConfig_and_keeps_the_old_one()
    {
        var topic = KafkaClients.UniqueTopic("incr-invalid");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["retention.ms"] = "3600000" });

        var thrown = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() => IncrementalAlterAsync(
            topic, new ConfigEntry { Name = "retention.ms", Value = "soon", IncrementalOperation = AlterConfigOpType.Set }));

        Assert.Equal(ErrorCode.InvalidConfig, thrown.Results.Single().Error.Code);
        Assert.Equal("3600000", (await DescribeAsync(TopicResource(topic), "retention.ms")).Value);
    }

    private async Task IncrementalAlterAsync(string topic, ConfigEntry change)
    {
        using var admin = clients.CreateAdmin();
        await admin.IncrementalAlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>> { [TopicResource(topic)] = [change] },
            new IncrementalAlterConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });
    }

    private async Task<ConfigEntryResult> DescribeAsync(ConfigResource resource, string key)
    {
        var entries = await DescribeAllAsync(resource);
        Assert.True(entries.ContainsKey(key), $"DescribeConfigs for {resource} lists no {key} (has {entries.Count} keys).");
        return entries[key];
    }

    private async Task<Dictionary<string, ConfigEntryResult>> DescribeAllAsync(ConfigResource resource)
    {
        using var admin = clients.CreateAdmin();
        var results = await admin.DescribeConfigsAsync([resource], new DescribeConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });
        return results.Single().Entries;
    }
}
