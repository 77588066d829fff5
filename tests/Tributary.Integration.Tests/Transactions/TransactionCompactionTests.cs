using System.Text;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Transactions;

/// <summary>One broker that runs transactions on its own (__transaction_state with one replica) and cleans logs several times a second.</summary>
public sealed class TransactionCompactionBrokerFixture : BrokerFixture
{
    protected override IReadOnlyDictionary<string, string> Overrides { get; } = new Dictionary<string, string>
    {
        ["log.cleaner.backoff.ms"] = "200",
        ["transaction.state.log.replication.factor"] = "1",
        ["transaction.state.log.min.isr"] = "1",
        ["transaction.state.log.num.partitions"] = "1",
    };
}

/// <summary>The log cleaner on a compacted topic written by committed and aborted transactions, seen through Confluent.Kafka.</summary>
public sealed class TransactionCompactionTests : IClassFixture<TransactionCompactionBrokerFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;
    private readonly ITestOutputHelper output;

    public TransactionCompactionTests(TransactionCompactionBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
        this.output = output;
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task Cleaning_a_transactional_compacted_topic_leaves_exactly_the_latest_committed_value_per_key_for_both_isolation_levels()
    {
        string topic = KafkaClients.UniqueTopic("txn-compacted");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string>
        {
            ["cleanup.policy"] = "compact",
            ["segment.bytes"] = "4096",
            ["min.cleanable.dirty.ratio"] = "0.01",
            ["delete.retention.ms"] = "500",
            ["segment.ms"] = "1000",
        });
        var model = new Dictionary<string, string>();
        var aborted = new HashSet<string>();
        var config = clients.ProducerConfig();
        config.TransactionalId = "txn-compaction-" + Guid.NewGuid().ToString("N");
        config.EnableIdempotence = true;
        config.MaxInFlight = 5;
        config.BatchNumMessages = 10;
        using (var producer = clients.CreateProducer(config))
        {
            producer.InitTransactions(Timeout);
            for (int round = 0; round < 30; round++)
            {
                bool commit = round % 3 != 2;
                var values = new List<(string Key, string Value)>();
                producer.BeginTransaction();
                for (int i = 0; i < 20; i++)
                {
                    string key = $"key-{((round * 7) + i) % 25}";
                    string value = $"{(commit ? "committed" : "aborted")}-{round}-{i}";
                    values.Add((key, value));
                    producer.Produce(topic, new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes(value) });
                }

                Assert.Equal(0, producer.Flush(Timeout));
                if (commit)
                {
                    producer.CommitTransaction(Timeout);
                    foreach ((string key, string value) in values)
                    {
                        model[key] = value;
                    }
                }
                else
                {
                    producer.AbortTransaction(Timeout);
                    aborted.UnionWith(values.Select(v => v.Value));
                }
            }

            // segment.ms has passed by the time this lands, so it rolls the segment holding the transactions: all become cleanable.
            await Task.Delay(1500);
            producer.BeginTransaction();
            producer.Produce(topic, new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes("tail"), Value = Encoding.UTF8.GetBytes("tail") });
            producer.CommitTransaction(Timeout);
            model["tail"] = "tail";
        }

        long bytesBefore = LogBytes(topic);
        var uncommitted = clients.ConsumerConfig();
        uncommitted.IsolationLevel = IsolationLevel.ReadUncommitted;
        List<(string Key, string Value)> readUncommitted = await Eventually.ValueAsync(
            () => Read(topic, uncommitted), read => read.Count == model.Count, Timeout);
        output.WriteLine($"[test] log bytes: {bytesBefore} when the producer finished (cleaning already under way), {LogBytes(topic)} once cleaned");

        var committed = clients.ConsumerConfig();
        committed.IsolationLevel = IsolationLevel.ReadCommitted;
        List<(string Key, string Value)> readCommitted = Read(topic, committed);

        Assert.DoesNotContain(readUncommitted, r => aborted.Contains(r.Value));
        Assert.Equal(model, readUncommitted.ToDictionary(r => r.Key, r => r.Value));
        Assert.Equal(model, readCommitted.ToDictionary(r => r.Key, r => r.Value));
    }

    private List<(string Key, string Value)> Read(string topic, ConsumerConfig config) =>
        [.. clients.ReadToEnd(topic, 1, Timeout, config)[0].Select(r =>
            (Encoding.UTF8.GetString(r.Message.Key!), Encoding.UTF8.GetString(r.Message.Value!)))];

    private long LogBytes(string topic) =>
        Directory.EnumerateFiles(Path.Combine(broker.DataDirectory, topic + "-0"), "*.log").Sum(path => new FileInfo(path).Length);
}
