using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// Consumer lag on the group coordinator's <c>/metrics</c> of a real 3-broker cluster covers every committed partition,
/// also those with no replica on the coordinator (their end offsets come from ListOffsets to their leaders).
/// </summary>
public sealed class ConsumerLagClusterTests(ITestOutputHelper output)
{
    private const string LagMetric = "kafka_consumergroup_lag";
    private const string OffsetMetric = "kafka_consumergroup_current_offset";
    private const int Partitions = 6;

    /// <summary>Covers the background refresh (tributary.consumer.lag.refresh.ms, 5 s by default) with room for a loaded machine.</summary>
    private static readonly TimeSpan MetricTimeout = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Coordinator_reports_lag_for_every_partition_of_an_rf1_topic_spread_over_three_brokers()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var clients = new ClusterClients(cluster);
        var topic = ClusterSteps.UniqueTopic("lag-rf1");
        var group = ClusterSteps.UniqueTopic("lag-group");
        await clients.CreateTopicAsync(topic, Partitions, replicationFactor: 1);
        var leaders = clients.Partitions(topic).ToDictionary(p => p.Key, p => p.Value.Leader);
        Assert.Equal(3, leaders.Values.Distinct().Count()); // precondition: the partitions are spread over all three brokers

        // Partition p holds 10 + 3p records and has offset p + 1 committed: lag 9 + 2p.
        using (var producer = clients.CreateProducer())
        {
            for (var p = 0; p < Partitions; p++)
            {
                for (var i = 0; i < 10 + 3 * p; i++)
                {
                    producer.Produce(new TopicPartition(topic, p), new Message<string, string> { Key = $"k{i}", Value = $"v{i}" });
                }
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var consumerConfig = clients.ConsumerConfig();
        consumerConfig.GroupId = group;
        using (var consumer = clients.CreateConsumer(consumerConfig))
        {
            var committed = Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(topic, p, p + 1)).ToList();
            consumer.Assign(committed);
            consumer.Commit(committed);
            consumer.Close();
        }

        int coordinator;
        using (var admin = clients.CreateAdmin())
        {
            var described = await admin.DescribeConsumerGroupsAsync([group]);
            coordinator = described.ConsumerGroupDescriptions.Single().Coordinator.Id;
        }

        var remote = leaders.Where(l => l.Value != coordinator).Select(l => l.Key).ToList();
        Assert.NotEmpty(remote); // precondition: some partitions have no replica on the coordinator

        var expected = Enumerable.Range(0, Partitions).Select(p => (Partition: p, Offset: (double)(p + 1), Lag: (double)(9 + 2 * p))).ToList();
        var text = "";
        List<(int Partition, double? Offset, double? Lag)> Read() => expected.Select(e =>
        {
            var labels = new Dictionary<string, string> { ["consumergroup"] = group, ["topic"] = topic, ["partition"] = e.Partition.ToString() };
            return (e.Partition, MetricsScrape.FindSample(text, OffsetMetric, labels), MetricsScrape.FindSample(text, LagMetric, labels));
        }).ToList();

        var seen = await Eventually.ValueAsync(
            async () =>
            {
                text = await cluster.Broker(coordinator).ScrapeAsync();
                return Read();
            },
            samples => samples.Zip(expected).All(s => s.First.Offset == s.Second.Offset && s.First.Lag == s.Second.Lag),
            MetricTimeout);
        output.WriteLine($"coordinator {coordinator}; leaders {string.Join(", ", leaders.Select(l => $"{l.Key}->{l.Value}"))}; "
                         + $"samples {string.Join(", ", seen.Select(s => $"p{s.Partition} offset {s.Offset} lag {s.Lag}"))}");

        Assert.Equal(expected.Select(e => (e.Partition, (double?)e.Offset, (double?)e.Lag)), seen);
    }

    /// <summary>The end offset of a partition hosted elsewhere is refreshed in the background, not learned once.</summary>
    [Fact]
    public async Task Coordinator_lag_of_a_partition_it_does_not_host_grows_as_records_arrive_after_the_commit()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var clients = new ClusterClients(cluster);
        var topic = ClusterSteps.UniqueTopic("lag-grow");
        var group = ClusterSteps.UniqueTopic("lag-grow");
        await clients.CreateTopicAsync(topic, 3, replicationFactor: 1);
        using var producer = clients.CreateProducer();
        void Produce(int partition, int count)
        {
            for (var i = 0; i < count; i++)
            {
                producer.Produce(new TopicPartition(topic, partition), new Message<string, string> { Key = "k", Value = $"v{i}" });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        for (var p = 0; p < 3; p++)
        {
            Produce(p, 10);
        }

        var consumerConfig = clients.ConsumerConfig();
        consumerConfig.GroupId = group;
        using (var consumer = clients.CreateConsumer(consumerConfig))
        {
            var committed = Enumerable.Range(0, 3).Select(p => new TopicPartitionOffset(topic, p, 4)).ToList();
            consumer.Assign(committed);
            consumer.Commit(committed);
            consumer.Close();
        }

        int coordinator;
        using (var admin = clients.CreateAdmin())
        {
            coordinator = (await admin.DescribeConsumerGroupsAsync([group])).ConsumerGroupDescriptions.Single().Coordinator.Id;
        }

        var remote = clients.Partitions(topic).First(p => p.Value.Leader != coordinator).Key;
        var labels = new Dictionary<string, string> { ["consumergroup"] = group, ["topic"] = topic, ["partition"] = remote.ToString() };
        async Task<double?> Lag() => MetricsScrape.FindSample(await cluster.Broker(coordinator).ScrapeAsync(), LagMetric, labels);

        var before = await Eventually.ValueAsync(Lag, v => v == 6, MetricTimeout);
        Produce(remote, 25);
        var after = await Eventually.ValueAsync(Lag, v => v == 31, MetricTimeout);
        output.WriteLine($"coordinator {coordinator}, partition {remote}: lag {before} -> {after}");

        Assert.Equal(6, before);
        Assert.Equal(31, after);
    }
}
