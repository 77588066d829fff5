using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;
using Tributary.SchemaRegistry.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.SchemaRegistry.Tests.Cluster;

/// <summary>
/// Ids are never reused, also after compaction: a permanently deleted version's record and, once delete.retention.ms has
/// passed, its tombstone leave the compacted store topic; a registry that replays the topic afterwards must still continue
/// above the deleted id (Confluent's can hand it out again). The store topic is created beforehand with settings that let
/// the broker's cleaner do within seconds what it does within a day by default.
/// </summary>
public sealed class IdReuseAfterCompactionTests(ITestOutputHelper output)
{
    private const int SegmentMs = 400;

    private static string Schema(int n) =>
        RegistryHttp.SchemaBody($$"""{"type":"record","name":"Compacted{{n}}","fields":[{"name":"f{{n}}","type":"long"}]}""");

    [Fact]
    public async Task A_registry_replaying_a_compacted_store_does_not_reissue_a_permanently_deleted_id()
    {
        await using var broker = await BrokerProcess.StartAsync(output, new Dictionary<string, string> { ["log.cleaner.backoff.ms"] = "10" });
        string topic = $"_schemas-compacted-{Guid.NewGuid():N}";
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            await admin.CreateTopicsAsync([new TopicSpecification
            {
                Name = topic, NumPartitions = 1, ReplicationFactor = 1,
                Configs = new Dictionary<string, string>
                {
                    ["cleanup.policy"] = "compact",
                    ["segment.ms"] = SegmentMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["min.cleanable.dirty.ratio"] = "0.01",
                    ["delete.retention.ms"] = "500",
                    ["min.compaction.lag.ms"] = "0",
                },
            }]);
        }

        var overrides = new Dictionary<string, string> { ["kafkastore.topic"] = topic, ["kafkastore.topic.replication.factor"] = "1" };
        int deletedId;
        await using (var first = await RegistryProcess.StartAsync(broker.BootstrapServers, output, overrides, name: "sr-first"))
        {
            using var http = new RegistryHttp(first.Url);
            for (int n = 1; n <= 3; n++)
            {
                Assert.Equal(200, (await http.PostAsync($"/subjects/s{n}/versions", Schema(n))).Status);
            }

            deletedId = (await http.GetAsync("/subjects/s3/versions/1")).Json!["id"]!.GetValue<int>();
            Assert.Equal(200, (await http.DeleteAsync("/subjects/s3")).Status);
            Assert.Equal(200, (await http.DeleteAsync("/subjects/s3?permanent=true")).Status);

            // Roll the segment holding the deletes (segment.ms passes, then another write), so the cleaner can reach them;
            // keep writing now and then so the tombstones' delete horizon passes and a later cleaning drops them.
            await Eventually.TrueAsync(async () =>
            {
                await Task.Delay(SegmentMs + 100);
                Assert.Equal(200, (await http.PutAsync("/config/s1", """{"compatibility":"NONE"}""")).Status);
                return !StoreHoldsSubject(broker.BootstrapServers, topic, "s3");
            }, "the compacted store topic holds no record of the deleted subject any more", TimeSpan.FromSeconds(90));
        }

        output.WriteLine($"store topic compacted; the deleted subject's id was {deletedId}");
        await using var second = await RegistryProcess.StartAsync(broker.BootstrapServers, output, overrides, name: "sr-second");
        using var again = new RegistryHttp(second.Url);
        Assert.Equal(404, (await again.GetAsync($"/schemas/ids/{deletedId}")).Status);
        var registered = await again.PostAsync("/subjects/s4/versions", Schema(4));
        Assert.Equal(200, registered.Status);
        int newId = registered.Json!["id"]!.GetValue<int>();
        Assert.True(newId > deletedId, $"a replayed registry issued id {newId}, which is not above the permanently deleted id {deletedId}");
    }

    /// <summary>Reads the whole store topic and tells whether any record's key names <paramref name="subject"/>.</summary>
    private static bool StoreHoldsSubject(string bootstrap, string topic, string subject)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = $"inspect-{Guid.NewGuid():N}", EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest, EnablePartitionEof = true,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        bool found = false;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (result is null)
            {
                continue;
            }

            if (result.IsPartitionEOF)
            {
                return found;
            }

            if (result.Message.Key is { } key && Encoding.UTF8.GetString(key).Contains($"\"subject\":\"{subject}\"", StringComparison.Ordinal))
            {
                found = true;
            }
        }

        throw new TimeoutException($"could not read {topic} to its end");
    }
}
