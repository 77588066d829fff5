using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Tributary.Connect.Tests.Harness;
using Tributary.Integration.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.Connect.Tests.Worker;

/// <summary>
/// <c>make connect-bench</c> (not in make test): records/s from a file through FileStreamSource into a topic on one worker and one
/// broker. Lines: CONNECT_BENCH_LINES (200,000). Writes one Markdown row to CONNECT_BENCH_RESULTS when set.
/// </summary>
[Trait("Category", "ConnectBench")]
public sealed class FileSourceBenchmark(ITestOutputHelper output)
{
    /// <summary>At-least-once, then the same with <c>exactly.once.source.support=enabled</c> (one transaction per poll of 2000 lines), whose row gives the ratio.</summary>
    [Fact]
    public async Task File_source_to_topic_records_per_second()
    {
        await RunAsync(exactlyOnce: false);
        await RunAsync(exactlyOnce: true);
    }

    private double? atLeastOnceRate;

    private async Task RunAsync(bool exactlyOnce)
    {
        var lines = int.TryParse(Environment.GetEnvironmentVariable("CONNECT_BENCH_LINES"), out var n) && n > 0 ? n : 200_000;
        // One broker: the transaction state topic must fit on it too (Kafka's default replication factor is 3).
        await using var broker = await BrokerProcess.StartAsync(output, new Dictionary<string, string>
        {
            ["transaction.state.log.replication.factor"] = "1", ["transaction.state.log.min.isr"] = "1",
        });
        var dir = Directory.CreateTempSubdirectory("connect-bench-").FullName;
        var input = Path.Combine(dir, "input.txt");
        await File.WriteAllLinesAsync(input, Enumerable.Range(0, lines).Select(i => $"benchmark line {i:D9} with some payload to carry along"));
        var props = ConnectWorkerProcess.DistributedDefaults(broker.BootstrapServers, "bench");
        props["offset.flush.interval.ms"] = "10000";
        if (exactlyOnce)
        {
            props["exactly.once.source.support"] = "enabled";
        }

        await using var worker = await ConnectWorkerProcess.StartAsync(output, props);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.BootstrapServers }).Build();
        using var probe = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = broker.BootstrapServers, GroupId = "bench-probe" }).Build();
        var clock = Stopwatch.StartNew();
        await worker.CreateConnectorAsync("bench-source", new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSource", ["file"] = input, ["topic"] = "bench-lines", ["batch.size"] = "2000",
        });
        long High()
        {
            try
            {
                return probe.QueryWatermarkOffsets(new TopicPartition("bench-lines", 0), TimeSpan.FromSeconds(5)).High.Value;
            }
            catch (KafkaException)
            {
                return 0;
            }
        }

        var inputLength = new FileInfo(input).Length;
        async Task<bool> Done()
        {
            if (!exactlyOnce)
            {
                return High() >= lines;
            }

            // The offsets commit in the records' transaction: the last one at the end of the file means every record is committed
            // (the high watermark also counts transaction markers).
            var answer = await worker.GetAsync("/connectors/bench-source/offsets");
            return answer.Body?["offsets"] is System.Text.Json.Nodes.JsonArray { Count: 1 } list && list[0]!["offset"]!["position"]!.GetValue<long>() == inputLength;
        }

        await Eventually.TrueAsync(Done, $"{lines} records in bench-lines", TimeSpan.FromMinutes(10));
        var seconds = clock.Elapsed.TotalSeconds;
        var rate = lines / seconds;
        string row;
        if (exactlyOnce)
        {
            var ratio = atLeastOnceRate is { } alo ? string.Create(CultureInfo.InvariantCulture, $" ({rate / alo:P0} of at-least-once)") : "";
            row = string.Create(CultureInfo.InvariantCulture, $"| Connect file source → topic, exactly-once (1 worker, 1 broker, transaction per poll) | {lines:N0} records | {seconds:F1} s | {rate:N0} records/s{ratio} |");
        }
        else
        {
            atLeastOnceRate = rate;
            row = string.Create(CultureInfo.InvariantCulture, $"| Connect file source → topic (1 worker, 1 broker, acks=all) | {lines:N0} records | {seconds:F1} s | {rate:N0} records/s |");
        }

        output.WriteLine(row);
        Console.WriteLine(row);
        if (Environment.GetEnvironmentVariable("CONNECT_BENCH_RESULTS") is { Length: > 0 } results)
        {
            await File.AppendAllTextAsync(results, row + Environment.NewLine);
        }

        Assert.Equal(lines, exactlyOnce ? CountCommitted(broker.BootstrapServers) : High());
    }

    private static int CountCommitted(string bootstrap)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "bench-count", IsolationLevel = IsolationLevel.ReadCommitted, EnablePartitionEof = true, EnableAutoCommit = false,
        }).Build();
        consumer.Assign(new TopicPartitionOffset("bench-lines", 0, Offset.Beginning));
        var count = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (r is null)
            {
                continue;
            }

            if (r.IsPartitionEOF)
            {
                return count;
            }

            count++;
        }

        throw new TimeoutException($"Counting bench-lines took over 2 minutes ({count} so far)");
    }
}
