using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Protocol.Messages;
using Xunit.Abstractions;
using WireError = Tributary.Protocol.ErrorCode;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// Topic ids on disk (KIP-516's partition.metadata) on real broker processes: a replica that was down while its topic was
/// deleted and recreated under the same name finds a directory of another topic id when it returns; it must delete that
/// log and copy the new topic from its leader, never serve the old records.
/// </summary>
public sealed class TopicIdOnDiskClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_replica_down_while_its_topic_was_recreated_serves_only_the_new_topics_records()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var clients = new ClusterClients(cluster);
        var topic = ClusterSteps.UniqueTopic("recreated");
        var oldKeys = ClusterClients.SequenceKeys("old", 0, 30);
        var newKeys = ClusterClients.SequenceKeys("new", 0, 5);
        const int Returning = 3;

        await ClusterSteps.CreatePlacedTopicAsync(clients, topic, [1, 2, Returning]);
        using (var producer = clients.CreateProducer())
        {
            // One record per batch: truncation removes whole batches, so one 30-record batch would vanish with any cut.
            foreach (var key in oldKeys)
            {
                var delivered = await producer.ProduceAsync(topic, new Message<string, string> { Key = key, Value = key });
                Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
            }
        }

        cluster.Broker(Returning).Kill();
        // Once the returning broker is fenced, the new topic starts under leader 1 at leader epoch 0, the epoch of the old
        // records too: divergence truncation (which compares epochs and end offsets) cannot tell the old records from the
        // new ones, and only the topic id can.
        await clients.WaitForPartitionAsync(topic, 0, s => !s.Isr.Contains(Returning), StateTimeout);
        await DeleteTopicAsync(clients, topic);
        // Placed with the (fenced) returning broker first, so it is the preferred leader once back; broker 1 leads meanwhile.
        await CreateAssignedTopicAsync(clients, topic, [Returning, 1, 2]);
        await clients.WaitForPartitionAsync(topic, 0, s => s.Leader == 1, StateTimeout);
        using (var producer = clients.CreateProducer())
        {
            Assert.All(ClusterClients.ProduceAndWait(producer, topic, newKeys, StateTimeout), code => Assert.Equal(ErrorCode.NoError, code));
        }

        await cluster.Broker(Returning).RestartAsync();
        await clients.WaitForPartitionAsync(topic, 0, s => s.Isr.Count == 3, StateTimeout);

        var readFrom = new Dictionary<int, List<string>>();
        foreach (var leader in new[] { Returning, 1, 2 })
        {
            await MakeLeaderAsync(cluster, clients, topic, leader);
            readFrom[leader] = [.. clients.ReadAll(topic, 1, StateTimeout).Select(r => r.Key)];
            output.WriteLine($"read through leader {leader}: [{string.Join(", ", readFrom[leader])}]");
        }

        Assert.All(readFrom, read => Assert.Equal(newKeys, read.Value));
    }

    private static async Task DeleteTopicAsync(ClusterClients clients, string topic)
    {
        using (var admin = clients.CreateAdmin())
        {
            await admin.DeleteTopicsAsync([topic],
                new DeleteTopicsOptions { RequestTimeout = ClusterClients.AdminTimeout, OperationTimeout = ClusterClients.AdminTimeout });
        }

        // Metadata for all topics: asking for this one by name would auto-create it again.
        await Eventually.TrueAsync(() => !AllTopics(clients).Contains(topic), $"{topic} gone from the metadata", StateTimeout);
    }

    private static HashSet<string> AllTopics(ClusterClients clients)
    {
        using var admin = clients.CreateAdmin();
        return [.. admin.GetMetadata(TimeSpan.FromSeconds(5)).Topics.Select(t => t.Topic)];
    }

    private static async Task CreateAssignedTopicAsync(ClusterClients clients, string topic, List<int> replicas)
    {
        using var admin = clients.CreateAdmin();
        await admin.CreateTopicsAsync(
            [new TopicSpecification
            {
                Name = topic,
                NumPartitions = 1,
                ReplicationFactor = -1,
                ReplicasAssignments = new Dictionary<int, List<int>> { [0] = replicas },
            }],
            new CreateTopicsOptions { RequestTimeout = ClusterClients.AdminTimeout, OperationTimeout = ClusterClients.AdminTimeout });
    }

    /// <summary>Reorders the replicas so <paramref name="leader"/> is the preferred one (a reassignment to the same set
    /// completes at once), then runs a preferred election and waits until it leads with all three in sync.</summary>
    private static async Task MakeLeaderAsync(ClusterProcess cluster, ClusterClients clients, string topic, int leader)
    {
        var current = clients.Partition(topic, 0) ?? throw new InvalidOperationException($"{topic}-0 is unknown.");
        if (current.Replicas[0] != leader)
        {
            List<int> order = [leader, .. current.Replicas.Where(r => r != leader)];
            var reassigned = await RawKafkaExchange.SendAsync<AlterPartitionReassignmentsResponse>(cluster.Broker(1), Reassign(topic, order), version: 0);
            Assert.Equal((short)WireError.None, reassigned.ErrorCode);
            await clients.WaitForPartitionAsync(topic, 0, s => s.Replicas[0] == leader && s.Isr.Count == 3, StateTimeout);
        }

        await ClusterSteps.ElectAsync(clients, ElectionType.Preferred, new TopicPartition(topic, 0));
        await clients.WaitForPartitionAsync(topic, 0, s => s.Leader == leader && s.Isr.Count == 3, StateTimeout);
    }

    private static AlterPartitionReassignmentsRequest Reassign(string topic, List<int> replicas) => new()
    {
        TimeoutMs = 15_000,
        Topics =
        [
            new AlterPartitionReassignmentsRequest.ReassignableTopic
            {
                Name = topic,
                Partitions = [new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = 0, Replicas = replicas }],
            },
        ],
    };
}
