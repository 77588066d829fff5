using System.Diagnostics;
using Confluent.Kafka;
using Tributary.Integration.Tests.Cluster;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Transactions;

/// <summary>
/// Consume-transform-produce with Confluent.Kafka (read_committed input, transactional output, SendOffsetsToTransaction)
/// on a real 3-broker cluster while brokers die: every input record appears exactly once in the output.
/// </summary>
public sealed class ExactlyOnceClusterTests(ITestOutputHelper output)
{
    private const int Partitions = 3;

    [Fact]
    public async Task Consume_transform_produce_with_the_coordinators_broker_killed_mid_run_loses_and_duplicates_nothing()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var records = int.TryParse(Environment.GetEnvironmentVariable("TXN_EOS_RECORDS"), out var n) ? n : 10_000;
        await RunAsync(cluster, records, killLeaderToo: Environment.GetEnvironmentVariable("TXN_EOS_KILL_LEADER") == "1");
    }

    [Fact]
    public async Task Every_broker_restarted_with_open_transactions_resolves_them_and_keeps_the_committed_ones()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions
        {
            Overrides = new Dictionary<string, string> { ["transaction.abort.timed.out.transaction.cleanup.interval.ms"] = "500" },
        });
        var txns = new TransactionClients(cluster);
        var topic = ClusterSteps.UniqueTopic("txn-restart");
        await txns.Clients.CreateTopicAsync(topic, Partitions, replicationFactor: 3);

        var open = new List<IProducer<string, string>>();
        try
        {
            using (var committed = txns.CreateTransactionalProducer("txn-restart-committed"))
            {
                committed.InitTransactions(TimeSpan.FromSeconds(60));
                committed.BeginTransaction();
                TransactionClients.ProduceAll(committed, topic, Partitions, ClusterClients.SequenceKeys("committed", 0, 30));
                committed.CommitTransaction(TimeSpan.FromSeconds(60));
            }

            for (var i = 0; i < 3; i++)
            {
                var producer = txns.CreateTransactionalProducer($"txn-restart-open-{i}", transactionTimeoutMs: 5000);
                open.Add(producer);
                producer.InitTransactions(TimeSpan.FromSeconds(60));
                producer.BeginTransaction();
                TransactionClients.ProduceAll(producer, topic, Partitions, ClusterClients.SequenceKeys($"open{i}", 0, 30));
            }

            foreach (var broker in cluster.Brokers)
            {
                broker.Kill();
            }

            // All at once: a broker becomes ready only once a quorum of controllers is back.
            await Task.WhenAll(cluster.Brokers.Select(b => b.RestartAsync()));
        }
        finally
        {
            // The open producers never end their transactions; the restarted coordinators time them out.
            foreach (var producer in open)
            {
                producer.Dispose();
            }
        }

        using (var after = txns.CreateTransactionalProducer("txn-restart-after"))
        {
            after.InitTransactions(TimeSpan.FromSeconds(60));
            after.BeginTransaction();
            TransactionClients.ProduceAll(after, topic, Partitions, ClusterClients.SequenceKeys("after", 0, 30));
            after.CommitTransaction(TimeSpan.FromSeconds(60));
        }

        var expected = ClusterClients.SequenceKeys("after", 0, 30).Concat(ClusterClients.SequenceKeys("committed", 0, 30)).ToList();
        var read = await Eventually.ValueAsync(
            () => Task.FromResult(txns.ReadAll(topic, Partitions, IsolationLevel.ReadCommitted, TimeSpan.FromSeconds(60))
                .Values.SelectMany(r => r).Order(StringComparer.Ordinal).ToList()),
            keys => keys.Count >= expected.Count,
            TimeSpan.FromSeconds(90));

        Assert.Equal(expected, read);
    }

    private static readonly TimeSpan ApiTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan HangLimit = ApiTimeout + TimeSpan.FromSeconds(30);

    /// <summary>Runs a blocking librdkafka call; false if it has not returned well after its own timeout (it keeps running).</summary>
    private static bool ReturnsWithin(Action call)
    {
        var task = Task.Run(call);
        if (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(HangLimit))
        {
            return false;
        }

        task.GetAwaiter().GetResult();
        return true;
    }

    /// <summary>Rewinds the consumer to its group's committed offsets: the failed transaction's batch is read again.</summary>
    private static void SeekToCommitted(IConsumer<string, string> consumer)
    {
        foreach (var position in consumer.Committed(consumer.Assignment, TimeSpan.FromSeconds(30)))
        {
            consumer.Seek(position.Offset == Offset.Unset ? new TopicPartitionOffset(position.TopicPartition, Offset.Beginning) : position);
        }
    }

    private async Task RunAsync(ClusterProcess cluster, int records, bool killLeaderToo)
    {
        var txns = new TransactionClients(cluster);
        TransactionClients.AssertBundledLibrdkafka(cluster.Log);
        var input = ClusterSteps.UniqueTopic("eos-in");
        var outputTopic = ClusterSteps.UniqueTopic("eos-out");
        var group = ClusterSteps.UniqueTopic("eos-group");
        const string transactionalId = "eos-transformer";
        await txns.Clients.CreateTopicAsync(input, Partitions, replicationFactor: 3);
        await txns.Clients.CreateTopicAsync(outputTopic, Partitions, replicationFactor: 3);
        using (var seed = txns.Clients.CreateProducer())
        {
            TransactionClients.ProduceAll(seed, input, Partitions, ClusterClients.SequenceKeys("r", 0, records));
        }

        var killAt = records / 3;
        var leaderKillAt = 2 * records / 3;
        var killed = new List<ClusterBroker>();
        var abandoned = new List<IProducer<string, string>>();
        var consumerConfig = txns.Clients.ConsumerConfig();
        consumerConfig.GroupId = group;
        consumerConfig.IsolationLevel = IsolationLevel.ReadCommitted;
        consumerConfig.AutoOffsetReset = AutoOffsetReset.Earliest;
        consumerConfig.EnablePartitionEof = false;
        using var consumer = txns.Clients.CreateConsumer(consumerConfig);
        consumer.Subscribe(input);
        var producer = txns.CreateTransactionalProducer(transactionalId);
        producer.InitTransactions(TimeSpan.FromSeconds(60));
        // __transaction_state exists once the first FindCoordinator for a transactional id created it.
        var coordinator = await txns.CoordinatorOfAsync(transactionalId);
        var clock = Stopwatch.StartNew();
        var done = 0L;

        void Abandon()
        {
            cluster.Log.WriteLine($"[test] a transactional call did not return within {HangLimit}: abandoning the producer after {done} records");
            abandoned.Add(producer);
            producer = txns.CreateTransactionalProducer(transactionalId);
            producer.InitTransactions(ApiTimeout);
        }

        var transactions = 0;
        var aborted = 0;
        try
        {
            while (done < records)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(10), $"only {done} of {records} records transformed after {clock.Elapsed}");
                var batch = new List<ConsumeResult<string, string>>();
                while (batch.Count < 200)
                {
                    var next = consumer.Consume(TimeSpan.FromMilliseconds(batch.Count == 0 ? 500 : 20));
                    if (next is null)
                    {
                        break;
                    }

                    batch.Add(next);
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                ClusterBroker? victim = null;
                var why = "";
                if (killed.Count == 0 && done >= killAt)
                {
                    victim = cluster.Broker(coordinator);
                    why = $"the coordinator of {transactionalId}";
                }
                else if (killLeaderToo && killed.Count == 1 && done >= leaderKillAt)
                {
                    if (!killed[0].IsRunning)
                    {
                        await killed[0].RestartAsync();
                    }

                    var leader = txns.Clients.Partition(outputTopic, 0)?.Leader ?? -1;
                    if (leader > 0)
                    {
                        victim = cluster.Broker(leader);
                        why = $"leader of {outputTopic}-0";
                    }
                }

                try
                {
                    producer.BeginTransaction();
                    foreach (var record in batch)
                    {
                        producer.Produce(new TopicPartition(outputTopic, record.Partition.Value),
                            new Message<string, string> { Key = record.Message.Key, Value = "t:" + record.Message.Value });
                    }

                    var positions = batch.GroupBy(r => r.TopicPartition)
                        .Select(g => new TopicPartitionOffset(g.Key, g.Max(r => r.Offset.Value) + 1)).ToList();
                    var current = producer;
                    var returned = ReturnsWithin(() => current.SendOffsetsToTransaction(positions, consumer.ConsumerGroupMetadata, ApiTimeout));
                    if (returned && victim is not null)
                    {
                        // Mid-transaction: the batch is queued or in flight, its offsets are in the transaction, and the
                        // coordinator holds it open (Ongoing) until the EndTxn that follows.
                        cluster.Log.WriteLine($"[test] kill -9 of broker {victim.NodeId}, {why}, mid-transaction after {done} records");
                        victim.Kill();
                        killed.Add(victim);
                    }

                    returned = returned && ReturnsWithin(() => current.CommitTransaction(ApiTimeout));
                    if (!returned)
                    {
                        // librdkafka can wait past its own timeout for a coordinator whose broker died (librdkafka issues
                        // 5456 and 5511). The application's way out, as for any stuck producer: abandon it and start a new
                        // one with the same transactional.id, which fences it and aborts its open transaction.
                        Abandon();
                        SeekToCommitted(consumer);
                        continue;
                    }

                    done += batch.Count;
                    transactions++;
                }
                catch (KafkaException e)
                {
                    aborted++;
                    cluster.Log.WriteLine($"[test] transaction failed: {e.Error.Code} {e.Error.Reason} (fatal {e.Error.IsFatal}, abortable {(e as KafkaTxnRequiresAbortException) is not null})");
                    var failed = producer;
                    if (e is KafkaTxnRequiresAbortException)
                    {
                        if (!ReturnsWithin(() => failed.AbortTransaction(ApiTimeout)))
                        {
                            Abandon();
                        }
                    }
                    else if (e is KafkaRetriableException)
                    {
                        // The commit's outcome is unknown; retrying the commit is how librdkafka wants it resolved.
                        if (ReturnsWithin(() => failed.CommitTransaction(ApiTimeout)))
                        {
                            done += batch.Count;
                            transactions++;
                            continue;
                        }

                        Abandon();
                    }
                    else
                    {
                        producer.Dispose();
                        producer = txns.CreateTransactionalProducer(transactionalId);
                        producer.InitTransactions(ApiTimeout);
                    }

                    SeekToCommitted(consumer);
                }
            }
        }
        finally
        {
            // An abandoned producer is not disposed: its Dispose would wait for the call that never returned.
            producer.Dispose();
        }

        foreach (var broker in killed.Where(b => !b.IsRunning))
        {
            await broker.RestartAsync();
        }

        var transformTime = clock.Elapsed;
        cluster.Log.WriteLine($"[test] {records} records in {transactions} transactions ({aborted} failed and retried) in {clock.ElapsedMilliseconds} ms");
        var read = txns.ReadAll(outputTopic, Partitions, IsolationLevel.ReadCommitted, TimeSpan.FromSeconds(120));
        var keys = read.Values.SelectMany(r => r).ToList();
        var duplicated = keys.GroupBy(k => k).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var lost = ClusterClients.SequenceKeys("r", 0, records).Except(keys).ToList();
        // make txn-chaos quotes this line (bench/results/issue-21-eos.md).
        cluster.Log.WriteLine($"[test] summary: records {records}, output {keys.Count}, lost {lost.Count}, duplicated {duplicated.Count}, " +
            $"brokers killed {killed.Count}, transactions {transactions} ({aborted} failed and retried, {abandoned.Count} producers abandoned as hung), transform wall time {transformTime.TotalSeconds:F1} s");
        var duplicates = duplicated.Take(5).ToList();
        var missing = lost.Take(5).ToList();
        Assert.True(duplicates.Count == 0, $"duplicated on the output: {string.Join(", ", duplicates)}");
        Assert.True(missing.Count == 0, $"lost on the output: {string.Join(", ", missing)}");
        Assert.Equal(records, keys.Count);
    }
}
