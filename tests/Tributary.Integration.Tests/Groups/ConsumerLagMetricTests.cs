using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Groups;

/// <summary>The broker exports consumer lag per group and partition under kafka-exporter's metric name.</summary>
public sealed class ConsumerLagMetricTests : IClassFixture<GroupBrokerFixture>, IDisposable
{
    private const string LagMetric = "kafka_consumergroup_lag";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public ConsumerLagMetricTests(GroupBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task Lag_metric_is_the_high_watermark_minus_the_committed_offset()
    {
        var topic = KafkaClients.UniqueTopic("lag");
        var group = GroupBrokerSettings.UniqueGroup("lag");
        await clients.CreateTopicAsync(topic, partitions: 1);
        GroupBrokerSettings.ProduceNumbered(clients, topic, 1, 0, 100, Timeout);

        using (var consumer = clients.CreateConsumer(GroupBrokerSettings.ConsumerConfig(broker, group)))
        {
            consumer.Subscribe(topic);
            var deadline = DateTime.UtcNow + Timeout;
            while (true)
            {
                Assert.True(DateTime.UtcNow < deadline, $"Did not reach offset 39 of {topic} within {Timeout}.");
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result is { IsPartitionEOF: false } && result.Offset.Value == 39)
                {
                    consumer.Commit(result); // committed offset 40: 60 records left
                    break;
                }
            }

            consumer.Close();
        }

        var labels = new Dictionary<string, string> { ["consumergroup"] = group, ["topic"] = topic, ["partition"] = "0" };
        var lastText = "";
        var lag = await Eventually.ValueAsync(
            async () =>
            {
                // The gauge is computed at scrape time; the commit may not be visible in the first scrape.
                lastText = await MetricsScrape.TextAsync(broker.HttpPort);
                return MetricsScrape.FindSample(lastText, LagMetric, labels);
            },
            value => value == 60,
            Timeout);

        var lagLines = string.Join('\n', lastText.Split('\n').Where(l => l.Contains(LagMetric, StringComparison.Ordinal)).Take(20));
        Assert.True(lag == 60, $"{LagMetric}{{consumergroup=\"{group}\",topic=\"{topic}\",partition=\"0\"}} is {lag?.ToString() ?? "absent"}, expected 60. Lag lines scraped:\n{lagLines}");
    }
}
