using Tributary.Integration.Tests.Cluster;

namespace Tributary.Integration.Tests.KafkaJs;

/// <summary>One real 3-broker cluster shared by the kafkajs tests (each test uses its own topics and transactional ids).</summary>
public sealed class KafkaJsClusterFixture : IAsyncLifetime
{
    public ClusterProcess Cluster { get; private set; } = null!;

    public ClusterClients Clients { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await ClusterProcess.StartAsync(output: null, new ClusterOptions
        {
            // kafkajs readers join a fresh group per read; Kafka's 3 s initial delay would only add wall time.
            Overrides = new Dictionary<string, string> { ["group.initial.rebalance.delay.ms"] = "0" },
        });
        Clients = new ClusterClients(Cluster);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
