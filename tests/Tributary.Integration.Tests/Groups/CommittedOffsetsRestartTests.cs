using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Groups;

/// <summary>Offsets committed by a group live in the broker (<c>__consumer_offsets</c>) and survive its restart.</summary>
public sealed class CommittedOffsetsRestartTests(ITestOutputHelper output)
{
    private const int Partitions = 3;
    private const int RecordsPerPartition = 100;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    // Different per partition so a mix-up between partitions shows.
    private static readonly long[] CommitAt = [17, 42, 99];

    [Fact]
    public Task Committed_offsets_survive_a_graceful_restart_and_the_group_resumes_right_after_them() =>
        CommitRestartAndResumeAsync(killHard: false);

    [Fact]
    public Task Committed_offsets_survive_kill_9_with_flush_per_message_and_the_group_resumes_right_after_them() =>
        CommitRestartAndResumeAsync(killHard: true);

    private async Task CommitRestartAndResumeAsync(bool killHard)
    {
        var extra = killHard ? new Dictionary<string, string> { ["log.flush.interval.messages"] = "1" } : null;
        await using var broker = await BrokerProcess.StartAsync(output, GroupBrokerSettings.Overrides(extra));
        var clients = new KafkaClients(broker, broker.Log);
        var topic = KafkaClients.UniqueTopic("restart-offsets");
        var group = GroupBrokerSettings.UniqueGroup("restart");
        await clients.CreateTopicAsync(topic, Partitions);
        GroupBrokerSettings.ProduceNumbered(clients, topic, Partitions, 0, Partitions * RecordsPerPartition, Timeout);
        var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(topic, p)).ToList();

        ConsumeAndCommitUpTo(clients, GroupBrokerSettings.ConsumerConfig(broker, group), topic);

        if (killHard)
        {
            broker.Kill();
        }
        else
        {
            await broker.StopAsync();
        }

        await broker.RestartAsync();

        var config = GroupBrokerSettings.ConsumerConfig(broker, group);
        using var consumer = clients.CreateConsumer(config);
        var committed = consumer.Committed(partitions, Timeout);
        Assert.Equal(CommitAt, committed.OrderBy(c => c.Partition.Value).Select(c => c.Offset.Value));

        consumer.Subscribe(topic);
        var firstSeen = new Dictionary<int, long>();
        var counts = new int[Partitions];
        var atEnd = new HashSet<int>();
        var deadline = DateTime.UtcNow + Timeout;
        while (atEnd.Count < Partitions && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                continue;
            }

            if (result.IsPartitionEOF)
            {
                atEnd.Add(result.Partition.Value);
                continue;
            }

            firstSeen.TryAdd(result.Partition.Value, result.Offset.Value);
            counts[result.Partition.Value]++;
        }

        consumer.Close();
        Assert.True(atEnd.Count == Partitions, $"Only partitions [{string.Join(',', atEnd)}] reached their end within {Timeout} after the restart.");
        Assert.Equal(CommitAt, Enumerable.Range(0, Partitions).Select(p => firstSeen.GetValueOrDefault(p, -1)));
        Assert.Equal(CommitAt.Select(c => RecordsPerPartition - (int)c), counts);
    }

    /// <summary>Consumes as a group member and commits each record after processing it, up to <see cref="CommitAt"/> per partition.</summary>
    private void ConsumeAndCommitUpTo(KafkaClients clients, ConsumerConfig config, string topic)
    {
        using var consumer = clients.CreateConsumer(config);
        consumer.Subscribe(topic);
        var committedUpTo = new long[Partitions];
        var deadline = DateTime.UtcNow + Timeout;
        while (Enumerable.Range(0, Partitions).Any(p => committedUpTo[p] < CommitAt[p]))
        {
            Assert.True(DateTime.UtcNow < deadline, $"Committing up to [{string.Join(',', CommitAt)}] took longer than {Timeout}; reached [{string.Join(',', committedUpTo)}].");
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null || result.IsPartitionEOF)
            {
                continue;
            }

            var partition = result.Partition.Value;
            if (result.Offset.Value < CommitAt[partition])
            {
                consumer.Commit(result); // commits offset + 1: the next record to read
                committedUpTo[partition] = result.Offset.Value + 1;
            }
        }

        output.WriteLine($"committed [{string.Join(',', committedUpTo)}] for group {config.GroupId}");
        consumer.Close();
    }
}
