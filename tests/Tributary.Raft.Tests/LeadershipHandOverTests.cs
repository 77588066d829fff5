using System.Diagnostics;
using Xunit.Abstractions;

namespace Tributary.Raft.Tests;

public sealed class LeadershipHandOverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_gracefully_stopped_leader_hands_over_and_a_new_leader_keeps_every_committed_record()
    {
        await using var cluster = new TestCluster();
        var oldLeader = await cluster.WaitForLeaderAsync();
        long offset = await cluster.AppendAsync(TestCluster.Topic(1));

        var stopwatch = Stopwatch.StartNew();
        await cluster.StopGracefullyAsync(oldLeader.NodeId);
        var newLeader = await cluster.WaitForLeaderAsync();
        output.WriteLine($"new leader after graceful stop: {stopwatch.ElapsedMilliseconds} ms");

        Assert.NotEqual(oldLeader.NodeId, newLeader.NodeId);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5));
        var batches = await TestCluster.ReadBatchesUntilAsync(newLeader, offset);
        Assert.Equal([TestCluster.Topic(1)], batches[^1].Records);
    }

    [Fact]
    public async Task Failover_after_a_graceful_stop_and_after_a_kill_are_measured()
    {
        await using var cluster = new TestCluster();
        var graceful = new List<long>();
        var killed = new List<long>();
        for (int round = 0; round < 3; round++)
        {
            graceful.Add(await MeasureFailoverAsync(cluster, gracefully: true));
            killed.Add(await MeasureFailoverAsync(cluster, gracefully: false));
        }

        output.WriteLine($"new leader after graceful stop: {string.Join(", ", graceful)} ms; after kill: {string.Join(", ", killed)} ms "
                         + $"(election timeout {TestCluster.ElectionTimeout.TotalMilliseconds} ms, heartbeat {TestCluster.HeartbeatInterval.TotalMilliseconds} ms)");
        Assert.All(graceful.Concat(killed), ms => Assert.True(ms < 5000));
    }

    /// <summary>Stops the leader, measures until the other two agree on a new one, then restarts the stopped voter.</summary>
    private static async Task<long> MeasureFailoverAsync(TestCluster cluster, bool gracefully)
    {
        var leader = await cluster.WaitForLeaderAsync();
        await cluster.AppendAsync(TestCluster.Topic(7));
        var stopwatch = Stopwatch.StartNew();
        if (gracefully)
        {
            await cluster.StopGracefullyAsync(leader.NodeId);
        }
        else
        {
            await cluster.StopAsync(leader.NodeId);
        }

        var newLeader = await cluster.WaitForLeaderAsync();
        long elapsed = stopwatch.ElapsedMilliseconds;
        Assert.NotEqual(leader.NodeId, newLeader.NodeId);
        cluster.Start(leader.NodeId);
        await cluster.AppendAsync(TestCluster.Topic(8)); // everyone caught up before the next round
        await TestCluster.WaitUntilAsync(() => cluster.Running.All(n => n.CommittedOffset == newLeader.CommittedOffset));
        return elapsed;
    }
}
