using System.Globalization;
using System.Text.Json;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Groups;

/// <summary>Debian's Python clients and kcat as consumer-group members: join, consume everything, commit.</summary>
public sealed class GroupClientToolsTests : IClassFixture<GroupBrokerFixture>, IDisposable
{
    private const string Kcat = "kcat";
    private const int RecordCount = 1_000;
    private const int PartitionCount = 3;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public GroupClientToolsTests(GroupBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task Kafka_python_group_member_consumes_every_record_and_commits_the_end_offsets()
    {
        var summary = await RunGroupScriptAsync("kafka_python_group.py", "kafka-python-group");

        Assert.Equal(RecordCount, summary.GetProperty("consumed").GetInt32());
        Assert.Equal(RecordCount, summary.GetProperty("distinct").GetInt32());
        Assert.Equal(PartitionCount, summary.GetProperty("assigned_partitions").GetInt32());
        Assert.Equal(RecordCount, summary.GetProperty("committed").GetInt64()); // sum of committed offsets = records
    }

    [Fact]
    public async Task Confluent_kafka_python_group_member_consumes_every_record_and_commits_the_end_offsets()
    {
        var summary = await RunGroupScriptAsync("confluent_kafka_group.py", "confluent-python-group");

        Assert.Equal(RecordCount, summary.GetProperty("consumed").GetInt32());
        Assert.Equal(RecordCount, summary.GetProperty("distinct").GetInt32());
        Assert.Equal(PartitionCount, summary.GetProperty("assigned_partitions").GetInt32());
        Assert.Equal(RecordCount, summary.GetProperty("committed").GetInt64());
    }

    [Fact]
    public async Task Kcat_balanced_consumer_reads_every_record()
    {
        var topic = await TopicWithRecordsAsync("kcat-group");
        var group = GroupBrokerSettings.UniqueGroup("kcat");

        var result = await ExternalProcess.RunAsync(
            Kcat,
            ["-b", broker.BootstrapServers, "-G", group, "-X", "auto.offset.reset=earliest", "-X", "broker.address.family=v4",
             "-e", "-q", "-f", "%s\\n", topic],
            broker.Log,
            RunTimeout);

        Assert.True(result.ExitCode == 0, $"kcat -G exited with {result.ExitCode}: {result.StandardError.Trim()}");
        var expected = Enumerable.Range(0, RecordCount).Select(GroupBrokerSettings.ValueOf).ToList();
        Assert.Equal(expected, result.StandardOutput.TrimEnd('\n').Split('\n').Order(StringComparer.Ordinal));
    }

    private async Task<string> TopicWithRecordsAsync(string purpose)
    {
        var topic = KafkaClients.UniqueTopic(purpose);
        await clients.CreateTopicAsync(topic, PartitionCount);
        GroupBrokerSettings.ProduceNumbered(clients, topic, PartitionCount, 0, RecordCount, RunTimeout);
        return topic;
    }

    private async Task<JsonElement> RunGroupScriptAsync(string script, string purpose)
    {
        var topic = await TopicWithRecordsAsync(purpose);
        return await PythonScript.RunAsync(
            script,
            [
                "--bootstrap", broker.BootstrapServers,
                "--topic", topic,
                "--group", GroupBrokerSettings.UniqueGroup(purpose),
                "--count", RecordCount.ToString(CultureInfo.InvariantCulture),
            ],
            broker.Log,
            RunTimeout);
    }
}
