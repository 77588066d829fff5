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
    [Fact]
    public async Task File_source_to_topic_records_per_second()
    {
        var lines = int.TryParse(Environment.GetEnvironmentVariable("CONNECT_BENCH_LINES"), out var n) && n > 0 ? n : 200_000;
        await using var broker = await BrokerProcess.StartAsync(output);
        var dir = Directory.CreateTempSubdirectory("connect-bench-").FullName;
        var input = Path.Combine(dir, "input.txt");
        await File.WriteAllLinesAsync(input, Enumerable.Range(0, lines).Select(i => $"benchmark line {i:D9} with some payload to carry along"));
        var props = ConnectWorkerProcess.DistributedDefaults(broker.BootstrapServers, "bench");
        props["offset.flush.interval.ms"] = "10000";
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

        await Eventually.TrueAsync(() => High() >= lines, $"{lines} records in bench-lines", TimeSpan.FromMinutes(10));
        var seconds = clock.Elapsed.TotalSeconds;
        var rate = lines / seconds;
        var row = string.Create(CultureInfo.InvariantCulture, $"| Connect file source → topic (1 worker, 1 broker, acks=all) | {lines:N0} records | {seconds:F1} s | {rate:N0} records/s |");
        output.WriteLine(row);
        Console.WriteLine(row);
        if (Environment.GetEnvironmentVariable("CONNECT_BENCH_RESULTS") is { Length: > 0 } results)
        {
            await File.AppendAllTextAsync(results, row + Environment.NewLine);
        }

        Assert.Equal(lines, High());
    }
}
