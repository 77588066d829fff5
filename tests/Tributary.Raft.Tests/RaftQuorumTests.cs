using System.Collections.Concurrent;
using System.Diagnostics;
using Tributary.Protocol;
using Tributary.Raft;
using Xunit.Abstractions;

namespace Tributary.Raft.Tests;

public sealed class RaftQuorumTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Three_voters_elect_exactly_one_leader_that_all_of_them_report()
    {
        await using var cluster = new TestCluster();
        var seen = new ConcurrentDictionary<int, QuorumLeadership>();
        foreach (var node in cluster.Running)
        {
            int id = node.NodeId;
            node.LeadershipChanged += leadership => seen[id] = leadership;
        }

        var leader = await cluster.WaitForLeaderAsync();

        Assert.Single(cluster.Running, n => n.IsLeader);
        Assert.All(cluster.Running, n => Assert.Equal(leader.NodeId, n.LeaderId));
        await WaitUntilAsync(() => cluster.Running.All(n => seen.TryGetValue(n.NodeId, out var l) && l == leader.Leadership));
    }

    [Fact]
    public async Task Appends_on_the_leader_are_applied_in_the_same_order_on_every_voter()
    {
        await using var cluster = new TestCluster();
        await cluster.WaitForLeaderAsync();
        var records = Enumerable.Range(0, 50).Select(i => (string)TestCluster.Topic(i)).ToList();
        long[] offsets = await Task.WhenAll(records.Select(cluster.AppendAsync));

        Assert.Equal(50, offsets.Distinct().Count());
        await AssertEveryVoterHoldsAsync(cluster, offsets.Zip(records));
    }

    [Fact]
    public async Task Followers_refuse_appends_and_name_the_leader()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Running.First(n => !n.IsLeader);

        var result = await follower.TryAppendAsync(TestCluster.Topic(1), CancellationToken.None);
        var thrown = await Assert.ThrowsAsync<NotControllerException>(() => follower.AppendAsync(TestCluster.Topic(1), CancellationToken.None));

        Assert.Equal(ErrorCode.NotController, result.Error);
        Assert.Equal(leader.NodeId, result.LeaderId);
        Assert.Equal(leader.NodeId, thrown.LeaderId);
    }

    [Fact]
    public async Task A_new_leader_is_elected_after_the_leader_stops_and_keeps_every_committed_record()
    {
        await using var cluster = new TestCluster();
        var oldLeader = await cluster.WaitForLeaderAsync();
        var acknowledged = await AppendTopicsAsync(cluster, 0, 10);

        long oldEpoch = oldLeader.Epoch;
        var stopwatch = Stopwatch.StartNew();
        await cluster.StopAsync(oldLeader.NodeId);
        var newLeader = await cluster.WaitForLeaderAsync();
        output.WriteLine($"election after leader stop: {stopwatch.ElapsedMilliseconds} ms (election timeout {TestCluster.ElectionTimeout.TotalMilliseconds} ms)");

        Assert.NotEqual(oldLeader.NodeId, newLeader.NodeId);
        Assert.True(newLeader.Epoch > oldEpoch);
        await AssertEveryVoterHoldsAsync(cluster, acknowledged);
    }

    [Fact]
    public async Task Appends_acknowledged_before_the_leader_dies_mid_stream_survive_at_their_offsets()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        var records = Enumerable.Range(0, 100).Select(i => (string)TestCluster.Topic(i)).ToList();
        var appends = records.Select(r => leader.TryAppendAsync(r, CancellationToken.None)).ToList();
        // Kill once some appends are acknowledged (and others are still in flight).
        await WaitUntilAsync(() => appends.Count(a => a.IsCompletedSuccessfully && a.Result.Error == ErrorCode.None) >= 10
                                   || appends.All(a => a.IsCompleted));
        await cluster.StopAsync(leader.NodeId);
        var results = await Task.WhenAll(appends);

        var acknowledged = results.Zip(records).Where(x => x.First.Error == ErrorCode.None).Select(x => (x.First.Offset, x.Second)).ToList();
        Assert.NotEmpty(acknowledged);
        await AssertEveryVoterHoldsAsync(cluster, acknowledged);
    }

    [Fact]
    public async Task A_restarted_follower_catches_up_from_its_data_directory()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        int followerId = cluster.Running.First(n => !n.IsLeader).NodeId;
        var acknowledged = await AppendTopicsAsync(cluster, 0, 5);
        await WaitUntilAsync(() => cluster.Node(followerId).CommittedOffset >= acknowledged[^1].Offset);

        await cluster.StopAsync(followerId);
        acknowledged.AddRange(await AppendTopicsAsync(cluster, 5, 10));
        cluster.Start(followerId);

        await AssertEveryVoterHoldsAsync(cluster, acknowledged);
    }

    [Fact]
    public async Task Every_committed_record_survives_killing_and_restarting_all_voters()
    {
        await using var cluster = new TestCluster();
        await cluster.WaitForLeaderAsync();
        var acknowledged = await AppendTopicsAsync(cluster, 0, 20);

        foreach (var voter in cluster.Voters)
        {
            await cluster.StopAsync(voter.Id);
        }

        foreach (var voter in cluster.Voters)
        {
            cluster.Start(voter.Id);
        }

        await AssertEveryVoterHoldsAsync(cluster, acknowledged);
    }

    [Fact]
    public async Task The_only_voter_elects_itself_without_waiting_for_the_election_timeout()
    {
        var directory = Path.Combine(Path.GetTempPath(), "tributary-quorum-" + Guid.NewGuid().ToString("N"));
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var options = new RaftQuorumOptions
        {
            NodeId = 1,
            Voters = [new QuorumVoter(1, "127.0.0.1", port)],
            DataDirectory = directory,
            // Far beyond the wait below: a leader within it can only come from electing itself at once.
            ElectionTimeout = TimeSpan.FromSeconds(60),
            HeartbeatInterval = TimeSpan.FromMilliseconds(50),
            Listener = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port),
        };
        try
        {
            await using (var node = RaftQuorum<string>.Start(options, StringSerde.Instance))
            {
                await WaitUntilAsync(() => node.IsLeader);
                Assert.Equal(1, node.LeaderId);
            }

            // Restarted with its log and vote on disk: again at once, in a later epoch.
            await using var restarted = RaftQuorum<string>.Start(options, StringSerde.Instance);
            await WaitUntilAsync(() => restarted.IsLeader);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_single_voter_of_three_cannot_commit()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        await cluster.AppendAsync(TestCluster.Topic(0));
        foreach (var follower in cluster.Running.Where(n => !n.IsLeader).ToList())
        {
            await cluster.StopAsync(follower.NodeId);
        }

        long committedBefore = leader.CommittedOffset;
        using var patience = new CancellationTokenSource(TestCluster.ElectionTimeout * 5);
        var result = await TryAppendUntilCancelledAsync(leader, TestCluster.Topic(1), patience.Token);

        Assert.NotEqual(ErrorCode.None, result);
        Assert.Equal(committedBefore, leader.CommittedOffset);
        await WaitUntilAsync(() => !leader.IsLeader);
    }

    [Fact]
    public async Task Commit_latency_on_loopback_is_measured_for_three_voters()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        var latencies = new List<double>();
        for (int i = 0; i < 200; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            await cluster.AppendAsync(TestCluster.Topic(i));
            latencies.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        latencies.Sort();
        output.WriteLine($"append commit latency, 3 voters, loopback: p50 {latencies[99]:F2} ms, p99 {latencies[197]:F2} ms, max {latencies[199]:F2} ms");
        Assert.Equal(200, (await TestCluster.ReadCommittedAsync(leader, 200)).Count);
    }

    private static async Task<List<(long Offset, string Record)>> AppendTopicsAsync(TestCluster cluster, int from, int to)
    {
        var acknowledged = new List<(long, string)>();
        for (int i = from; i < to; i++)
        {
            acknowledged.Add((await cluster.AppendAsync(TestCluster.Topic(i)), TestCluster.Topic(i)));
        }

        return acknowledged;
    }

    /// <summary>Every running voter hands out the same log, holding each acknowledged record at its acknowledged offset.</summary>
    /// <remarks>Appends a marker first, so the check waits for every voter to have caught up past all of them. A record
    /// may appear twice: an append whose leader resigned before answering is retried, yet may have committed too.</remarks>
    private static async Task AssertEveryVoterHoldsAsync(TestCluster cluster, IEnumerable<(long Offset, string Record)> acknowledged)
    {
        var marker = "marker-" + Guid.NewGuid().ToString("N");
        await cluster.AppendAsync(marker);
        var logs = await Task.WhenAll(cluster.Running.Select(node => TestCluster.ReadCommittedUntilAsync(node, marker)));

        Assert.All(logs, log => Assert.Equal(logs[0], log));
        var byOffset = logs[0].ToDictionary(r => r.Offset, r => r.Record);
        Assert.All(acknowledged, a => Assert.Equal(a.Record, byOffset.GetValueOrDefault(a.Offset)));
    }

    /// <summary>Appends once and waits; NOT_CONTROLLER (this node resigned) or running out of patience both mean
    /// "not committed".</summary>
    private static async Task<ErrorCode> TryAppendUntilCancelledAsync(RaftQuorum<string> node, string record, CancellationToken token)
    {
        try
        {
            return (await node.TryAppendAsync(record, token)).Error;
        }
        catch (OperationCanceledException)
        {
            return ErrorCode.RequestTimedOut;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TestCluster.WaitLimit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within " + TestCluster.WaitLimit);
            await Task.Delay(10);
        }
    }
}
