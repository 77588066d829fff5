using System.Diagnostics;
using Confluent.Kafka;
using Tributary.Integration.Tests.Cluster;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Monitoring;

/// <summary>
/// The alert rules and the dashboard against the real thing: Prometheus (Debian's package) scrapes a real 3-broker
/// cluster and evaluates the checked-in rules with test-sized durations; alerts are read from Prometheus' own
/// <c>/api/v1/alerts</c>. (Two active controllers cannot be produced for real, nor a full disk here; promtool covers those.)
/// </summary>
public sealed class AlertingEndToEndTests : IClassFixture<MonitoredClusterFixture>, IDisposable
{
    private const string UnderReplicated = "TributaryUnderReplicatedPartitions";
    private const string BrokersBelowExpected = "TributaryBrokersBelowExpected";
    private const string ConsumerGroupStuck = "TributaryConsumerGroupStuck";
    private const string OfflinePartitions = "TributaryOfflinePartitions";
    private const string UnderMinIsr = "TributaryUnderMinIsrPartitions";
    private const string NoActiveController = "TributaryNoActiveController";

    /// <summary>Fencing (1.5 s session timeout) or an ISR shrink (2 s lag time), plus the test `for:` of 5 s, plus scrapes and
    /// evaluations every second: well under this, but the machine is shared.</summary>
    private static readonly TimeSpan AlertTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Pace of reads from Prometheus, which evaluates its rules every second.</summary>
    private static readonly TimeSpan PrometheusPoll = TimeSpan.FromMilliseconds(500);

    private readonly ClusterProcess cluster;
    private readonly PrometheusServer prometheus;
    private readonly ClusterClients clients;
    private readonly ITestOutputHelper output;

    public AlertingEndToEndTests(MonitoredClusterFixture fixture, ITestOutputHelper output)
    {
        cluster = fixture.Cluster;
        prometheus = fixture.Prometheus;
        this.output = output;
        cluster.Log.Attach(output);
        clients = new ClusterClients(cluster);
    }

    public void Dispose() => cluster.Log.Attach(null);

    /// <summary>
    /// Three topics watch one kill, as in ClusterMetricsTests: RF 3 (under-replicated while a replica is down), RF 3 with
    /// min.insync.replicas=3 (under min ISR) and RF 1 on the victim (offline). The controller's broker counts see the
    /// victim fenced. All four alerts fire, and all resolve once the victim is back in every ISR.
    /// </summary>
    [Fact]
    public async Task Killing_a_broker_fires_the_replication_and_broker_count_alerts_and_restarting_it_resolves_them()
    {
        var controller = await cluster.ActiveControllerIdAsync();
        var victim = cluster.Brokers.First(b => b.NodeId != controller);
        var replicated = ClusterSteps.UniqueTopic("alerts-rf3");
        var strict = ClusterSteps.UniqueTopic("alerts-minisr3");
        var single = ClusterSteps.UniqueTopic("alerts-rf1");
        await clients.CreateTopicAsync(replicated, partitions: 3, replicationFactor: 3);
        await clients.CreateTopicAsync(strict, partitions: 1, replicationFactor: 3, new Dictionary<string, string> { ["min.insync.replicas"] = "3" });
        await ClusterSteps.CreatePlacedTopicAsync(clients, single, [victim.NodeId]);
        await WaitForFullIsrAsync(replicated, 3);
        await WaitForFullIsrAsync(strict, 1);
        string[] watched = [UnderReplicated, BrokersBelowExpected, OfflinePartitions, UnderMinIsr];
        var before = await Eventually.ValueAsync(prometheus.AlertsAsync, a => !a.Any(x => watched.Contains(x.Name)), AlertTimeout, PrometheusPoll);

        var clock = Stopwatch.StartNew();
        victim.Kill();
        var down = await Eventually.ValueAsync(prometheus.AlertsAsync, a => watched.All(n => a.Any(x => x.Name == n && x.State == "firing")), AlertTimeout, PrometheusPoll);
        var firedAfter = clock.Elapsed;

        clock.Restart();
        await victim.RestartAsync();
        await WaitForFullIsrAsync(replicated, 3);
        await WaitForFullIsrAsync(strict, 1);
        var healed = await Eventually.ValueAsync(prometheus.AlertsAsync, a => !a.Any(x => watched.Contains(x.Name)), AlertTimeout, PrometheusPoll);
        output.WriteLine($"victim b{victim.NodeId} (controller b{controller}): fired {firedAfter.TotalSeconds:F1} s after the kill, " +
                         $"resolved {clock.Elapsed.TotalSeconds:F1} s after the restart began; while down: {string.Join("; ", down)}");

        Assert.DoesNotContain(before, a => watched.Contains(a.Name));
        Assert.Contains(down, a => a is { Name: UnderReplicated, State: "firing" } && a.Labels["job"] == PrometheusServer.Job && a.Labels["severity"] == "warning");
        Assert.Contains(down, a => a is { Name: BrokersBelowExpected, State: "firing" } && a.Labels["job"] == PrometheusServer.Job);
        Assert.Contains(down, a => a is { Name: OfflinePartitions, State: "firing" } && a.Labels["severity"] == "critical");
        Assert.Contains(down, a => a is { Name: UnderMinIsr, State: "firing" } && a.Labels["severity"] == "critical");
        Assert.DoesNotContain(healed, a => watched.Contains(a.Name));
    }

