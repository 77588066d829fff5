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
/// <c>make streams-bench</c> (and <c>make bench</c>): one Streamiz instance against the 3-broker cluster, records/s end to
/// end — from the first record produced until the last output record is in the output topic (sum of its high
/// watermarks) — for a stateless map and a tumbling-window count, at-least-once. Records: STREAMS_BENCH_RECORDS
/// (200,000). Writes Markdown rows to STREAMS_BENCH_RESULTS when set. Exactly-once rows come when transactions land.
/// </summary>
[Collection(StreamsClusterCollection.Name)]
[Trait("Category", "StreamsBench")]
public sealed class StreamsThroughputBenchmark
{
    private readonly StreamsCluster cluster;
    private readonly ITestOutputHelper output;

    public StreamsThroughputBenchmark(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        this.output = output;
        cluster.Attach(output);
    }

    [Fact]
    public async Task Stateless_map_and_windowed_count_records_per_second()
    {
        var records = int.TryParse(Environment.GetEnvironmentVariable("STREAMS_BENCH_RECORDS"), CultureInfo.InvariantCulture, out var n) ? n : 200_000;
        var map = await MeasureAsync("map", records, (input, outputTopic) =>
        {
            var builder = new StreamBuilder();
            builder.Stream<string, string>(input).MapValues((v, _) => v.ToUpperInvariant()).To(outputTopic);
            return builder;
        });
        var count = await MeasureAsync("windowed-count", records, (input, outputTopic) =>
        {
            var builder = new StreamBuilder();
            builder.Stream<string, string>(input).GroupByKey()
                .WindowedBy(TumblingWindowOptions.Of(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)))
                .Count(InMemoryWindows.As<string, long>("bench-counts").WithValueSerdes<Int64SerDes>())
                .ToStream()
                .Map((k, v, _) => KeyValuePair.Create(k.Key, v.ToString(CultureInfo.InvariantCulture)))
                .To(outputTopic);
            return builder;
        });

        string[] rows =
        [
            Row("stateless map (mapValues)", records, map),
            Row("tumbling-window count (1 s windows, 1,000 keys)", records, count),
        ];
        foreach (var row in rows)
        {
            output.WriteLine(row);
        }

        if (Environment.GetEnvironmentVariable("STREAMS_BENCH_RESULTS") is { Length: > 0 } results)
        {
            await File.AppendAllLinesAsync(results, rows);
        }

        Assert.True(map > TimeSpan.Zero && count > TimeSpan.Zero);
    }

    private static string Row(string topology, int records, TimeSpan elapsed) =>
        string.Create(CultureInfo.InvariantCulture, $"| {topology} | at-least-once | {records:N0} | {elapsed.TotalSeconds:F1} s | {records / elapsed.TotalSeconds:N0} records/s |");

    private async Task<TimeSpan> MeasureAsync(string name, int records, Func<string, string, StreamBuilder> topology)
    {
        var applicationId = $"bench-{name}-{Guid.NewGuid().ToString("N")[..8]}";
        string input = applicationId + "-in", outputTopic = applicationId + "-out";
        await cluster.CreateTopicsAsync(4, input, outputTopic);
        var config = StreamsApp.Config(cluster, applicationId);
        config.CommitIntervalMs = 1000;
        await using var app = await StreamsApp.StartAsync(cluster, topology(input, outputTopic), config);

        var clock = Stopwatch.StartNew();
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
        }).Build())
        {
            const long b = 1_000_000_000;
            for (var i = 0; i < records; i++)
            {
                while (true)
                {
                    try
                    {
                        producer.Produce(input, new Message<string, string>
                        {
                            Key = "key-" + (i % 1000).ToString(CultureInfo.InvariantCulture),
                            Value = "value-" + i.ToString(CultureInfo.InvariantCulture),
                            Timestamp = new Timestamp(b + (i / 10), TimestampType.CreateTime),
                        });
                        break;
                    }
                    catch (ProduceException<string, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                    {
                        producer.Poll(TimeSpan.FromMilliseconds(10));
                    }
                }
            }

            producer.Flush(TimeSpan.FromSeconds(60));
        }

        using var admin = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = "bench-watch" }).Build();
        await Eventually.TrueAsync(() => Enumerable.Range(0, 4)
                .Sum(p => admin.QueryWatermarkOffsets(new TopicPartition(outputTopic, p), TimeSpan.FromSeconds(5)).High.Value) >= records,
            $"{records} records in {outputTopic}", TimeSpan.FromMinutes(10), TimeSpan.FromMilliseconds(100));
        return clock.Elapsed;
    }
}
