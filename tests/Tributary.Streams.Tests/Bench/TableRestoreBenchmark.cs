using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Stream;
using Streamiz.Kafka.Net.Table;
using Tributary.Streams.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Bench;

/// <summary>
/// <c>make streams-bench</c>: a table of STREAMS_BENCH_RESTORE_KEYS (1,000,000) distinct keys — a count per key over an
/// input with one record per key, in Streamiz's in-memory store with its changelog — built by one instance; a new
/// instance with an empty state directory then restores it from the changelog. Measured: from the new instance's start
/// until Streamiz reports the end of every store restoration, and restored records/s. Not part of <c>make test</c>.
/// </summary>
[Collection(StreamsClusterCollection.Name)]
[Trait("Category", "StreamsBench")]
public sealed class TableRestoreBenchmark
{
    private const int Partitions = 4;

    private readonly StreamsCluster cluster;
    private readonly ITestOutputHelper output;

    public TableRestoreBenchmark(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        this.output = output;
        cluster.Attach(output);
    }

    [Fact]
    public async Task Table_of_a_million_keys_restore_time()
    {
        var keys = int.TryParse(Environment.GetEnvironmentVariable("STREAMS_BENCH_RESTORE_KEYS"), CultureInfo.InvariantCulture, out var n) ? n : 1_000_000;
        var applicationId = "bench-restore-" + Guid.NewGuid().ToString("N")[..8];
        var input = applicationId + "-in";
        await cluster.CreateTopicsAsync(Partitions, input);

        Topology Build()
        {
            var builder = new StreamBuilder();
            builder.Stream<string, string>(input).GroupByKey().Count(InMemory.As<string, long>("table").WithValueSerdes<Int64SerDes>());
            return builder.Build();
        }

        StreamConfig<StringSerDes, StringSerDes> Config()
        {
            var config = StreamsApp.Config(cluster, applicationId);
            config.CommitIntervalMs = 1000;
            return config;
        }

        ProduceKeys(input, keys);
        var building = Stopwatch.StartNew();
        var first = await StreamsApp.StartAsync(cluster, Build(), Config());
        await using (first)
        {
            await WaitCommittedAsync(applicationId, input, keys);
        }

        building.Stop();
        if (Directory.Exists(first.StateDirectory))
        {
            // The in-memory store keeps nothing on disk; a persistent one would, and the new instance must not reuse it.
            Directory.Delete(first.StateDirectory, recursive: true);
        }

        var changelog = $"{applicationId}-table-changelog";
        var restoring = Stopwatch.StartNew();
        await using var restarted = await StreamsApp.StartAsync(cluster, Build(), Config(), TimeSpan.FromMinutes(10));
        await Eventually.TrueAsync(() => restarted.RestoredRecords.GetValueOrDefault("table") >= keys,
            $"{keys} records restored into the table", TimeSpan.FromMinutes(10), TimeSpan.FromMilliseconds(20));
        restoring.Stop();

        string[] rows =
        [
            string.Create(CultureInfo.InvariantCulture,
                $"| table restore ({keys:N0} keys, in-memory store, {Partitions} changelog partitions) | {restoring.Elapsed.TotalSeconds:F1} s | {keys / restoring.Elapsed.TotalSeconds:N0} records/s | table built in {building.Elapsed.TotalSeconds:F1} s |"),
            string.Create(CultureInfo.InvariantCulture, $"load average: {StreamsThroughputBenchmark.LoadAverage()}"),
        ];
        foreach (var row in rows)
        {
            output.WriteLine(row);
        }

        if (Environment.GetEnvironmentVariable("STREAMS_BENCH_RESULTS") is { Length: > 0 } results)
        {
            await File.AppendAllLinesAsync(results, rows);
        }

        Assert.Equal(keys, restarted.RestoredRecords["table"]);
        Assert.Equal(Partitions, cluster.PartitionCount(changelog));
    }

    private void ProduceKeys(string topic, int keys)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
        }).Build();
        for (var i = 0; i < keys; i++)
        {
            while (true)
            {
                try
                {
                    producer.Produce(topic, new Message<string, string> { Key = "key-" + i.ToString("D7", CultureInfo.InvariantCulture), Value = "v" });
                    break;
                }
                catch (ProduceException<string, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(10));
                }
            }
        }

        producer.Flush(TimeSpan.FromMinutes(2));
    }

    /// <summary>Waits until the application committed the end of every input partition (the table holds every key).</summary>
    private async Task WaitCommittedAsync(string applicationId, string topic, int keys)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = applicationId }).Build();
        var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(topic, p)).ToList();
        await Eventually.TrueAsync(() => consumer.Committed(partitions, TimeSpan.FromSeconds(10)).Sum(c => Math.Max(0, c.Offset.Value)) >= keys,
            $"{applicationId} committed all {keys} input records", TimeSpan.FromMinutes(15), TimeSpan.FromMilliseconds(500));
    }
}