    /// <summary>Two of the three quorum voters killed: the survivor cannot be elected, so no node is the active controller.</summary>
    [Fact]
    public async Task Losing_the_quorum_majority_fires_the_no_active_controller_alert_and_restoring_it_resolves_it()
    {
        var before = await Eventually.ValueAsync(prometheus.AlertsAsync, a => !a.Any(x => x.Name == NoActiveController), AlertTimeout, PrometheusPoll);
        var controller = await cluster.ActiveControllerIdAsync();
        var victims = cluster.Brokers.Where(b => b.NodeId != controller).ToList();
        var clock = Stopwatch.StartNew();
        foreach (var victim in victims)
        {
            victim.Kill();
        }

        var down = await Eventually.ValueAsync(prometheus.AlertsAsync, a => a.Any(x => x is { Name: NoActiveController, State: "firing" }), AlertTimeout, PrometheusPoll);
        var firedAfter = clock.Elapsed;

        clock.Restart();
        await Task.WhenAll(victims.Select(v => v.RestartAsync()));
        await cluster.ActiveControllerIdAsync(TimeSpan.FromSeconds(30));
        var healed = await Eventually.ValueAsync(prometheus.AlertsAsync, a => !a.Any(x => x.Name == NoActiveController), AlertTimeout, PrometheusPoll);
        output.WriteLine($"killed b{string.Join(", b", victims.Select(v => v.NodeId))} (controller b{controller}): fired {firedAfter.TotalSeconds:F1} s " +
                         $"after the kills, resolved {clock.Elapsed.TotalSeconds:F1} s after the restarts began");

        Assert.DoesNotContain(before, a => a.Name == NoActiveController);
        Assert.Contains(down, a => a is { Name: NoActiveController, State: "firing" } && a.Labels["severity"] == "critical");
        Assert.DoesNotContain(healed, a => a.Name == NoActiveController);
    }

