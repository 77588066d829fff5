using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Cluster;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Groups;

/// <summary>
/// Three brokers, <c>__consumer_offsets</c> with three replicas: offsets acknowledged by the group's coordinator survive
/// kill -9 of that coordinator, served by the broker that takes over the group's partition.
/// </summary>
public sealed class CoordinatorFailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Committed_offsets_survive_a_kill_of_the_coordinator_and_are_served_by_the_new_one()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 3 });
        var clients = new ClusterClients(cluster);
        var topic = $"cf-{Guid.NewGuid():N}"[..20];
        var group = $"cf-group-{Guid.NewGuid():N}"[..24];
        await clients.CreateTopicAsync(topic, partitions: 1, replicationFactor: 3);
        var partition = new TopicPartition(topic, 0);

        using (var consumer = clients.CreateConsumer(new ConsumerConfig(clients.ConsumerConfig()) { GroupId = group }))
        {
            consumer.Assign(partition);
            await RetryAsync(() => consumer.Commit([new TopicPartitionOffset(partition, 42)]), "commit");
        }

        var coordinator = await CoordinatorOfAsync(clients, group);
        output.WriteLine($"group {group} is coordinated by broker {coordinator}; killing it");
        cluster.Broker(coordinator).Kill();

        long committed = -1;
        using (var consumer = clients.CreateConsumer(new ConsumerConfig(clients.ConsumerConfig()) { GroupId = group }))
        {
            await RetryAsync(() =>
            {
                committed = Assert.Single(consumer.Committed([partition], TimeSpan.FromSeconds(10))).Offset.Value;
                if (committed != 42)
                {
                    throw new InvalidOperationException($"committed offset is {committed}");
                }
            }, "offset fetch after the kill");
        }

        Assert.Equal(42, committed);
        Assert.NotEqual(coordinator, await CoordinatorOfAsync(clients, group));
    }

    private static async Task<int> CoordinatorOfAsync(ClusterClients clients, string group)
    {
        using var admin = clients.CreateAdmin();
        var described = await admin.DescribeConsumerGroupsAsync([group], new DescribeConsumerGroupsOptions { RequestTimeout = ClusterClients.AdminTimeout });
        return Assert.Single(described.ConsumerGroupDescriptions).Coordinator.Id;
    }

    /// <summary>Clients retry coordinator moves themselves only within one call; retry the call, bounded.</summary>
    private async Task RetryAsync(Func<Task> action, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await action();
                return;
            }
            catch (Exception e) when (e is KafkaException or InvalidOperationException && DateTime.UtcNow < deadline)
            {
                output.WriteLine($"{what}: {e.Message}; retrying");
                await Task.Delay(250);
            }
        }
    }

    private Task RetryAsync(Action action, string what) => RetryAsync(() =>
    {
        action();
        return Task.CompletedTask;
    }, what);
}
