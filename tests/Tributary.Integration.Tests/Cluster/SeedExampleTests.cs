using Confluent.Kafka;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// The seed example, literally: four brokers (voters 1-3, broker 4 an observer), a topic with replication
/// factor 4 and min.insync.replicas 3; acks=all survives one lost broker and refuses writes after a second.
/// </summary>
public sealed class SeedExampleTests(ITestOutputHelper output)
{
    private static readonly TimeSpan IsrChange = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Delivery = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Acks_all_survives_one_lost_broker_fails_with_not_enough_replicas_after_two_and_recovers_after_restart()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 4 });
        var clients = new ClusterClients(cluster);
        var topic = $"seed-{Guid.NewGuid():N}"[..21];
        await clients.CreateTopicAsync(topic, partitions: 1, replicationFactor: 4, new Dictionary<string, string> { ["min.insync.replicas"] = "3" });

        using var producer = clients.CreateProducer();
        var acked = new List<string>();
        void ProduceBatch(string name)
        {
            var keys = ClusterClients.SequenceKeys(name, 0, 50);
            var codes = ClusterClients.ProduceAndWait(producer, topic, keys, Delivery);
            Assert.All(codes, c => Assert.Equal(ErrorCode.NoError, c));
            acked.AddRange(keys);
        }

        ProduceBatch("all-four");

        // Non-controllers only, so no kill waits on a controller election; the observer first.
        var controller = await cluster.ActiveControllerIdAsync();
        var victims = cluster.Brokers.Select(b => b.NodeId).Where(id => id != controller).OrderDescending().Take(2).ToList();
        output.WriteLine($"active controller {controller}; killing {victims[0]} then {victims[1]}");

        cluster.Broker(victims[0]).Kill();
        await clients.WaitForPartitionAsync(topic, 0, s => s.Isr.Count == 3 && !s.Isr.Contains(victims[0]), IsrChange);
        ProduceBatch("three-left");

        cluster.Broker(victims[1]).Kill();
        await clients.WaitForPartitionAsync(topic, 0, s => s.Isr.Count == 2 && s.Leader >= 0, IsrChange);
        Assert.Equal(ErrorCode.NotEnoughReplicas, ProduceOneWithoutRetries(clients, topic));

        await cluster.Broker(victims[0]).RestartAsync();
        await cluster.Broker(victims[1]).RestartAsync();
        await clients.WaitForPartitionAsync(topic, 0, s => s.Isr.Count == 4, IsrChange);
        ProduceBatch("all-back");

        var read = clients.ReadAll(topic, 1, TimeSpan.FromSeconds(30)).Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
        var lost = acked.Where(k => !read.Contains(k)).ToList();
        Assert.Empty(lost);
    }

    /// <summary>
    /// librdkafka treats NOT_ENOUGH_REPLICAS as retriable and would retry until message.timeout.ms, reporting a
    /// timeout; with retries=0 the broker's own error code reaches the delivery report.
    /// </summary>
    private static ErrorCode ProduceOneWithoutRetries(ClusterClients clients, string topic)
    {
        var config = clients.ProducerConfig(idempotent: false);
        config.MessageSendMaxRetries = 0;
        config.MessageTimeoutMs = 5_000;
        config.RequestTimeoutMs = 4_000;
        using var producer = clients.CreateProducer(config);
        return ClusterClients.ProduceAndWait(producer, topic, ["refused-0000000"], TimeSpan.FromSeconds(10)).Single();
    }
}
