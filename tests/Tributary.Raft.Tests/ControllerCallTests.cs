using System.Net.Sockets;
using System.Text;
using Tributary.Raft;

namespace Tributary.Raft.Tests;

public sealed class ControllerCallTests
{
    [Fact]
    public async Task A_follower_an_observer_and_the_leader_itself_get_the_leaders_answer()
    {
        await using var cluster = new TestCluster();
        InstallEchoHandlers(cluster);
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Running.First(n => !n.IsLeader);
        var observer = cluster.StartObserver(10);
        await TestCluster.WaitUntilAsync(() => observer.LeaderId == leader.NodeId);

        foreach (var caller in new[] { follower, observer, leader })
        {
            using var timeout = new CancellationTokenSource(TestCluster.WaitLimit);
            byte[] answer = await caller.CallLeaderAsync(Encoding.UTF8.GetBytes("hello from " + caller.NodeId), timeout.Token);

            Assert.Equal($"node {leader.NodeId} got: hello from {caller.NodeId}", Encoding.UTF8.GetString(answer));
        }
    }

    [Fact]
    public async Task Killing_the_leader_during_a_call_fails_the_call_with_NOT_CONTROLLER_before_the_timeout()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        leader.SetLeaderRequestHandler(async (_, token) =>
        {
            entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
            return [];
        });
        var observer = cluster.StartObserver(10);
        await TestCluster.WaitUntilAsync(() => observer.LeaderId == leader.NodeId);
        using var timeout = new CancellationTokenSource(TestCluster.WaitLimit);

        var call = observer.CallLeaderAsync(new byte[] { 1 }, timeout.Token);
        await entered.Task.WaitAsync(TestCluster.WaitLimit);
        await cluster.StopAsync(leader.NodeId);

        await Assert.ThrowsAsync<NotControllerException>(() => call);
        Assert.False(timeout.IsCancellationRequested);
    }

    [Fact]
    public async Task A_request_over_the_voters_bound_closes_only_that_connection()
    {
        await using var cluster = new TestCluster();
        InstallEchoHandlers(cluster);
        var leader = await cluster.WaitForLeaderAsync();
        var observer = cluster.StartObserver(10, maxControllerMessageBytes: 4 * 1024 * 1024);
        await TestCluster.WaitUntilAsync(() => observer.LeaderId == leader.NodeId);
        using var timeout = new CancellationTokenSource(TestCluster.WaitLimit);

        await Assert.ThrowsAsync<NotControllerException>(() => observer.CallLeaderAsync(new byte[2 * 1024 * 1024], timeout.Token));
        var follower = cluster.Running.First(n => !n.IsLeader);
        byte[] answer = await follower.CallLeaderAsync("still serving"u8.ToArray(), timeout.Token);
        // The closed connection also carried the observer's fetch; it finds the leader again before calling.
        await TestCluster.WaitUntilAsync(() => observer.LeaderId == leader.NodeId);
        byte[] again = await observer.CallLeaderAsync("small"u8.ToArray(), timeout.Token);

        Assert.Equal($"node {leader.NodeId} got: still serving", Encoding.UTF8.GetString(answer));
        Assert.Equal($"node {leader.NodeId} got: small", Encoding.UTF8.GetString(again));
    }

    [Fact]
    public async Task A_request_over_the_callers_own_bound_is_refused_before_sending()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => leader.CallLeaderAsync(new byte[1024 * 1024 + 1], CancellationToken.None));
    }

    [Fact]
    public async Task Garbage_on_the_quorum_port_closes_that_connection_and_the_quorum_keeps_committing()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", cluster.Voters[leader.NodeId - 1].Port);
        var stream = client.GetStream();
        await stream.WriteAsync(new byte[] { 0x7f, 0xff, 0xff, 0xff, 16 });

        int read = await stream.ReadAsync(new byte[1]).AsTask().WaitAsync(TestCluster.WaitLimit);

        Assert.Equal(0, read);
        Assert.True(await cluster.AppendAsync(TestCluster.Topic(1)) >= 0);
    }

    [Fact]
    public async Task With_no_leader_known_a_call_fails_at_once_with_NOT_CONTROLLER()
    {
        await using var cluster = new TestCluster();
        foreach (var voter in cluster.Voters)
        {
            await cluster.StopAsync(voter.Id);
        }

        var observer = cluster.StartObserver(10);

        var thrown = await Assert.ThrowsAsync<NotControllerException>(() => observer.CallLeaderAsync(new byte[] { 1 }, CancellationToken.None));
        Assert.Equal(-1, thrown.LeaderId);
    }

    [Fact]
    public async Task A_handler_that_throws_is_reported_to_the_caller_as_a_failed_call()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        leader.SetLeaderRequestHandler((_, _) => throw new InvalidOperationException("controller bug"));
        var follower = cluster.Running.First(n => !n.IsLeader);

        await Assert.ThrowsAsync<ControllerCallFailedException>(() => follower.CallLeaderAsync(new byte[] { 1 }, CancellationToken.None));
    }

    private static void InstallEchoHandlers(TestCluster cluster)
    {
        foreach (var node in cluster.Running)
        {
            int id = node.NodeId;
            node.SetLeaderRequestHandler((request, _) =>
                Task.FromResult(Encoding.UTF8.GetBytes($"node {id} got: " + Encoding.UTF8.GetString(request.Span))));
        }
    }
}
