using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Tributary.Connect.Tests.Harness;
using Tributary.Tests.Shared;

namespace Tributary.Connect.Tests.Worker;

/// <summary>KIP-875 on sink connectors: GET/PATCH/DELETE /connectors/{c}/offsets act on the sink's consumer group offsets.</summary>
public sealed class SinkOffsetsTests(ConnectClusterFixture cluster) : IClassFixture<ConnectClusterFixture>
{
    private ConnectWorkerProcess W => cluster.Worker;

    private async Task<string> RunSinkAsync(string name, params string[] lines)
    {
        var topic = name + "-in";
        using (var producer = new ProducerBuilder<string?, string>(new ProducerConfig { BootstrapServers = cluster.Broker.BootstrapServers, Acks = Acks.All }).Build())
        {
            foreach (var line in lines)
            {
                await producer.ProduceAsync(new TopicPartition(topic, 0), new Message<string?, string> { Value = line });
            }
        }

        var file = Path.Combine(cluster.DataDirectory, name + ".out");
        await W.CreateConnectorAsync(name, new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSink", ["topics"] = topic, ["file"] = file,
        });
        await W.WaitForStateAsync(name, "RUNNING", 1);
        await Eventually.TrueAsync(async () => await KafkaOffsetAsync(name, topic) == lines.Length, $"{name} committed offset {lines.Length}", TimeSpan.FromSeconds(60));
        return topic;
    }

    private async Task<long?> KafkaOffsetAsync(string name, string topic)
    {
        var offsets = (await W.GetAsync($"/connectors/{name}/offsets")).Body!["offsets"]!.AsArray();
        return offsets.Where(o => o!["partition"]!["kafka_topic"]!.GetValue<string>() == topic && o["partition"]!["kafka_partition"]!.GetValue<int>() == 0)
            .Select(o => (long?)o!["offset"]!["kafka_offset"]!.GetValue<long>()).FirstOrDefault();
    }

    private async Task StopAsync(string name)
    {
        Assert.Equal(204, (await W.PutAsync($"/connectors/{name}/stop")).Code);
        await W.WaitForStateAsync(name, "STOPPED", 0);
    }

    private static JsonObject OffsetEntry(string topic, int partition, long? offset) => new()
    {
        ["partition"] = new JsonObject { ["kafka_topic"] = topic, ["kafka_partition"] = partition },
        ["offset"] = offset is { } o ? new JsonObject { ["kafka_offset"] = o } : null,
    };

    [Fact]
    public async Task Offsets_get_lists_the_sink_groups_committed_offsets()
    {
        var topic = await RunSinkAsync("sink-offsets-get", "a", "b", "c");
        var offsets = (await W.GetAsync("/connectors/sink-offsets-get/offsets")).Body!["offsets"]!.AsArray();
        var entry = Assert.Single(offsets);
        Assert.Equal(topic, entry!["partition"]!["kafka_topic"]!.GetValue<string>());
        Assert.Equal(0, entry["partition"]!["kafka_partition"]!.GetValue<int>());
        Assert.Equal(3, entry["offset"]!["kafka_offset"]!.GetValue<long>());
    }

    [Fact]
    public async Task Offsets_patch_on_a_running_sink_is_400_and_changes_nothing()
    {
        var topic = await RunSinkAsync("sink-offsets-running", "a", "b");
        var patch = await W.PatchAsync("/connectors/sink-offsets-running/offsets", new JsonObject { ["offsets"] = new JsonArray(OffsetEntry(topic, 0, 0)) });
        Assert.Equal(400, patch.Code);
        Assert.Contains("STOPPED", patch.Body!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(400, (await W.DeleteAsync("/connectors/sink-offsets-running/offsets")).Code);
        Assert.Equal(2, await KafkaOffsetAsync("sink-offsets-running", topic));
    }

    [Fact]
    public async Task Offsets_patch_on_a_stopped_sink_rewinds_its_group_and_the_sink_consumes_again_from_there()
    {
        var topic = await RunSinkAsync("sink-offsets-patch", "a", "b", "c");
        var file = Path.Combine(cluster.DataDirectory, "sink-offsets-patch.out");
        await Eventually.TrueAsync(() => Task.FromResult(File.Exists(file) && File.ReadAllLines(file).Length == 3), "3 lines in the sink file");
        await StopAsync("sink-offsets-patch");

        var patch = await W.PatchAsync("/connectors/sink-offsets-patch/offsets", new JsonObject { ["offsets"] = new JsonArray(OffsetEntry(topic, 0, 1)) });
        Assert.Equal(200, patch.Code);
        Assert.Contains("altered successfully", patch.Body!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, await KafkaOffsetAsync("sink-offsets-patch", topic));

        Assert.Equal(202, (await W.PutAsync("/connectors/sink-offsets-patch/resume")).Code);
        await Eventually.TrueAsync(() => Task.FromResult(File.Exists(file) && File.ReadAllLines(file).Length == 5), "records from offset 1 written again");
        Assert.Equal(["a", "b", "c", "b", "c"], File.ReadAllLines(file, Encoding.UTF8));
    }

    [Fact]
    public async Task Offsets_delete_on_a_stopped_sink_resets_its_group()
    {
        var topic = await RunSinkAsync("sink-offsets-reset", "a", "b");
        await StopAsync("sink-offsets-reset");

        var reset = await W.DeleteAsync("/connectors/sink-offsets-reset/offsets");
        Assert.Equal(200, reset.Code);
        Assert.Contains("reset successfully", reset.Body!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty((await W.GetAsync("/connectors/sink-offsets-reset/offsets")).Body!["offsets"]!.AsArray());
        Assert.Null(await KafkaOffsetAsync("sink-offsets-reset", topic));
    }

    [Fact]
    public async Task Offsets_patch_with_a_null_offset_removes_that_partitions_offset()
    {
        var topic = await RunSinkAsync("sink-offsets-null", "a");
        await StopAsync("sink-offsets-null");

        var patch = await W.PatchAsync("/connectors/sink-offsets-null/offsets", new JsonObject { ["offsets"] = new JsonArray(OffsetEntry(topic, 0, null)) });
        Assert.Equal(200, patch.Code);
        Assert.Null(await KafkaOffsetAsync("sink-offsets-null", topic));
    }

    [Fact]
    public async Task Offsets_patch_on_a_sink_without_kafka_topic_is_400_naming_the_key()
    {
        await RunSinkAsync("sink-offsets-bad", "a");
        await StopAsync("sink-offsets-bad");

        var patch = await W.PatchAsync("/connectors/sink-offsets-bad/offsets", new JsonObject
        {
            ["offsets"] = new JsonArray(new JsonObject { ["partition"] = new JsonObject { ["kafka_partition"] = 0 }, ["offset"] = new JsonObject { ["kafka_offset"] = 0 } }),
        });
        Assert.Equal(400, patch.Code);
        Assert.Contains("kafka_topic", patch.Body!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
