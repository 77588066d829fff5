using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// The controller and replica-manager gauges on <c>/metrics</c> of a real 3-broker cluster as one broker is killed (-9)
/// and restarted. Controller gauges are reported by the active controller only (0 elsewhere, as in Kafka), so a sum over
/// brokers is the cluster's figure; replica-manager gauges count the partitions each broker leads.
/// </summary>
public sealed class ClusterMetricsTests(ITestOutputHelper output)
{
    /// <summary>Fencing follows broker.session.timeout.ms (1500 ms in test clusters) after the last heartbeat; generous but bounded.</summary>
    private static readonly TimeSpan GaugeTimeout = TimeSpan.FromSeconds(15);

    private static readonly Gauges Healthy = new(0, 0, 0);

    [Fact]
    public async Task One_active_controller_counts_the_unfenced_brokers_through_a_kill_and_a_restart()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var controller = await cluster.ActiveControllerIdAsync();
        var victim = cluster.Brokers.First(b => b.NodeId != controller);
        Task<double?> ActiveBrokers() => cluster.Broker(controller).MetricAsync(ClusterMetrics.ActiveBrokerCount);

        // A start-up election may still be settling; what must hold is that the sum settles at exactly 1.
        Task<double?> ControllerSum() => ClusterSteps.SumOverLiveBrokersAsync(cluster, ClusterMetrics.ActiveControllerCount);
        var controllerSum = await Eventually.ValueAsync(ControllerSum, v => v == 1, GaugeTimeout);
        var allUp = await Eventually.ValueAsync(ActiveBrokers, v => v == 3, GaugeTimeout);
        victim.Kill();
        var oneDown = await Eventually.ValueAsync(ActiveBrokers, v => v == 2, GaugeTimeout);
        await victim.RestartAsync();
        var rejoined = await Eventually.ValueAsync(ActiveBrokers, v => v == 3, GaugeTimeout);
        var controllerSumAfter = await ControllerSum();
        output.WriteLine($"controller {controller}, victim {victim.NodeId}: activecontrollercount sum {controllerSum} / {controllerSumAfter}; activebrokercount {allUp} -> {oneDown} -> {rejoined}");

        Assert.Equal(1, controllerSum);
        Assert.Equal(3, allUp);
        Assert.Equal(2, oneDown);
        Assert.Equal(3, rejoined);
        Assert.Equal(1, controllerSumAfter);
    }

    /// <summary>
    /// Three topics watch one kill: RF 3 (under-replicated while a replica is down), RF 3 with min.insync.replicas=3
    /// (also under min ISR), and RF 1 on the killed broker (offline: its only replica is gone). All three gauges return to 0
    /// once the broker is back and in sync.
    /// </summary>
    [Fact]
    public async Task Partition_health_gauges_rise_while_a_broker_is_down_and_clear_after_it_rejoins()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var clients = new ClusterClients(cluster);
        var controller = await cluster.ActiveControllerIdAsync();
        var victim = cluster.Brokers.First(b => b.NodeId != controller);
        var replicated = ClusterSteps.UniqueTopic("health-rf3");
        var strict = ClusterSteps.UniqueTopic("health-minisr3");
        var single = ClusterSteps.UniqueTopic("health-rf1");
        await clients.CreateTopicAsync(replicated, partitions: 3, replicationFactor: 3);
        await clients.CreateTopicAsync(strict, partitions: 1, replicationFactor: 3, new Dictionary<string, string> { ["min.insync.replicas"] = "3" });
        await ClusterSteps.CreatePlacedTopicAsync(clients, single, [victim.NodeId]);

        var before = await Eventually.ValueAsync(() => GaugesAsync(cluster, controller), g => g == Healthy, GaugeTimeout);
        victim.Kill();
        var down = await Eventually.ValueAsync(() => GaugesAsync(cluster, controller),
            g => g is { UnderReplicated: >= 4, UnderMinIsr: >= 1, Offline: >= 1 }, GaugeTimeout);
        await victim.RestartAsync();
        foreach (var (topic, partitions) in new[] { (replicated, 3), (strict, 1) })
        {
            for (var p = 0; p < partitions; p++)
            {
                await clients.WaitForPartitionAsync(topic, p, s => s.Isr.Count == 3, TimeSpan.FromSeconds(20));
            }
        }

        var healed = await Eventually.ValueAsync(() => GaugesAsync(cluster, controller),
            g => g == Healthy, GaugeTimeout);
        output.WriteLine($"controller {controller}, victim {victim.NodeId}: before {before}; down {down}; healed {healed}");

        Assert.Equal(Healthy, before);
        Assert.Equal(new Gauges(4, 1, 1), down); // 3 + 1 RF-3 partitions lack a replica, the min.insync=3 one is under it, the RF-1 one has none
        Assert.Equal(Healthy, healed);
    }

    /// <summary>Under-replicated and under-min-ISR summed over the live brokers (leaders count them); offline from the controller.</summary>
    private static async Task<Gauges> GaugesAsync(ClusterProcess cluster, int controller) => new(
        await ClusterSteps.SumOverLiveBrokersAsync(cluster, ClusterMetrics.UnderReplicatedPartitions),
        await ClusterSteps.SumOverLiveBrokersAsync(cluster, ClusterMetrics.UnderMinIsrPartitionCount),
        await cluster.Broker(controller).MetricAsync(ClusterMetrics.OfflinePartitionsCount));

    private sealed record Gauges(double? UnderReplicated, double? UnderMinIsr, double? Offline);
}
