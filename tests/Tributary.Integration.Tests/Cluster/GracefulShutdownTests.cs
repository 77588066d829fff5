using System.Diagnostics;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>SIGTERM on a partition leader: controlled shutdown moves its leaderships away before the process exits.</summary>
public sealed class GracefulShutdownTests(ITestOutputHelper output)
{
    private const int Partitions = 6;

    /// <summary>
    /// Without controlled shutdown leadership would only move once the controller fences the broker
    /// (broker.session.timeout.ms = 1500 ms after its last heartbeat); metadata from the survivors may trail the
    /// controller by a few heartbeats, hence a margin well below the session timeout.
    /// </summary>
    private static readonly TimeSpan MetadataPropagation = TimeSpan.FromMilliseconds(750);

    [Fact]
    public async Task Sigterm_moves_leadership_before_exit_without_failed_deliveries_and_the_broker_rejoins_the_isr_on_restart()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 3 });
        var clients = new ClusterClients(cluster);
        var topic = $"graceful-{Guid.NewGuid():N}"[..25];
        await clients.CreateTopicAsync(topic, Partitions, replicationFactor: 3, new Dictionary<string, string> { ["min.insync.replicas"] = "2" });

        var controller = await cluster.ActiveControllerIdAsync();
        var leaders = clients.Partitions(topic).OrderBy(p => p.Key).Select(p => p.Value.Leader).ToList();
        // A leader that is not the controller keeps this test about partition leadership, not controller election.
        var victim = leaders.GroupBy(l => l).OrderBy(g => g.Key == controller).ThenByDescending(g => g.Count()).First().Key;
        output.WriteLine($"leaders by partition [{string.Join(',', leaders)}], controller {controller}, stopping {victim}");

        using var producer = clients.CreateProducer();
        var stream = new RecordStream(topic, "gs", 6_000, recordsPerPause: 50, pauseMs: 20);
        var streaming = stream.RunAsync(producer, TimeSpan.FromSeconds(60));
        Assert.True(await stream.WaitForAcksAsync(1_000, TimeSpan.FromSeconds(30)), $"only {stream.AckedCount} acked before SIGTERM");

        var clock = Stopwatch.StartNew();
        var stopping = cluster.Broker(victim).StopAsync();
        var exitObserved = stopping.ContinueWith(_ => clock.Elapsed, TaskScheduler.Default); // not delayed by a slow poll below
        TimeSpan? leadershipGoneAt = null;
        var survivors = new ClusterClients(
            string.Join(',', cluster.Brokers.Where(b => b.NodeId != victim).Select(b => b.BootstrapServer)), cluster.Log);
        while (!stopping.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(40))
        {
            if (leadershipGoneAt is null && LedBy(survivors, topic, victim) == 0)
            {
                leadershipGoneAt = clock.Elapsed;
            }

            await Task.Delay(50);
        }

        var exitCode = await stopping;
        var exitedAt = await exitObserved;
        while (leadershipGoneAt is null && clock.Elapsed < exitedAt + MetadataPropagation)
        {
            if (LedBy(survivors, topic, victim) == 0)
            {
                leadershipGoneAt = clock.Elapsed;
            }

            await Task.Delay(50);
        }

        output.WriteLine($"broker {victim} exited {exitedAt.TotalMilliseconds:F0} ms after SIGTERM; survivors' metadata showed no leadership on it at {leadershipGoneAt?.TotalMilliseconds:F0} ms");

        await streaming;
        await cluster.Broker(victim).RestartAsync();
        for (var p = 0; p < Partitions; p++)
        {
            await clients.WaitForPartitionAsync(topic, p, s => s.Isr.Contains(victim) && s.Isr.Count == 3, TimeSpan.FromSeconds(30));
        }

        var audit = stream.Audit(clients.ReadAll(topic, Partitions, TimeSpan.FromSeconds(60)).Select(r => r.Key));
        output.WriteLine($"audit: {audit}");

        Assert.Equal(0, exitCode);
        Assert.True(leadershipGoneAt <= exitedAt + MetadataPropagation, $"leaders moved at {leadershipGoneAt}, exit at {exitedAt}");
        Assert.Empty(stream.Failures);
        Assert.Equal(stream.Count, stream.AckedCount);
        Assert.Empty(audit.Lost);
    }

    /// <summary>How many partitions of <paramref name="topic"/> the survivors' metadata says <paramref name="broker"/> leads.</summary>
    private static int LedBy(ClusterClients survivors, string topic, int broker)
    {
        try
        {
            var states = survivors.Partitions(topic);
            return states.Count == Partitions ? states.Values.Count(s => s.Leader == broker) : -1;
        }
        catch (KafkaException)
        {
            return -1; // no answer this round: unknown, not zero
        }
    }
}
