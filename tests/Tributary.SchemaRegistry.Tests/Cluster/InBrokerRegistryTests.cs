using Tributary.Integration.Tests.Harness;
using Tributary.SchemaRegistry.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.SchemaRegistry.Tests.Cluster;

/// <summary><c>schema.registry.enable=true</c>: the broker process itself serves the registry (Redpanda-style).</summary>
public sealed class InBrokerRegistryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_broker_with_schema_registry_enable_serves_confluents_api_and_stores_in_its_own_cluster()
    {
        int port = FreePort.Next();
        await using var broker = await BrokerProcess.StartAsync(output, new Dictionary<string, string>
        {
            ["schema.registry.enable"] = "true",
            ["schema.registry.listeners"] = $"http://127.0.0.1:{port}",
        });
        using var http = new RegistryHttp($"http://127.0.0.1:{port}");
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                return (await http.GetAsync("/subjects")).Status == 200;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the in-broker registry answers", TimeSpan.FromSeconds(60));

        var registered = await http.PostAsync("/subjects/in-broker/versions", RegistryHttp.SchemaBody("\"string\""));
        Assert.Equal(200, registered.Status);
        Assert.Equal("""{"id":1}""", registered.Body);
        Assert.Equal("\"string\"", (await http.GetAsync("/schemas/ids/1/schema")).Body);

        // The store is this cluster's compacted _schemas topic.
        await using var cluster = new Tributary.Clients.KafkaCluster(broker.BootstrapServers, "it");
        var metadata = await cluster.MetadataAsync(["_schemas"], CancellationToken.None);
        Assert.Contains(metadata.Topics, t => t.Name == "_schemas" && t.ErrorCode == 0);
    }
}
