using System.Diagnostics;
using Confluent.Kafka;
using Tributary.Integration.Tests.Cluster;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Integration.Tests.Transactions;

/// <summary>Confluent.Kafka transactional producers and read_committed / read_uncommitted readers for a cluster.</summary>
internal sealed class TransactionClients(ClusterProcess cluster)
{
    public ClusterClients Clients { get; } = new(cluster);

    public IProducer<string, string> CreateTransactionalProducer(string transactionalId, int transactionTimeoutMs = 60_000)
    {
        var config = Clients.ProducerConfig();
        config.TransactionalId = transactionalId;
        config.TransactionTimeoutMs = transactionTimeoutMs;
        config.MessageTimeoutMs = Math.Min(60_000, transactionTimeoutMs); // librdkafka: message.timeout.ms <= transaction.timeout.ms
        config.SocketTimeoutMs = Math.Min(10_000, transactionTimeoutMs); // librdkafka: socket.timeout.ms <= transaction.timeout.ms + 100
        // TXN_DEBUG=eos,protocol… turns on librdkafka's debug contexts when a run needs explaining.
        config.Debug = Environment.GetEnvironmentVariable("TXN_DEBUG");
        return Clients.CreateProducer(config);
    }

    /// <summary>
    /// Reads every partition from the beginning to its end (for read_committed: to the last stable offset) and returns each
    /// partition's keys in offset order.
    /// </summary>
    public Dictionary<int, List<string>> ReadAll(string topic, int partitions, IsolationLevel isolation, TimeSpan timeout)
    {
        var config = Clients.ConsumerConfig();
        config.IsolationLevel = isolation;
        using var consumer = Clients.CreateConsumer(config);
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var read = Enumerable.Range(0, partitions).ToDictionary(p => p, _ => new List<string>());
        var atEnd = new HashSet<int>();
        var clock = Stopwatch.StartNew();
        while (atEnd.Count < partitions)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Reading {topic} ({isolation}) to the end took longer than {timeout}; {read.Values.Sum(r => r.Count)} records so far.");
            }

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

            atEnd.Remove(result.Partition.Value);
            read[result.Partition.Value].Add(result.Message.Key);
        }

        return read;
    }

    /// <summary>The broker coordinating <paramref name="transactionalId"/>: the leader of its <c>__transaction_state</c> partition.</summary>
    public async Task<int> CoordinatorOfAsync(string transactionalId)
    {
        var partition = StatePartitionOf(transactionalId);
        var state = await Clients.WaitForPartitionAsync("__transaction_state", partition, s => s.Leader >= 0, TimeSpan.FromSeconds(30));
        return state.Leader;
    }

    /// <summary>The <c>__transaction_state</c> partition of <paramref name="transactionalId"/> (Kafka: Java hashCode, 50 partitions).</summary>
    public static int StatePartitionOf(string transactionalId) => (JavaStringHashCode(transactionalId) & 0x7fffffff) % 50;

    private static int JavaStringHashCode(string value)
    {
        var hash = 0;
        foreach (var c in value)
        {
            hash = unchecked((31 * hash) + c);
        }

        return hash;
    }

    /// <summary>Produces <paramref name="keys"/> (value = key) to round-robin partitions and waits for every delivery.</summary>
    public static void ProduceAll(IProducer<string, string> producer, string topic, int partitions, IReadOnlyList<string> keys)
    {
        var failed = 0;
        for (var i = 0; i < keys.Count; i++)
        {
            producer.Produce(new TopicPartition(topic, i % partitions), new Message<string, string> { Key = keys[i], Value = keys[i] },
                r =>
                {
                    if (r.Error.IsError)
                    {
                        Interlocked.Increment(ref failed);
                    }
                });
        }

        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, failed);
    }

    public static void AssertBundledLibrdkafka(TestOutputSink log)
    {
        var version = Library.VersionString;
        log.WriteLine($"[harness] librdkafka {version}");
        Assert.StartsWith("2.", version);
    }
}
