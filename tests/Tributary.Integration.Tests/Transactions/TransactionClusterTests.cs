using Confluent.Kafka;
using Tributary.Integration.Tests.Cluster;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Transactions;

/// <summary>
/// Transactions end to end on a real 3-broker cluster (RF 3, min ISR 2) with Confluent.Kafka's transactional producer:
/// the coordinator (FindCoordinator, InitProducerId, AddPartitionsToTxn, EndTxn, markers) and the leaders' side
/// (transactional batches, markers, the last stable offset, read_committed fetches).
/// </summary>
public sealed class TransactionClusterTests(ITestOutputHelper output)
{
    private const int Partitions = 3;
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Read_committed_sees_committed_transactions_and_never_an_aborted_record()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var txns = new TransactionClients(cluster);
        TransactionClients.AssertBundledLibrdkafka(cluster.Log);
        var topic = ClusterSteps.UniqueTopic("txn-abort");
        await txns.Clients.CreateTopicAsync(topic, Partitions, replicationFactor: 3);

        using (var producer = txns.CreateTransactionalProducer("txn-abort-producer"))
        {
            producer.InitTransactions(TimeSpan.FromSeconds(60));
            for (var round = 0; round < 6; round++)
            {
                producer.BeginTransaction();
                var commit = round % 2 == 0;
                TransactionClients.ProduceAll(producer, topic, Partitions, ClusterClients.SequenceKeys(commit ? $"c{round}" : $"a{round}", 0, 50));
                if (commit)
                {
                    producer.CommitTransaction(TimeSpan.FromSeconds(60));
                }
                else
                {
                    producer.AbortTransaction(TimeSpan.FromSeconds(60));
                }
            }
        }

        var committed = txns.ReadAll(topic, Partitions, IsolationLevel.ReadCommitted, ReadTimeout);
        var everything = txns.ReadAll(topic, Partitions, IsolationLevel.ReadUncommitted, ReadTimeout);

        Assert.Equal(300, everything.Values.Sum(r => r.Count));
        Assert.Equal(150, committed.Values.Sum(r => r.Count));
        for (var p = 0; p < Partitions; p++)
        {
            // Record by record: read_committed is read_uncommitted without the aborted transactions, in the same order.
            Assert.Equal(everything[p].Where(k => k.StartsWith('c')).ToList(), committed[p]);
        }
    }

    [Fact]
    public async Task An_open_transaction_holds_the_last_stable_offset_until_it_commits()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var txns = new TransactionClients(cluster);
        var topic = ClusterSteps.UniqueTopic("txn-lso");
        await txns.Clients.CreateTopicAsync(topic, 1, replicationFactor: 3);

        using var producer = txns.CreateTransactionalProducer("txn-lso-producer");
        producer.InitTransactions(TimeSpan.FromSeconds(60));
        producer.BeginTransaction();
        TransactionClients.ProduceAll(producer, topic, 1, ClusterClients.SequenceKeys("open", 0, 10));
        using (var plain = txns.Clients.CreateProducer())
        {
            TransactionClients.ProduceAll(plain, topic, 1, ClusterClients.SequenceKeys("after", 0, 5));
        }

        var whileOpen = txns.ReadAll(topic, 1, IsolationLevel.ReadCommitted, ReadTimeout);
        var uncommitted = txns.ReadAll(topic, 1, IsolationLevel.ReadUncommitted, ReadTimeout);
        producer.CommitTransaction(TimeSpan.FromSeconds(60));
        var afterCommit = await Eventually.ValueAsync(
            () => Task.FromResult(txns.ReadAll(topic, 1, IsolationLevel.ReadCommitted, ReadTimeout)),
            read => read[0].Count == 15,
            TimeSpan.FromSeconds(30));

        Assert.Empty(whileOpen[0]);
        Assert.Equal(15, uncommitted[0].Count);
        Assert.Equal(uncommitted[0], afterCommit[0]);
    }

    [Fact]
    public async Task A_second_producer_with_the_same_transactional_id_fences_the_first_and_its_open_transaction_is_aborted()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var txns = new TransactionClients(cluster);
        var topic = ClusterSteps.UniqueTopic("txn-fence");
        await txns.Clients.CreateTopicAsync(topic, Partitions, replicationFactor: 3);

        using var zombie = txns.CreateTransactionalProducer("txn-fence-producer");
        zombie.InitTransactions(TimeSpan.FromSeconds(60));
        zombie.BeginTransaction();
        TransactionClients.ProduceAll(zombie, topic, Partitions, ClusterClients.SequenceKeys("zombie", 0, 30));

        using var successor = txns.CreateTransactionalProducer("txn-fence-producer");
        successor.InitTransactions(TimeSpan.FromSeconds(60));
        successor.BeginTransaction();
        TransactionClients.ProduceAll(successor, topic, Partitions, ClusterClients.SequenceKeys("successor", 0, 30));
        successor.CommitTransaction(TimeSpan.FromSeconds(60));

        var fenced = Assert.ThrowsAny<KafkaException>(() => zombie.CommitTransaction(TimeSpan.FromSeconds(30)));
        output.WriteLine($"zombie commit: {fenced.Error.Code} {fenced.Error.Reason} (fatal {fenced.Error.IsFatal})");
        // librdkafka reports the broker's PRODUCER_FENCED / INVALID_PRODUCER_EPOCH as its own fatal Local_Fenced.
        Assert.True(fenced.Error.IsFatal);
        Assert.Contains(fenced.Error.Code, new[] { ErrorCode.Local_Fenced, ErrorCode.ProducerFenced, ErrorCode.InvalidProducerEpoch });
        var committed = txns.ReadAll(topic, Partitions, IsolationLevel.ReadCommitted, ReadTimeout);
        Assert.Equal(ClusterClients.SequenceKeys("successor", 0, 30), committed.Values.SelectMany(r => r).Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public async Task An_abandoned_transaction_is_aborted_after_its_timeout_and_unblocks_read_committed()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions
        {
            Overrides = new Dictionary<string, string> { ["transaction.abort.timed.out.transaction.cleanup.interval.ms"] = "500" },
        });
        var txns = new TransactionClients(cluster);
        var topic = ClusterSteps.UniqueTopic("txn-timeout");
        await txns.Clients.CreateTopicAsync(topic, 1, replicationFactor: 3);

        var abandoned = txns.CreateTransactionalProducer("txn-timeout-abandoned", transactionTimeoutMs: 3000);
        abandoned.InitTransactions(TimeSpan.FromSeconds(60));
        abandoned.BeginTransaction();
        TransactionClients.ProduceAll(abandoned, topic, 1, ClusterClients.SequenceKeys("abandoned", 0, 10));
        // The producer goes away without ending its transaction (a crashed application).
        abandoned.Dispose();
        using (var other = txns.CreateTransactionalProducer("txn-timeout-other"))
        {
            other.InitTransactions(TimeSpan.FromSeconds(60));
            other.BeginTransaction();
            TransactionClients.ProduceAll(other, topic, 1, ClusterClients.SequenceKeys("later", 0, 10));
            other.CommitTransaction(TimeSpan.FromSeconds(60));
        }

        var read = await Eventually.ValueAsync(
            () => Task.FromResult(txns.ReadAll(topic, 1, IsolationLevel.ReadCommitted, ReadTimeout)),
            r => r[0].Count > 0,
            TimeSpan.FromSeconds(60));

        Assert.Equal(ClusterClients.SequenceKeys("later", 0, 10), read[0]);
    }
}
