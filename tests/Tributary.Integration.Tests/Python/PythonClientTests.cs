using System.Globalization;
using System.Text.Json;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Python;

/// <summary>
/// Debian's Python clients against the broker. Each script checks every record itself, exits non-zero with a message
/// on the first mismatch, and prints one final JSON line of counts that the test checks again.
/// </summary>
public sealed class PythonClientTests : IClassFixture<DefaultBrokerFixture>, IDisposable
{
    private const int RecordCount = 2_000;
    private const int PartitionCount = 3;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(120);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public PythonClientTests(DefaultBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task Kafka_python_round_trips_records_and_finds_offsets_for_times()
    {
        var summary = await RunScriptAsync("kafka_python_roundtrip.py", "kafka-python");

        Assert.Equal(RecordCount, summary.GetProperty("produced").GetInt32());
        Assert.Equal(RecordCount, summary.GetProperty("consumed").GetInt32());
        Assert.Equal(summary.GetProperty("expected_offset_for_time").GetInt64(), summary.GetProperty("offset_for_time").GetInt64());
    }

    [Fact]
    public async Task Confluent_kafka_python_round_trips_records_lists_topics_and_finds_offsets_for_times()
    {
        var summary = await RunScriptAsync("confluent_kafka_roundtrip.py", "confluent-kafka-python");

        Assert.Equal(RecordCount, summary.GetProperty("produced").GetInt32());
        Assert.Equal(RecordCount, summary.GetProperty("consumed").GetInt32());
        Assert.Equal(PartitionCount, summary.GetProperty("listed_partitions").GetInt32());
        Assert.Equal(summary.GetProperty("expected_offset_for_time").GetInt64(), summary.GetProperty("offset_for_time").GetInt64());
    }

    [Fact]
    public async Task Kafka_python_told_kafka_0_10_0_finds_beginning_and_end_offsets_with_ListOffsets_v0()
    {
        var topic = KafkaClients.UniqueTopic("kafka-python-v0-offsets");
        await clients.CreateTopicAsync(topic, PartitionCount);

        var summary = await PythonScript.RunAsync(
            "kafka_python_legacy_offsets.py",
            ["--bootstrap", broker.BootstrapServers, "--topic", topic, "--partitions", PartitionCount.ToString(CultureInfo.InvariantCulture)],
            broker.Log,
            RunTimeout);

        Assert.Equal(
            summary.GetProperty("expected_end_offsets").EnumerateArray().Select(e => e.GetInt64()),
            summary.GetProperty("end_offsets_v0").EnumerateArray().Select(e => e.GetInt64()));
        Assert.All(summary.GetProperty("beginning_offsets_v0").EnumerateArray(), e => Assert.Equal(0, e.GetInt64()));
    }

    private async Task<JsonElement> RunScriptAsync(string script, string topicPurpose)
    {
        var topic = KafkaClients.UniqueTopic(topicPurpose);
        await clients.CreateTopicAsync(topic, PartitionCount);

        return await PythonScript.RunAsync(
            script,
            [
                "--bootstrap", broker.BootstrapServers,
                "--topic", topic,
                "--partitions", PartitionCount.ToString(CultureInfo.InvariantCulture),
                "--count", RecordCount.ToString(CultureInfo.InvariantCulture),
            ],
            broker.Log,
            RunTimeout);
    }
}
