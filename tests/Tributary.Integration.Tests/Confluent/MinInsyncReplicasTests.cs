using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Confluent;

/// <summary>acks=all honours the topic's min.insync.replicas, including a change made at runtime.</summary>
public sealed class MinInsyncReplicasTests : IClassFixture<DefaultBrokerFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public MinInsyncReplicasTests(DefaultBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task Acks_all_fails_with_not_enough_replicas_until_min_insync_replicas_is_lowered_to_the_isr()
    {
        var topic = KafkaClients.UniqueTopic("min-isr");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["min.insync.replicas"] = "2" });
        var config = clients.ProducerConfig();
        config.MessageSendMaxRetries = 0; // NOT_ENOUGH_REPLICAS is retriable; fail on the first answer
        using var producer = clients.CreateProducer(config);

        var refused = await Assert.ThrowsAsync<ProduceException<byte[]?, byte[]?>>(
            () => producer.ProduceAsync(topic, Message("refused")));
        Assert.Equal(ErrorCode.NotEnoughReplicas, refused.Error.Code);

        using (var admin = clients.CreateAdmin())
        {
            await admin.IncrementalAlterConfigsAsync(
                new Dictionary<ConfigResource, List<ConfigEntry>>
                {
                    [new ConfigResource { Type = ResourceType.Topic, Name = topic }] =
                        [new ConfigEntry { Name = "min.insync.replicas", Value = "1", IncrementalOperation = AlterConfigOpType.Set }],
                },
                new IncrementalAlterConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });
        }

        var accepted = await producer.ProduceAsync(topic, Message("accepted")).WaitAsync(Timeout);
        Assert.Equal(PersistenceStatus.Persisted, accepted.Status);
        Assert.Equal(0, accepted.Offset.Value);
    }

    [Fact]
    public async Task Creating_a_topic_whose_replication_factor_is_below_min_insync_replicas_logs_a_warning()
    {
        var topic = KafkaClients.UniqueTopic("rf-below-isr");

        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["min.insync.replicas"] = "2" });

        await WaitForLogAsync($"Topic {topic} has replication factor 1, below its min.insync.replicas 2");
    }

    [Fact]
    public async Task Raising_min_insync_replicas_above_the_replication_factor_logs_a_warning()
    {
        var topic = KafkaClients.UniqueTopic("raise-isr");
        await clients.CreateTopicAsync(topic, 1);

        using (var admin = clients.CreateAdmin())
        {
            await admin.IncrementalAlterConfigsAsync(
                new Dictionary<ConfigResource, List<ConfigEntry>>
                {
                    [new ConfigResource { Type = ResourceType.Topic, Name = topic }] =
                        [new ConfigEntry { Name = "min.insync.replicas", Value = "3", IncrementalOperation = AlterConfigOpType.Set }],
                },
                new IncrementalAlterConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });
        }

        await WaitForLogAsync($"Topic {topic} has replication factor 1, below its min.insync.replicas 3");
    }

    [Fact]
    public async Task Acks_all_refused_because_the_replication_factor_is_below_min_insync_replicas_is_logged_once_a_minute()
    {
        var topic = KafkaClients.UniqueTopic("refused-isr");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["min.insync.replicas"] = "2" });
        var config = clients.ProducerConfig();
        config.MessageSendMaxRetries = 0;
        using var producer = clients.CreateProducer(config);

        for (var i = 0; i < 3; i++)
        {
            var refused = await Assert.ThrowsAsync<ProduceException<byte[]?, byte[]?>>(() => producer.ProduceAsync(topic, Message("refused")));
            Assert.Equal(ErrorCode.NotEnoughReplicas, refused.Error.Code);
        }

        // The broker logs in order: once a later line is out, every refusal's warning (or its absence) is too.
        var marker = KafkaClients.UniqueTopic("marker");
        await clients.CreateTopicAsync(marker, 1, new Dictionary<string, string> { ["min.insync.replicas"] = "2" });
        await WaitForLogAsync($"Topic {marker} has replication factor 1");
        var warning = $"Refused an acks=all produce to topic {topic} with NOT_ENOUGH_REPLICAS: its replication factor 1 is below min.insync.replicas 2";
        var warnings = broker.Log.RecentLines().Split('\n').Count(line => line.Contains(warning, StringComparison.Ordinal));
        Assert.Equal(1, warnings);
    }

    private async Task WaitForLogAsync(string text)
    {
        var log = await Eventually.ValueAsync(() => broker.Log.RecentLines(), l => l.Contains(text, StringComparison.Ordinal), Timeout);
        Assert.True(log.Contains(text, StringComparison.Ordinal), $"The broker did not log \"{text}\" within {Timeout}.");
    }

    private static Message<byte[]?, byte[]?> Message(string value) => new() { Key = null, Value = Encoding.UTF8.GetBytes(value) };
}
