using Confluent.Kafka;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// Dedicated controller nodes (<c>process.roles=controller</c>): three controllers hold the metadata quorum, two brokers
/// (observers of the quorum) serve clients; the brokers keep serving when the active controller is killed.
/// </summary>
public sealed class DedicatedControllerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Brokers_serve_clients_with_dedicated_controllers_and_survive_the_active_controllers_loss()
    {
        await using var cluster = await ClusterProcess.StartAsync(output,
            new ClusterOptions { Brokers = 5, Voters = 3, DedicatedControllers = true });
        var clients = new ClusterClients(cluster);
        var controller = await cluster.ActiveControllerIdAsync();
        var topic = $"dedicated-{Guid.NewGuid():N}"[..26];
        await clients.CreateTopicAsync(topic, partitions: 2, replicationFactor: 2);
        using var producer = clients.CreateProducer();
        var before = ClusterClients.ProduceAndWait(producer, topic, ["k-0000", "k-0001", "k-0002"], TimeSpan.FromSeconds(30));

        cluster.Broker(controller).Kill();
        var next = await cluster.ActiveControllerIdAsync(TimeSpan.FromSeconds(20));
        var topicAfter = $"dedicated-after-{Guid.NewGuid():N}"[..31];
        await clients.CreateTopicAsync(topicAfter, partitions: 1, replicationFactor: 2);
        var after = ClusterClients.ProduceAndWait(producer, topic, ["k-0003", "k-0004"], TimeSpan.FromSeconds(30));
        var read = clients.ReadAll(topic, partitionCount: 2, TimeSpan.FromSeconds(30));

        Assert.InRange(controller, 1, 3);
        Assert.InRange(next, 1, 3);
        Assert.NotEqual(controller, next);
        Assert.All(before.Concat(after), code => Assert.Equal(ErrorCode.NoError, code));
        Assert.Equal(["k-0000", "k-0001", "k-0002", "k-0003", "k-0004"], read.Select(r => r.Key).Order());
    }
}
