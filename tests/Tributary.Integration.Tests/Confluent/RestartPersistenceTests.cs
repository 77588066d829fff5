using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Confluent;

/// <summary>Topics, their configs, their records and their log start offsets survive a broker restart.</summary>
public sealed class RestartPersistenceTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Topics_configs_records_and_low_watermark_survive_a_graceful_restart()
    {
        await using var broker = await BrokerProcess.StartAsync(output);
        var clients = new KafkaClients(broker, broker.Log);
        var topic = KafkaClients.UniqueTopic("restart");
        await clients.CreateTopicAsync(topic, 3, new Dictionary<string, string> { ["retention.ms"] = "7200000", ["cleanup.policy"] = "delete" });
        using (var producer = clients.CreateProducer())
        {
            var messages = KafkaClients.NumberedMessages(300, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 1);
            for (var i = 0; i < messages.Count; i++)
            {
                producer.Produce(new TopicPartition(topic, i % 3), messages[i]);
            }

            Assert.Equal(0, producer.Flush(Timeout));
        }

        Uuid topicIdBefore;
        using (var admin = clients.CreateAdmin())
        {
            await admin.DeleteRecordsAsync([new TopicPartitionOffset(topic, 1, 40)]);
            topicIdBefore = Uuid.From((await admin.DescribeTopicsAsync(TopicCollection.OfTopicNames([topic]))).TopicDescriptions[0].TopicId);
        }

        Assert.Equal(0, await broker.StopAsync());
        await broker.RestartAsync();

        using (var admin = clients.CreateAdmin())
        {
            var description = (await admin.DescribeTopicsAsync(TopicCollection.OfTopicNames([topic]))).TopicDescriptions[0];
            Assert.Equal(3, description.Partitions.Count);
            Assert.Equal(topicIdBefore, Uuid.From(description.TopicId));
            var configs = await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Topic, Name = topic }]);
            var retention = configs[0].Entries["retention.ms"];
            Assert.Equal("7200000", retention.Value);
            Assert.Equal(ConfigSource.DynamicTopicConfig, retention.Source);
        }

        using (var consumer = clients.CreateConsumer())
        {
            var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 1), Timeout);
            Assert.Equal(40, watermarks.Low.Value);
            Assert.Equal(100, watermarks.High.Value);
        }

        var records = clients.ReadToEnd(topic, 3, Timeout);
        Assert.Equal(100, records[0].Count);
        Assert.Equal(60, records[1].Count);
        Assert.Equal(100, records[2].Count);
        Assert.Equal(40, records[1][0].Offset.Value);
        Assert.Equal("v121", Encoding.UTF8.GetString(records[1][0].Message.Value!));
    }

    /// <summary>Confluent.Kafka's topic id type has no value equality; compare its two halves.</summary>
    private readonly record struct Uuid(long High, long Low)
    {
        public static Uuid From(global::Confluent.Kafka.Uuid id) => new(id.MostSignificantBits, id.LeastSignificantBits);
    }
}
