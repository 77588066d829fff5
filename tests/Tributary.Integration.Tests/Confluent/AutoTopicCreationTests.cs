using System.Text;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Confluent;

/// <summary>Producing to a topic that does not exist, with <c>auto.create.topics.enable</c> on and off.</summary>
public sealed class AutoTopicCreationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Produce_to_a_missing_topic_creates_it_with_num_partitions()
    {
        await using var broker = await BrokerProcess.StartAsync(output, new Dictionary<string, string> { ["num.partitions"] = "4" });
        var clients = new KafkaClients(broker, broker.Log);
        var topic = KafkaClients.UniqueTopic("auto-created");

        DeliveryReport<byte[]?, byte[]?> report;
        using (var producer = clients.CreateProducer())
        {
            report = KafkaClients.ProduceAll(
                producer, topic, [new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes("first") }], TimeSpan.FromSeconds(30)).Single();
        }

        Assert.False(report.Error.IsError, $"Produce to a new topic failed: {report.Error}");
        using var admin = clients.CreateAdmin();
        var metadata = admin.GetMetadata(topic, KafkaClients.AdminTimeout).Topics.Single();
        Assert.Equal(ErrorCode.NoError, metadata.Error.Code);
        Assert.Equal(4, metadata.Partitions.Count);
    }

    [Fact]
    public async Task Produce_to_a_missing_topic_fails_with_unknown_topic_when_auto_create_is_disabled()
    {
        await using var broker = await BrokerProcess.StartAsync(output, new Dictionary<string, string> { ["auto.create.topics.enable"] = "false" });
        var clients = new KafkaClients(broker, broker.Log);
        var topic = KafkaClients.UniqueTopic("never-created");

        var error = UnknownTopicProbe.ProduceOneAndReturnError(clients, topic);

        Assert.True(UnknownTopicProbe.IsUnknownTopic(error), $"Produce to missing topic ended with {error}, expected an unknown-topic error.");
        var control = KafkaClients.UniqueTopic("admin-created");
        await clients.CreateTopicAsync(control, partitions: 1);
        using var admin = clients.CreateAdmin();
        var listed = admin.GetMetadata(KafkaClients.AdminTimeout).Topics.Select(t => t.Topic).ToList();
        Assert.Contains(control, listed); // the listing works, so the absence below means something
        Assert.DoesNotContain(topic, listed);
    }
}
