using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>Steps the admin-API and metrics cluster tests share: placed topics, async bounded polling, elections through librdkafka.</summary>
public static class ClusterSteps
{
    /// <summary>Creates a one-partition topic on exactly <paramref name="replicas"/> (first = preferred leader) and waits until all of them are in sync.</summary>
    public static async Task CreatePlacedTopicAsync(ClusterClients clients, string topic, IReadOnlyList<int> replicas, IDictionary<string, string>? configs = null)
    {
        using (var admin = clients.CreateAdmin())
        {
            await admin.CreateTopicsAsync(
                [new TopicSpecification
                {
                    Name = topic,
                    // librdkafka wants the real partition count and no replication factor next to an assignment.
                    NumPartitions = 1,
                    ReplicationFactor = -1,
                    ReplicasAssignments = new Dictionary<int, List<int>> { [0] = [.. replicas] },
                    Configs = configs?.ToDictionary(),
                }],
                new CreateTopicsOptions { RequestTimeout = ClusterClients.AdminTimeout, OperationTimeout = ClusterClients.AdminTimeout });
        }

        await clients.WaitForPartitionAsync(topic, 0, s => s.Leader == replicas[0] && s.Isr.Count == replicas.Count, TimeSpan.FromSeconds(20));
    }

    /// <summary>
    /// ElectLeaders through librdkafka (it sends the request to the controller it learned from Metadata); returns each
    /// asked partition's error code. librdkafka throws when any partition failed, ELECTION_NOT_NEEDED included.
    /// </summary>
    public static async Task<IReadOnlyDictionary<TopicPartition, ErrorCode>> ElectAsync(ClusterClients clients, ElectionType type, params TopicPartition[] partitions)
    {
        using var admin = clients.CreateAdmin();
        var options = new ElectLeadersOptions { RequestTimeout = ClusterClients.AdminTimeout, OperationTimeout = ClusterClients.AdminTimeout };
        try
        {
            var result = await admin.ElectLeadersAsync(type, partitions, options);
            return result.TopicPartitions.ToDictionary(p => p.TopicPartition, p => p.Error.Code);
        }
        catch (ElectLeadersException e)
        {
            return e.Results.TopicPartitions.ToDictionary(p => p.TopicPartition, p => p.Error.Code);
        }
    }

    /// <summary>Sum of one gauge over every running, unpaused broker (a broker that does not answer counts as missing, not as 0).</summary>
    public static async Task<double?> SumOverLiveBrokersAsync(ClusterProcess cluster, string metric)
    {
        var live = cluster.Brokers.Where(b => b.IsRunning && !b.IsPaused).ToList();
        var values = await Task.WhenAll(live.Select(b => b.MetricAsync(metric)));
        return values.Any(v => v is null) ? null : values.Sum(v => v!.Value);
    }

    /// <summary>A topic name unique to one test run, at most 32 characters.</summary>
    public static string UniqueTopic(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 32)];
}
