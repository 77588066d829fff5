using System.Globalization;
using System.Text;
using System.Text.Json;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Kcat;

/// <summary>Debian's kcat (on Debian's librdkafka) against the broker: metadata, produce/consume, offsets by time.</summary>
public sealed class KcatTests : IClassFixture<DefaultBrokerFixture>, IDisposable
{
    private const string Kcat = "kcat";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public KcatTests(DefaultBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task Kcat_metadata_lists_the_broker_and_the_topics()
    {
        var topic = KafkaClients.UniqueTopic("kcat-list");
        await clients.CreateTopicAsync(topic, partitions: 2);

        var result = await RunKcatAsync(["-b", broker.BootstrapServers, "-L", "-J", "-m", "15"]);

        Assert.Equal(0, result.ExitCode);
        using var metadata = JsonDocument.Parse(result.StandardOutput);
        Assert.Equal(BrokerProcess.NodeId, metadata.RootElement.GetProperty("controllerid").GetInt32());
        var brokers = metadata.RootElement.GetProperty("brokers").EnumerateArray().ToList();
        var listed = Assert.Single(brokers);
        Assert.Equal(BrokerProcess.NodeId, listed.GetProperty("id").GetInt32());
        Assert.Equal(broker.BootstrapServers, listed.GetProperty("name").GetString());
        var topicEntry = metadata.RootElement.GetProperty("topics").EnumerateArray()
            .SingleOrDefault(t => t.GetProperty("topic").GetString() == topic);
        Assert.True(topicEntry.ValueKind == JsonValueKind.Object, $"kcat -L does not list {topic}.");
        var partitions = topicEntry.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal([0, 1], partitions.Select(p => p.GetProperty("partition").GetInt32()).Order());
        Assert.All(partitions, p => Assert.Equal(BrokerProcess.NodeId, p.GetProperty("leader").GetInt32()));
    }

    [Fact]
    public async Task Kcat_consumes_back_exactly_the_lines_kcat_produced()
    {
        var topic = KafkaClients.UniqueTopic("kcat-lines");
        await clients.CreateTopicAsync(topic, partitions: 1);
        var lines = Enumerable.Range(0, 500).Select(i => $"line {i}\twith tab, ünïcödé and {new string('x', i % 97)}").ToList();

        var produce = await RunKcatAsync(["-b", broker.BootstrapServers, "-P", "-t", topic, "-p", "0"], string.Join('\n', lines) + "\n");
        Assert.Equal(0, produce.ExitCode);

        var consume = await RunKcatAsync(["-b", broker.BootstrapServers, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q"]);

        Assert.Equal(0, consume.ExitCode);
        Assert.Equal(lines, consume.StandardOutput.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Kcat_consuming_from_a_timestamp_starts_at_the_first_record_at_or_after_it()
    {
        var topic = KafkaClients.UniqueTopic("kcat-time");
        await clients.CreateTopicAsync(topic, partitions: 1);
        var firstTimestampMs = new DateTimeOffset(2024, 6, 1, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        using (var producer = clients.CreateProducer())
        {
            var reports = KafkaClients.ProduceAll(producer, topic, KafkaClients.NumberedMessages(20, firstTimestampMs, 1_000), RunTimeout);
            Assert.All(reports, r => Assert.False(r.Error.IsError, r.Error.ToString()));
        }

        var from = (firstTimestampMs + 5_500).ToString(CultureInfo.InvariantCulture);
        var consume = await RunKcatAsync(["-b", broker.BootstrapServers, "-C", "-t", topic, "-p", "0", "-o", "s@" + from, "-e", "-q", "-f", "%o %T %s\\n"]);

        Assert.Equal(0, consume.ExitCode);
        var expected = Enumerable.Range(6, 14).Select(i => $"{i} {firstTimestampMs + (i * 1_000L)} v{i}");
        Assert.Equal(expected, consume.StandardOutput.TrimEnd('\n').Split('\n'));
    }

    private Task<ExternalResult> RunKcatAsync(IReadOnlyList<string> arguments, string? standardInput = null) =>
        ExternalProcess.RunAsync(Kcat, arguments, broker.Log, RunTimeout, standardInput);
}
