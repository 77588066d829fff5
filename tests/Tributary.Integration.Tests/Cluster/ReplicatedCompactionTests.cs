using System.Text;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Tributary.Integration.Tests.Retention;
using Tributary.Protocol.Records;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// Issue 15 on a replicated topic: every replica compacts its own log (followers clean independently, as in Kafka), round after
/// round, and all three converge on the same live keys; checked on each broker's segment files, the last time after a clean stop.
/// </summary>
public sealed class ReplicatedCompactionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);
    private const string Topic = "compacted-rf3";

    [Fact]
    public async Task Every_replica_of_a_compacted_topic_keeps_compacting_and_all_converge_on_the_same_live_keys()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions
        {
            Overrides = new Dictionary<string, string> { ["log.cleaner.backoff.ms"] = "200" },
        });
        var clients = new ClusterClients(cluster);
        await clients.CreateTopicAsync(Topic, 1, 3, ContinuousCompactionTests.CompactedTopicConfig());
        var rounds = new CompactionRounds(seed: 17);
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(clients.ProducerConfig()).Build())
        {
            for (int round = 0; round < 4; round++)
            {
                AssertPersisted(KafkaClients.ProduceAll(producer, Topic, rounds.Next(updates: 300, deletes: 15, keySpace: 150), Timeout));
                await Task.Delay(500);
                AssertPersisted(KafkaClients.ProduceAll(producer, Topic, [rounds.Marker(round)], Timeout));
                foreach (ClusterBroker broker in cluster.Brokers)
                {
                    List<ReadBackRecord> replica = await Eventually.ValueAsync(() => ReadReplica(broker), rounds.IsCompacted, Timeout);
                    rounds.AssertCompacted(replica, $"broker {broker.NodeId} after round {round}");
                }
            }
        }

        // Tombstones expire on every replica, and after a clean stop each one holds exactly the live keys with their latest values.
        foreach (ClusterBroker broker in cluster.Brokers)
        {
            await Eventually.ValueAsync(() => ReadReplica(broker), read => rounds.IsCompacted(read) && read.All(r => r.Value is not null), Timeout);
        }

        foreach (ClusterBroker broker in cluster.Brokers)
        {
            Assert.Equal(0, await broker.StopAsync());
        }

        foreach (ClusterBroker broker in cluster.Brokers)
        {
            List<ReadBackRecord> replica = ReadReplica(broker);
            rounds.AssertCompacted(replica, $"broker {broker.NodeId} after a clean stop");
            Assert.DoesNotContain(replica, record => record.Value is null);
            Assert.Equal(rounds.LiveKeys(), replica.Where(r => r.Key != "marker").ToDictionary(r => r.Key, r => r.Value!));
        }
    }

    /// <summary>
    /// The records of this broker's replica, read straight from its segment files (batches are uncompressed here). A running
    /// broker may swap files under the read: that read is reported as empty and the caller's poll reads again.
    /// </summary>
    private static List<ReadBackRecord> ReadReplica(ClusterBroker broker)
    {
        string directory = Path.Combine(broker.DataDirectory, Topic + "-0");
        var records = new List<ReadBackRecord>();
        try
        {
            foreach (string segment in Directory.GetFiles(directory, "*.log").Order(StringComparer.Ordinal))
            {
                byte[] bytes = File.ReadAllBytes(segment);
                var batches = new RecordBatchEnumerator(bytes);
                while (batches.MoveNext())
                {
                    var reader = new RecordReader(batches.Current);
                    while (reader.TryReadNext(out RecordView record))
                    {
                        records.Add(new ReadBackRecord(record.Offset, Encoding.UTF8.GetString(record.Key),
                            record.HasValue ? Encoding.UTF8.GetString(record.Value) : null));
                    }
                }
            }
        }
        catch (Exception exception) when (exception is IOException or InvalidDataException)
        {
            return [];
        }

        return records;
    }

    private static void AssertPersisted(IReadOnlyList<DeliveryReport<byte[]?, byte[]?>> reports) =>
        Assert.All(reports, report => Assert.Equal(PersistenceStatus.Persisted, report.Status));
}
