using System.Net;
using System.Text.Json;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>The cluster harness itself, on a one-node cluster (a single voter): start, signals, restart, metrics.</summary>
public sealed class ClusterProcessTests(ITestOutputHelper output)
{
    private static readonly ClusterOptions SingleNode = new() { Brokers = 1 };

    [Fact]
    public async Task Single_voter_cluster_becomes_ready_and_reports_itself_active_controller()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, SingleNode);

        Assert.Equal(HttpStatusCode.OK, await cluster.Broker(1).GetStatusAsync("/readyz"));
        Assert.Equal(1, await cluster.ActiveControllerIdAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Paused_broker_answers_nothing_until_resumed()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, SingleNode);
        var broker = cluster.Broker(1);

        broker.Pause();
        var whilePaused = await broker.MetricAsync(ClusterMetrics.ActiveControllerCount);
        broker.Resume();
        var afterResume = await broker.MetricAsync(ClusterMetrics.ActiveControllerCount);

        Assert.Null(whilePaused);
        Assert.Equal(1, afterResume);
    }

    [Fact]
    public async Task Killed_broker_restarts_on_the_same_ports_and_data_directory()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, SingleNode);
        var broker = cluster.Broker(1);
        var firstPid = broker.ProcessId;
        var ports = broker.Ports;

        broker.Kill();
        await broker.RestartAsync();

        Assert.NotEqual(firstPid, broker.ProcessId);
        Assert.Equal(ports, broker.Ports);
        Assert.True(Directory.Exists(broker.DataDirectory));
        Assert.Equal(HttpStatusCode.OK, await broker.GetStatusAsync("/readyz"));
    }

    [Fact]
    public async Task Stopped_broker_exits_with_code_0_on_SIGTERM()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, SingleNode);

        var exitCode = await cluster.Broker(1).StopAsync();

        Assert.Equal(0, exitCode);
        Assert.False(cluster.Broker(1).IsRunning);
    }

    [Fact]
    public async Task Dispose_kills_the_brokers_and_deletes_their_data()
    {
        var cluster = await ClusterProcess.StartAsync(output, SingleNode);
        var pid = cluster.Broker(1).ProcessId;
        var dataDirectory = cluster.Broker(1).DataDirectory;

        await cluster.DisposeAsync();

        Assert.False(Directory.Exists($"/proc/{pid}"), $"broker PID {pid} still exists after dispose");
        Assert.False(Directory.Exists(dataDirectory));
    }

    [NetnsFact]
    public async Task Broker_in_its_own_network_namespace_serves_the_harness_and_a_client_in_the_client_namespace()
    {
        var log = new TestOutputSink(output);
        var (created, unavailable) = await NetworkLab.TryCreateAsync(brokers: 1, log);
        Assert.True(created is not null, unavailable);
        await using var lab = created;
        await using var cluster = await ClusterProcess.StartAsync(output, SingleNode with { Placement = lab.Placement });
        var script = Path.Combine(RepositoryLayout.Root, "tests", "Tributary.Integration.Tests", "Cluster", "partition_client.py");
        var topic = $"netns-{Guid.NewGuid():N}"[..22];
        await new ClusterClients(cluster).CreateTopicAsync(topic, partitions: 1, replicationFactor: 1);

        var produced = await ExternalProcess.RunAsync(
            "ip", [.. lab.ClientCommand, "/usr/bin/python3", script, "produce", "--bootstrap", cluster.BootstrapServers, "--topic", topic, "--count", "10"],
            log, TimeSpan.FromSeconds(60));
        using var summary = JsonDocument.Parse(produced.StandardOutput.TrimEnd().Split('\n')[^1]);
        var read = await ExternalProcess.RunAsync(
            "ip", [.. lab.ClientCommand, "/usr/bin/python3", script, "read", "--bootstrap", cluster.BootstrapServers, "--topic", topic],
            log, TimeSpan.FromSeconds(60));
        using var readSummary = JsonDocument.Parse(read.StandardOutput.TrimEnd().Split('\n')[^1]);

        Assert.Equal("10.77.0.1", cluster.Broker(1).Host);
        Assert.Equal(HttpStatusCode.OK, await cluster.Broker(1).GetStatusAsync("/readyz"));
        Assert.Equal(10, summary.RootElement.GetProperty("acked").GetArrayLength());
        Assert.Equal(
            summary.RootElement.GetProperty("acked").EnumerateArray().Select(k => k.GetString()),
            readSummary.RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
    }

    [NetnsFact]
    public async Task Isolated_broker_is_cut_off_from_other_broker_namespaces_but_not_from_the_client_until_healed()
    {
        var log = new TestOutputSink(output);
        var (created, unavailable) = await NetworkLab.TryCreateAsync(brokers: 2, log);
        Assert.True(created is not null, unavailable);
        await using var lab = created;
        await using var cluster = await ClusterProcess.StartAsync(output, SingleNode with { Placement = lab.Placement });
        var broker = cluster.Broker(1);

        await lab.IsolateAsync(1);
        var fromPeerWhileIsolated = await lab.CanConnectAsync(lab.BrokerNamespace(2), broker.Host, broker.Ports.Kafka);
        var fromClientWhileIsolated = await lab.CanConnectAsync(lab.ClientNamespace, broker.Host, broker.Ports.Kafka);
        await lab.HealAsync(1);
        var fromPeerAfterHeal = await lab.CanConnectAsync(lab.BrokerNamespace(2), broker.Host, broker.Ports.Kafka);

        Assert.False(fromPeerWhileIsolated);
        Assert.True(fromClientWhileIsolated);
        Assert.True(fromPeerAfterHeal);
    }

    [Fact]
    public async Task Metadata_probe_reads_leader_and_isr_from_the_chosen_broker()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, SingleNode);
        var broker = cluster.Broker(1);
        var topic = $"probe-{Guid.NewGuid():N}"[..22];
        await new ClusterClients(cluster).CreateTopicAsync(topic, partitions: 2, replicationFactor: 1);

        var view = await MetadataProbe.PartitionsAsync(broker.Host, broker.Ports.Kafka, topic, TimeSpan.FromSeconds(5));

        Assert.NotNull(view);
        Assert.Equal([0, 1], view.Keys.Order());
        Assert.All(view.Values, s => Assert.Equal("leader 1, replicas [1], isr [1]", s.ToString()));
    }
}
