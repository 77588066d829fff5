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
/// end — from the first record produced until the last output record is in the output topic (for exactly_once_v2:
/// until a read_committed consumer has read them all) — for a stateless map and a tumbling-window count, at-least-once
/// and exactly_once_v2 (ratio EOS/ALOS). Records: STREAMS_BENCH_RECORDS (200,000). Writes Markdown rows to
/// STREAMS_BENCH_RESULTS when set.
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
        static StreamBuilder Map(string input, string outputTopic)
        {
            var builder = new StreamBuilder();
            builder.Stream<string, string>(input).MapValues((v, _) => v.ToUpperInvariant()).To(outputTopic);
            return builder;
        }

        static StreamBuilder Count(string input, string outputTopic)
        {
            var builder = new StreamBuilder();
            builder.Stream<string, string>(input).GroupByKey()
                .WindowedBy(TumblingWindowOptions.Of(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)))
                .Count(InMemoryWindows.As<string, long>("bench-counts").WithValueSerdes<Int64SerDes>())
                .ToStream()
                .Map((k, v, _) => KeyValuePair.Create(k.Key, v.ToString(CultureInfo.InvariantCulture)))
                .To(outputTopic);
            return builder;
        }

        var map = await MeasureAsync("map", records, ProcessingGuarantee.AT_LEAST_ONCE, Map);
        var mapEos = await MeasureAsync("map-eos", records, ProcessingGuarantee.EXACTLY_ONCE, Map);
        var count = await MeasureAsync("windowed-count", records, ProcessingGuarantee.AT_LEAST_ONCE, Count);
        var countEos = await MeasureAsync("windowed-count-eos", records, ProcessingGuarantee.EXACTLY_ONCE, Count);

        const string mapName = "stateless map (mapValues)", countName = "tumbling-window count (1 s windows, 1,000 keys)";
        string[] rows =
        [
            Row(mapName, "at-least-once", records, map, null),
            Row(mapName, "exactly_once_v2", records, mapEos, map),
            Row(countName, "at-least-once", records, count, null),
            Row(countName, "exactly_once_v2", records, countEos, count),
            string.Create(CultureInfo.InvariantCulture, $"load average: {LoadAverage()}"),
        ];
        foreach (var row in rows)
        {
            output.WriteLine(row);
        }

        if (Environment.GetEnvironmentVariable("STREAMS_BENCH_RESULTS") is { Length: > 0 } results)
        {
            await File.AppendAllLinesAsync(results, rows);
        }

        Assert.True(map > TimeSpan.Zero && count > TimeSpan.Zero && mapEos > TimeSpan.Zero && countEos > TimeSpan.Zero);
    }

    /// <summary>/proc/loadavg's three averages (the machine is shared; numbers mean little without them).</summary>
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static string Row(string topology, string guarantee, int records, TimeSpan elapsed, TimeSpan? atLeastOnce) =>
        string.Create(CultureInfo.InvariantCulture,
            $"| {topology} | {guarantee} | {records:N0} | {elapsed.TotalSeconds:F1} s | {records / elapsed.TotalSeconds:N0} records/s | {(atLeastOnce is { } alos ? $"EOS/ALOS {alos.TotalSeconds / elapsed.TotalSeconds:F2}" : "")} |");

    private async Task<TimeSpan> MeasureAsync(string name, int records, ProcessingGuarantee guarantee, Func<string, string, StreamBuilder> topology)
    {
        var applicationId = $"bench-{name}-{Guid.NewGuid().ToString("N")[..8]}";
        string input = applicationId + "-in", outputTopic = applicationId + "-out";
        await cluster.CreateTopicsAsync(4, input, outputTopic);
        var config = StreamsApp.Config(cluster, applicationId);
        config.CommitIntervalMs = 1000;
        config.Guarantee = guarantee;
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

        if (guarantee == ProcessingGuarantee.EXACTLY_ONCE)
        {
            // High watermarks count transaction markers and aborted records too: count what read_committed delivers.
            await CountCommittedAsync(outputTopic, records);
            return clock.Elapsed;
        }

        using var admin = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = "bench-watch" }).Build();
        await Eventually.TrueAsync(() => Enumerable.Range(0, 4)
                .Sum(p => admin.QueryWatermarkOffsets(new TopicPartition(outputTopic, p), TimeSpan.FromSeconds(5)).High.Value) >= records,
            $"{records} records in {outputTopic}", TimeSpan.FromMinutes(10), TimeSpan.FromMilliseconds(100));
        return clock.Elapsed;
    }

    private async Task CountCommittedAsync(string topic, int records)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "bench-committed-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        consumer.Subscribe(topic);
        await Task.Yield();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        var read = 0;
        while (read < records && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false, Message: not null })
            {
                read++;
            }
        }

        consumer.Close();
        Assert.True(read >= records, $"read_committed delivered {read} of {records} records from {topic}");
    }
}
