using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Compat;

/// <summary>
/// Topic configs Kafka 3.9 accepts and 4.0 removed (message.format.version, message.downconversion.enable,
/// message.timestamp.difference.max.ms), set through Confluent.Kafka's admin client: accepted on CreateTopics, AlterConfigs
/// and IncrementalAlterConfigs with a warning in the broker log, and reported by DescribeConfigs where set.
/// </summary>
public sealed class RemovedTopicConfigsTests : IClassFixture<DefaultBrokerFixture>, IDisposable
{
    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public RemovedTopicConfigsTests(DefaultBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    private static ConfigResource Topic(string name) => new() { Type = ResourceType.Topic, Name = name };

    [Fact]
    public async Task CreateTopics_accepts_message_format_version_and_down_conversion_and_DescribeConfigs_reports_them()
    {
        var topic = KafkaClients.UniqueTopic("removed-create");

        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string>
        {
            ["message.format.version"] = "2.8",
            ["message.downconversion.enable"] = "false",
        });

        var entries = await DescribeAsync(topic);
        Assert.Equal(("2.8", ConfigSource.DynamicTopicConfig), (entries["message.format.version"].Value, entries["message.format.version"].Source));
        Assert.Equal("false", entries["message.downconversion.enable"].Value);
        var warned = await Eventually.ValueAsync(broker.Log.RecentLines,
            log => log.Contains($"Topic {topic}: config message.format.version=2.8 was removed in Kafka 4.0", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
        Assert.Contains($"Topic {topic}: config message.downconversion.enable=false was removed in Kafka 4.0", warned, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_topic_that_never_set_them_does_not_list_them()
    {
        var topic = KafkaClients.UniqueTopic("removed-absent");
        await clients.CreateTopicAsync(topic, 1);

        var entries = await DescribeAsync(topic);

        Assert.DoesNotContain("message.format.version", entries.Keys);
        Assert.Contains("retention.ms", entries.Keys);
    }

    [Fact]
    public async Task IncrementalAlterConfigs_and_AlterConfigs_accept_them()
    {
        var topic = KafkaClients.UniqueTopic("removed-alter");
        await clients.CreateTopicAsync(topic, 1);
        using var admin = clients.CreateAdmin();

        await admin.IncrementalAlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [Topic(topic)] = [new ConfigEntry { Name = "message.downconversion.enable", Value = "false", IncrementalOperation = AlterConfigOpType.Set }],
            },
            new IncrementalAlterConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });
        Assert.Equal("false", (await DescribeAsync(topic))["message.downconversion.enable"].Value);

        await admin.AlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>> { [Topic(topic)] = [new ConfigEntry { Name = "message.format.version", Value = "0.10.2" }] },
            new AlterConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });
        var entries = await DescribeAsync(topic);
        Assert.Equal("0.10.2", entries["message.format.version"].Value);
        Assert.DoesNotContain("message.downconversion.enable", entries.Keys); // AlterConfigs replaces the whole set
    }

    [Fact]
    public async Task An_invalid_message_format_version_is_refused_with_invalid_config()
    {
        var topic = KafkaClients.UniqueTopic("removed-invalid");

        var error = await Assert.ThrowsAsync<CreateTopicsException>(() =>
            clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["message.format.version"] = "banana" }));

        var result = Assert.Single(error.Results);
        Assert.Equal(ErrorCode.InvalidConfig, result.Error.Code);
        Assert.Contains("message.format.version", result.Error.Reason, StringComparison.Ordinal);
    }

    private async Task<Dictionary<string, ConfigEntryResult>> DescribeAsync(string topic)
    {
        using var admin = clients.CreateAdmin();
        var results = await admin.DescribeConfigsAsync([Topic(topic)], new DescribeConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });
        return Assert.Single(results).Entries;
    }
}
