using Tributary.Clients;
using Tributary.Integration.Tests.Cluster;
using Tributary.SchemaRegistry.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.SchemaRegistry.Tests.Cluster;

/// <summary>The store survives losing the broker that leads <c>_schemas</c>: the topic is replicated (RF 3 on three
/// brokers, acks=all), writes continue through the new leader and nothing registered before is lost.</summary>
public sealed class BrokerFailoverTests(ITestOutputHelper output)
{
    private static async Task<int> RegisterAsync(RegistryHttp http, string subject, int n)
    {
        string body = RegistryHttp.SchemaBody($$"""{"type":"record","name":"F{{n}}","fields":[{"name":"f","type":"string"}]}""");
        RegistryAnswer? last = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            last = await http.PostAsync($"/subjects/{subject}/versions", body);
            if (last.Status == 200)
            {
                return last.Json!["id"]!.GetValue<int>();
            }

            // While the partition moves to a new leader a write may time out (50002) or fail in the store (50001).
            Assert.True(last.ErrorCode is 50001 or 50002 or 50003 or 50004, $"only store/election errors are retried: {last}");
            await Task.Delay(250);
        }

        throw new TimeoutException($"registration kept failing: {last}");
    }

    [Fact]
    public async Task Killing_the_schemas_topic_leader_loses_no_schema_and_writes_continue()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 3 });
        await using var registry = await RegistryProcess.StartAsync(cluster.BootstrapServers, output);
        using var http = new RegistryHttp(registry.Url);

        var ids = new List<int>();
        for (int n = 0; n < 3; n++)
        {
            ids.Add(await RegisterAsync(http, $"before-{n}", n));
        }

        await using var client = new KafkaCluster(cluster.BootstrapServers, "failover-test");
        var metadata = await client.MetadataAsync(["_schemas"], CancellationToken.None);
        var partition = metadata.Topics.Single(t => t.Name == "_schemas").Partitions.Single();
        Assert.Equal(3, partition.ReplicaNodes.Count);
        output.WriteLine($"_schemas leader {partition.LeaderId}, replicas {string.Join(",", partition.ReplicaNodes)}");
        cluster.Broker(partition.LeaderId).Kill();

        for (int n = 3; n < 6; n++)
        {
            ids.Add(await RegisterAsync(http, $"after-{n}", n));
        }

        Assert.Equal(ids.Count, ids.Distinct().Count());
        // A registry started now replays the topic from the surviving replicas: every schema is there.
        await using var fresh = await RegistryProcess.StartAsync(cluster.BootstrapServers, output, name: "fresh");
        using var freshHttp = new RegistryHttp(fresh.Url);
        for (int n = 0; n < ids.Count; n++)
        {
            var answer = await freshHttp.GetAsync($"/schemas/ids/{ids[n]}");
            Assert.Equal(200, answer.Status);
            Assert.Contains($"F{n}", answer.Body, StringComparison.Ordinal);
        }
    }
}
