using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Burrow;

/// <summary>
/// Debian 12's Burrow 1.2.1 (sarama 1.22) against a real broker: it learns each partition's end offset with
/// ListOffsets v0 and reads the group's commits from <c>__consumer_offsets</c>, then reports the lag over HTTP.
/// Kafka 3.9 serves ListOffsets v0; a broker that does not leaves Burrow with no topic offsets and no lag.
/// </summary>
public sealed class BurrowLagTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);
    private static readonly long[] Produced = [5, 8];
    private static readonly long[] Committed = [2, 6];

    [Fact]
    public async Task Burrow_reports_the_topic_end_offsets_and_the_lag_of_the_offsets_a_group_committed()
    {
        await using var broker = await BrokerProcess.StartAsync(output);
        var clients = new KafkaClients(broker, broker.Log);
        var topic = KafkaClients.UniqueTopic("burrow-lag");
        var group = "burrow-lag-" + Guid.NewGuid().ToString("N")[..12];
        await clients.CreateTopicAsync(topic, Produced.Length);
        ProduceAndCommit(clients, topic, group);

        using var zooKeeper = await ZooKeeperServer.StartAsync(broker.Log);
        using var burrow = await BurrowServer.StartAsync(broker.BootstrapServers, zooKeeper, broker.Log);

        var offsets = await PollAsync(burrow, $"/v3/kafka/{BurrowServer.ClusterName}/topic/{topic}",
            body => body.ValueKind == JsonValueKind.Object && body.TryGetProperty("offsets", out var o) ? o.EnumerateArray().Select(e => e.GetInt64()).ToArray() : [],
            found => found.SequenceEqual(Produced));
        Assert.True(offsets.SequenceEqual(Produced),
            $"Burrow's end offsets for {topic}: [{string.Join(',', offsets)}], expected [{string.Join(',', Produced)}]. Burrow log:\n{burrow.ReadLog()}");

        var expectedLag = Produced.Zip(Committed, (end, commit) => end - commit).ToArray();
        var lag = await PollAsync(burrow, $"/v3/kafka/{BurrowServer.ClusterName}/consumer/{group}/lag",
            body => Partitions(body, topic),
            found => found.Select(p => p.Offset).SequenceEqual(Committed) && found.Select(p => p.Lag).SequenceEqual(expectedLag));
        Assert.True(lag.Select(p => p.Offset).SequenceEqual(Committed) && lag.Select(p => p.Lag).SequenceEqual(expectedLag),
            $"Burrow's lag for {group}: [{string.Join(", ", lag)}], expected offsets [{string.Join(',', Committed)}] with lag " +
            $"[{string.Join(',', expectedLag)}]. Burrow log:\n{burrow.ReadLog()}");
    }

    private static void ProduceAndCommit(KafkaClients clients, string topic, string group)
    {
        using (var producer = clients.CreateProducer())
        {
            for (var partition = 0; partition < Produced.Length; partition++)
            {
                for (var i = 0; i < Produced[partition]; i++)
                {
                    producer.Produce(new TopicPartition(topic, partition), new Message<byte[]?, byte[]?> { Value = [(byte)i] });
                }
            }

            Assert.Equal(0, producer.Flush(Timeout));
        }

        var config = clients.ConsumerConfig();
        config.GroupId = group;
        using var consumer = clients.CreateConsumer(config);
        consumer.Commit(Committed.Select((offset, partition) => new TopicPartitionOffset(topic, partition, offset)));
        consumer.Close();
    }

    /// <summary>The group's partitions of <paramref name="topic"/> in partition order: committed offset and current lag.</summary>
    private static (int Partition, long Offset, long Lag)[] Partitions(JsonElement body, string topic) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("status", out var status) && status.TryGetProperty("partitions", out var partitions)
            && partitions.ValueKind == JsonValueKind.Array
            ? partitions.EnumerateArray()
                .Where(p => p.GetProperty("topic").GetString() == topic && p.TryGetProperty("end", out var end) && end.ValueKind == JsonValueKind.Object)
                .Select(p => (p.GetProperty("partition").GetInt32(), p.GetProperty("end").GetProperty("offset").GetInt64(), p.GetProperty("current_lag").GetInt64()))
                .OrderBy(p => p.Item1)
                .ToArray()
            : [];

    /// <summary>Reads <paramref name="path"/> every 250 ms until <paramref name="done"/> holds or <see cref="Timeout"/> passes.</summary>
    private static async Task<T> PollAsync<T>(BurrowServer burrow, string path, Func<JsonElement, T> read, Func<T, bool> done)
    {
        var clock = Stopwatch.StartNew();
        T last = read(default); // an undefined body reads as "nothing yet"
        while (true)
        {
            if (await burrow.GetAsync(path) is { } body)
            {
                last = read(body);
                if (done(last))
                {
                    return last;
                }
            }

            if (clock.Elapsed > Timeout)
            {
                return last;
            }

            await Task.Delay(250);
        }
    }
}
