using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Cluster;
using Tributary.Integration.Tests.Harness;
using Tributary.Protocol.Messages;
using Tributary.Protocol.Records;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Confluent;

/// <summary>A compacted topic refuses records without a key, as Kafka does (INVALID_RECORD), by its current policy.</summary>
public sealed class CompactedTopicKeyTests : IClassFixture<DefaultBrokerFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public CompactedTopicKeyTests(DefaultBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task A_record_without_a_key_to_a_compacted_topic_fails_with_invalid_record()
    {
        var topic = KafkaClients.UniqueTopic("compact-nokey");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["cleanup.policy"] = "compact" });
        using var producer = clients.CreateProducer();

        var refused = await Assert.ThrowsAsync<ProduceException<byte[]?, byte[]?>>(
            () => producer.ProduceAsync(topic, Message(key: null)).WaitAsync(Timeout));

        Assert.Equal(ErrorCode.InvalidRecord, refused.Error.Code);
        Assert.Equal("Broker: Broker failed to validate record", refused.Error.Reason); // librdkafka's text for INVALID_RECORD (87)
    }

    [Fact]
    public async Task A_keyed_record_to_a_compacted_topic_is_persisted()
    {
        var topic = KafkaClients.UniqueTopic("compact-key");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["cleanup.policy"] = "compact,delete" });
        using var producer = clients.CreateProducer();

        var accepted = await producer.ProduceAsync(topic, Message(key: "k")).WaitAsync(Timeout);

        Assert.Equal(PersistenceStatus.Persisted, accepted.Status);
        Assert.Equal(0, accepted.Offset.Value);
    }

    [Fact]
    public async Task A_delete_topic_switched_to_compact_at_runtime_refuses_records_without_a_key()
    {
        var topic = KafkaClients.UniqueTopic("switch-compact");
        await clients.CreateTopicAsync(topic, 1);
        using var producer = clients.CreateProducer();
        var before = await producer.ProduceAsync(topic, Message(key: null)).WaitAsync(Timeout);
        Assert.Equal(PersistenceStatus.Persisted, before.Status);

        using (var admin = clients.CreateAdmin())
        {
            await admin.IncrementalAlterConfigsAsync(
                new Dictionary<ConfigResource, List<ConfigEntry>>
                {
                    [new ConfigResource { Type = ResourceType.Topic, Name = topic }] =
                        [new ConfigEntry { Name = "cleanup.policy", Value = "compact", IncrementalOperation = AlterConfigOpType.Set }],
                },
                new IncrementalAlterConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });
        }

        var refused = await Assert.ThrowsAsync<ProduceException<byte[]?, byte[]?>>(
            () => producer.ProduceAsync(topic, Message(key: null)).WaitAsync(Timeout));
        Assert.Equal(ErrorCode.InvalidRecord, refused.Error.Code);
    }

    [Fact]
    public async Task Produce_v9_names_each_record_without_a_key_in_record_errors_with_an_error_message()
    {
        var topic = KafkaClients.UniqueTopic("compact-kip467");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["cleanup.policy"] = "compact" });
        var batch = new RecordBatchBuilder()
            .Append(1_700_000_000_000, Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes("v"))
            .Append(1_700_000_000_000, null, Encoding.UTF8.GetBytes("v"))
            .Append(1_700_000_000_000, null, Encoding.UTF8.GetBytes("v"))
            .Build();
        var request = new ProduceRequest
        {
            Acks = 1,
            TimeoutMs = 10_000,
            TopicData = [new ProduceRequest.TopicProduceData { Name = topic, PartitionData = [new() { Index = 0, Records = batch }] }],
        };

        var response = await RawKafkaExchange.SendAsync<ProduceResponse>("127.0.0.1", broker.KafkaPort, request, version: 9, Timeout);

        var partition = Assert.Single(Assert.Single(response.Responses).PartitionResponses);
        Assert.Equal(87, partition.ErrorCode); // INVALID_RECORD
        Assert.Equal([1, 2], partition.RecordErrors.Select(e => e.BatchIndex));
        Assert.All(partition.RecordErrors, e => Assert.False(string.IsNullOrEmpty(e.BatchIndexErrorMessage)));
        Assert.Contains($"{topic}-0", partition.ErrorMessage, StringComparison.Ordinal);
    }

    private static Message<byte[]?, byte[]?> Message(string? key) =>
        new() { Key = key is null ? null : Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes("value") };
}