    private async Task WaitForFullIsrAsync(string topic, int partitions)
    {
        for (var p = 0; p < partitions; p++)
        {
            await clients.WaitForPartitionAsync(topic, p, s => s.Isr.Count == 3, TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>
    /// Two groups on one topic while records keep arriving: "stuck" committed once and stopped, "live" keeps consuming and
    /// committing. Only the stuck one's lag grows with a flat committed offset, so only it fires.
    /// </summary>
    [Fact]
    public async Task A_group_whose_committed_offset_stays_flat_while_records_arrive_fires_the_stuck_alert_and_a_consuming_group_does_not()
    {
        var topic = ClusterSteps.UniqueTopic("alerts-lag");
        var stuck = ClusterSteps.UniqueTopic("stuck");
        var live = ClusterSteps.UniqueTopic("live");
        await clients.CreateTopicAsync(topic, partitions: 1, replicationFactor: 3);
        var partition = new TopicPartition(topic, 0);
        using var producer = clients.CreateProducer();
        for (var i = 0; i < 10; i++)
        {
            await producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = $"v{i}" });
        }

        using (var stuckConsumer = clients.CreateConsumer(GroupConsumerConfig(stuck)))
        {
            stuckConsumer.Commit([new TopicPartitionOffset(partition, 5)]);
            stuckConsumer.Close();
        }

        using var liveConsumer = clients.CreateConsumer(GroupConsumerConfig(live));
        liveConsumer.Assign(new TopicPartitionOffset(partition, Offset.Beginning));
        var clock = Stopwatch.StartNew();
        IReadOnlyList<PrometheusAlert> alerts = [];
        var produced = 10;
        while (clock.Elapsed < AlertTimeout + AlertTimeout)
        {
            await producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = $"v{produced++}" });
            if (liveConsumer.Consume(TimeSpan.FromMilliseconds(100)) is { } record)
            {
                liveConsumer.Commit([new TopicPartitionOffset(partition, record.Offset + 1)]);
            }

            alerts = await prometheus.AlertsAsync();
            if (alerts.Any(a => a.Name == ConsumerGroupStuck && a.State == "firing" && a.Labels["consumergroup"] == stuck))
            {
                break;
            }

            await Task.Delay(150);
        }

        liveConsumer.Close();
        output.WriteLine($"{produced} records produced over {clock.Elapsed.TotalSeconds:F1} s; alerts: {string.Join("; ", alerts)}");

        Assert.Contains(alerts, a => a is { Name: ConsumerGroupStuck, State: "firing" } && a.Labels["consumergroup"] == stuck
                                     && a.Labels["topic"] == topic && a.Labels["partition"] == "0");
        Assert.DoesNotContain(alerts, a => a.Name == ConsumerGroupStuck && a.Labels["consumergroup"] == live);
    }

    /// <summary>Every query of the chart's Grafana dashboard returns at least one series from the real cluster once it
    /// has carried traffic: no panel is silently empty because of a misspelt metric or label.</summary>
    [Fact]
    public async Task Every_dashboard_query_returns_data_from_a_real_cluster()
    {
        var topic = ClusterSteps.UniqueTopic("dashboard");
        var group = ClusterSteps.UniqueTopic("dashboard");
        await clients.CreateTopicAsync(topic, partitions: 3, replicationFactor: 3);
        using (var producer = clients.CreateProducer())
        {
            for (var i = 0; i < 300; i++)
            {
                producer.Produce(topic, new Message<string, string> { Key = $"k{i}", Value = $"v{i}" });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        using (var consumer = clients.CreateConsumer(GroupConsumerConfig(group)))
        {
            consumer.Assign(Enumerable.Range(0, 3).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
            var read = 0;
            var deadline = Stopwatch.StartNew();
            while (read < 200 && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } record)
                {
                    read++;
                    consumer.Commit([new TopicPartitionOffset(record.TopicPartition, record.Offset + 1)]);
                }
            }

            consumer.Close();
        }

        // Rates need two samples inside their window; a window of 30 s at a 1 s scrape interval is Grafana's
        // $__rate_interval for a short range.
        var queries = MonitoringSources.DashboardQueries();
        var empty = await Eventually.ValueAsync(
            async () =>
            {
                var missing = new List<string>();
                foreach (var (panel, expression) in queries)
                {
                    if (await prometheus.SeriesCountAsync(MonitoringSources.WithGrafanaVariables(expression, "30s")) == 0)
                    {
                        missing.Add($"{panel}: {expression}");
                    }
                }

                return missing;
            },
            missing => missing.Count == 0,
            AlertTimeout, PrometheusPoll);
        output.WriteLine($"{queries.Count} dashboard queries; empty: {empty.Count}");

        Assert.True(queries.Count >= 20, $"only {queries.Count} queries found in {MonitoringSources.DashboardPath}");
        Assert.True(empty.Count == 0, "Dashboard queries without data:\n" + string.Join('\n', empty));
    }

    private ConsumerConfig GroupConsumerConfig(string group)
    {
        var config = clients.ConsumerConfig();
        config.GroupId = group;
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        config.EnablePartitionEof = false;
        return config;
    }
}
