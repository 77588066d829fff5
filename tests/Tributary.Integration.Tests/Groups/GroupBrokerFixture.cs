using System.Globalization;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Integration.Tests.Groups;

/// <summary>Broker settings every consumer-group test needs on a single broker.</summary>
public static class GroupBrokerSettings
{
    /// <summary>
    /// <c>group.initial.rebalance.delay.ms=0</c>: no 3 s wait before the first rebalance of each new group, as in
    /// Kafka's test configurations; every test uses a fresh group. (The harness already sets
    /// <c>offsets.topic.replication.factor=1</c> for its one-broker cluster.)
    /// </summary>
    public static IReadOnlyDictionary<string, string> Overrides(IReadOnlyDictionary<string, string>? extra = null)
    {
        var all = new Dictionary<string, string>
        {
            ["group.initial.rebalance.delay.ms"] = "0",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }

        return all;
    }

    /// <summary>A group id no other test uses.</summary>
    public static string UniqueGroup(string purpose) => $"{purpose}-{Guid.NewGuid():N}"[..(purpose.Length + 13)];

    /// <summary>
    /// A subscribing consumer with manual commits. Short heartbeats so members learn of a rebalance within half a
    /// second; max.poll.interval.ms is the rebalance timeout librdkafka sends in JoinGroup.
    /// </summary>
    public static ConsumerConfig ConsumerConfig(BrokerProcess broker, string groupId) => new()
    {
        BootstrapServers = broker.BootstrapServers,
        BrokerAddressFamily = BrokerAddressFamily.V4,
        GroupId = groupId,
        EnableAutoCommit = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnablePartitionEof = true,
        CheckCrcs = true,
        FetchWaitMaxMs = 100,
        SessionTimeoutMs = 10_000,
        HeartbeatIntervalMs = 500,
        MaxPollIntervalMs = (int)RebalanceTimeout.TotalMilliseconds,
        PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range,
    };

    /// <summary>The rebalance timeout of <see cref="ConsumerConfig"/> (librdkafka sends max.poll.interval.ms).</summary>
    public static TimeSpan RebalanceTimeout { get; } = TimeSpan.FromSeconds(20);

    /// <summary>Numbered values "r000000", … spread over the partitions by index.</summary>
    public static string ValueOf(int index) => "r" + index.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>Produces <paramref name="count"/> records numbered from <paramref name="first"/>, record i to partition i mod <paramref name="partitions"/>; throws on any delivery error.</summary>
    public static void ProduceNumbered(KafkaClients clients, string topic, int partitions, int first, int count, TimeSpan timeout)
    {
        using var producer = clients.CreateProducer();
        var failures = 0;
        for (var i = first; i < first + count; i++)
        {
            var message = new Message<byte[]?, byte[]?> { Value = System.Text.Encoding.UTF8.GetBytes(ValueOf(i)) };
            producer.Produce(new TopicPartition(topic, i % partitions), message, report =>
            {
                if (report.Error.IsError)
                {
                    Interlocked.Increment(ref failures);
                }
            });
        }

        var undelivered = producer.Flush(timeout);
        if (undelivered != 0 || failures != 0)
        {
            throw new InvalidOperationException($"Producing {count} records to {topic}: {undelivered} undelivered, {failures} failed.");
        }
    }
}

/// <summary>One broker shared by a test class, configured for consumer groups.</summary>
public sealed class GroupBrokerFixture : BrokerFixture
{
    protected override IReadOnlyDictionary<string, string> Overrides { get; } = GroupBrokerSettings.Overrides();
}
