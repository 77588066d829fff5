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

    private static Message<byte[]?, byte[]?> Message(string value) => new() { Key = null, Value = Encoding.UTF8.GetBytes(value) };
}
