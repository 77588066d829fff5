using System.Text.Json.Nodes;
using Tributary.Connect.Tests.Harness;
using Tributary.Integration.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.Connect.Tests.Worker;

/// <summary>The classic quickstart on real processes: file → FileStreamSource → topic → FileStreamSink → file.</summary>
public sealed class FileStreamPipelineTests(ITestOutputHelper output)
{
    [Fact]
    public async Task File_source_to_topic_to_file_sink_delivers_every_line_once_and_in_order_across_a_worker_kill_9_and_restart()
    {
        await using var broker = await BrokerProcess.StartAsync(output);
        var dir = Directory.CreateTempSubdirectory("connect-pipeline-").FullName;
        var input = Path.Combine(dir, "input.txt");
        var sinkFile = Path.Combine(dir, "output.txt");
        var firstHalf = Enumerable.Range(1, 2000).Select(i => $"line {i} of the first half").ToList();
        await File.WriteAllLinesAsync(input, firstHalf);

        await using var worker = await ConnectWorkerProcess.StartAsync(output, ConnectWorkerProcess.DistributedDefaults(broker.BootstrapServers, "pipeline"));
        await worker.CreateConnectorAsync("local-file-source", new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSource", ["file"] = input, ["topic"] = "connect-test", ["batch.size"] = "250",
        });
        await worker.CreateConnectorAsync("local-file-sink", new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSink", ["file"] = sinkFile, ["topics"] = "connect-test",
        });

        await Eventually.TrueAsync(() => LineCount(sinkFile) >= firstHalf.Count, "the first 2000 lines reach the sink file", TimeSpan.FromSeconds(90));
        // Quiesce: both sides have committed everything before the kill (source position at the end, sink offset 2000).
        var inputLength = new FileInfo(input).Length;
        await Eventually.TrueAsync(async () => await SourcePosition(worker) == inputLength, "source offset committed at end of file", TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(async () => await SinkOffset(worker) == firstHalf.Count, "sink offset 2000 committed", TimeSpan.FromSeconds(30));

        worker.Kill();
        var secondHalf = Enumerable.Range(1, 2000).Select(i => $"line {i} of the second half").ToList();
        await File.AppendAllLinesAsync(input, secondHalf);
        await worker.RestartAsync();

        var expected = firstHalf.Concat(secondHalf).ToList();
        await Eventually.TrueAsync(() => LineCount(sinkFile) >= expected.Count, "all 4000 lines reach the sink file after the restart", TimeSpan.FromSeconds(120));
        await Task.Delay(1000); // a duplicate would show up now, after the count was reached
        Assert.Equal(expected, await File.ReadAllLinesAsync(sinkFile));
    }

    private static int LineCount(string path) => File.Exists(path) ? File.ReadAllLines(path).Length : 0;

    private static async Task<long> SourcePosition(ConnectWorkerProcess worker)
    {
        var answer = await worker.GetAsync("/connectors/local-file-source/offsets");
        return answer.Body?["offsets"] is JsonArray { Count: 1 } list ? list[0]!["offset"]!["position"]!.GetValue<long>() : -1;
    }

    private static async Task<long> SinkOffset(ConnectWorkerProcess worker)
    {
        var answer = await worker.GetAsync("/connectors/local-file-sink/offsets");
        return answer.Body?["offsets"] is JsonArray { Count: 1 } list ? list[0]!["offset"]!["kafka_offset"]!.GetValue<long>() : -1;
    }
}
