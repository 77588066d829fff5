using Tributary.Connect.Tests.Harness;
using Tributary.Integration.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.Connect.Tests.Worker;

/// <summary>Standalone mode: connectors from properties files, source offsets in a local file.</summary>
public sealed class StandaloneWorkerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Standalone_worker_runs_connectors_from_properties_files_and_resumes_from_its_offsets_file()
    {
        await using var broker = await BrokerProcess.StartAsync(output);
        var dir = Directory.CreateTempSubdirectory("connect-standalone-").FullName;
        var input = Path.Combine(dir, "in.txt");
        var sinkFile = Path.Combine(dir, "out.txt");
        await File.WriteAllLinesAsync(input, ["one", "two", "three"]);
        var sourceProps = Path.Combine(dir, "source.properties");
        await File.WriteAllLinesAsync(sourceProps, ["name=standalone-source", "connector.class=FileStreamSource", $"file={input}", "topic=standalone"]);
        var sinkProps = Path.Combine(dir, "sink.properties");
        await File.WriteAllLinesAsync(sinkProps, ["name=standalone-sink", "connector.class=FileStreamSink", $"file={sinkFile}", "topics=standalone"]);
        var offsetsFile = Path.Combine(dir, "connect.offsets");
        var props = new Dictionary<string, string>
        {
            ["bootstrap.servers"] = broker.BootstrapServers, ["offset.storage.file.filename"] = offsetsFile, ["offset.flush.interval.ms"] = "300",
            ["consumer.session.timeout.ms"] = "6000", ["plugin.path"] = ConnectWorkerProcess.FilePluginDirectory,
            ["key.converter"] = "org.apache.kafka.connect.storage.StringConverter", ["value.converter"] = "org.apache.kafka.connect.storage.StringConverter",
        };

        await using var worker = await ConnectWorkerProcess.StartAsync(output, props, mode: "standalone", connectorFiles: [sourceProps, sinkProps]);
        await Eventually.TrueAsync(() => File.Exists(sinkFile) && File.ReadAllLines(sinkFile).Length >= 3, "three lines in the sink file", TimeSpan.FromSeconds(60));
        await Eventually.TrueAsync(() => File.Exists(offsetsFile) && File.ReadAllText(offsetsFile).Contains("\"position\":" + new FileInfo(input).Length, StringComparison.Ordinal),
            "the offsets file holds the end position", TimeSpan.FromSeconds(30));
        // At-least-once: wait for the sink's consumer offset too, or the kill may replay what it already wrote.
        await Eventually.TrueAsync(async () => (await worker.GetAsync("/connectors/standalone-sink/offsets")).Body?["offsets"]?.AsArray() is { Count: 1 } o
            && o[0]!["offset"]!["kafka_offset"]!.GetValue<long>() == 3, "sink offset 3 committed", TimeSpan.FromSeconds(30));

        worker.Kill();
        await File.AppendAllLinesAsync(input, ["four"]);
        await worker.RestartAsync();
        await Eventually.TrueAsync(() => File.ReadAllLines(sinkFile).Length >= 4, "the fourth line after the restart", TimeSpan.FromSeconds(60));
        Assert.Equal(["one", "two", "three", "four"], await File.ReadAllLinesAsync(sinkFile));
    }
}
