using System.Collections.Concurrent;
using Tributary.Protocol;
using Tributary.Raft;

namespace Tributary.Raft.Tests;

public sealed class ObserverTests
{
    [Fact]
    public async Task An_observer_reads_the_same_committed_batches_as_the_voters()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        var observer = cluster.StartObserver(10);
        long last = 0;
        for (int i = 0; i < 5; i++)
        {
            var result = await leader.TryAppendAsync([TestCluster.Topic(i), "fence-" + i], -1, CancellationToken.None);
            last = result.Offset;
        }

        var expected = await TestCluster.ReadBatchesUntilAsync(leader, last);
        var fromObserver = await TestCluster.ReadBatchesUntilAsync(observer, last);
        var fromFollower = await TestCluster.ReadBatchesUntilAsync(cluster.Running.First(n => !n.IsLeader), last);

        TestCluster.AssertSameBatches(expected, fromObserver);
        TestCluster.AssertSameBatches(expected, fromFollower);
        Assert.True(observer.IsObserver);
        Assert.False(observer.IsLeader);
        Assert.Equal(-1, observer.LeaderReadyOffset);
        Assert.Equal(ErrorCode.NotController, (await observer.TryAppendAsync(TestCluster.Topic(99), CancellationToken.None)).Error);
    }

    [Fact]
    public async Task An_observer_follows_leader_changes_and_keeps_reading()
    {
        await using var cluster = new TestCluster();
        var oldLeader = await cluster.WaitForLeaderAsync();
        var observer = cluster.StartObserver(10);
        var seen = new ConcurrentQueue<QuorumLeadership>();
        observer.LeadershipChanged += seen.Enqueue;
        // On a loaded machine the voters may elect again before the observer first hears from a leader: wait until the
        // observer and the voters agree, re-reading the voters' leader, rather than on the first leader seen.
        var deadline = DateTime.UtcNow + TestCluster.WaitLimit;
        while (observer.LeaderId != oldLeader.NodeId)
        {
            Assert.True(DateTime.UtcNow < deadline,
                $"the observer follows leader {observer.LeaderId}, the voters agree on {oldLeader.NodeId}, after {TestCluster.WaitLimit}");
            await Task.Delay(10);
            oldLeader = await cluster.WaitForLeaderAsync();
        }

        await cluster.AppendAsync(TestCluster.Topic(1));

        await cluster.StopAsync(oldLeader.NodeId);
        var newLeader = await cluster.WaitForLeaderAsync();
        long offset = await cluster.AppendAsync(TestCluster.Topic(2));

        await TestCluster.WaitUntilAsync(() => observer.Leadership == newLeader.Leadership);
        var batches = await TestCluster.ReadBatchesUntilAsync(observer, offset);
        Assert.Equal([TestCluster.Topic(1), TestCluster.Topic(2)], batches.SelectMany(b => b.Records));
        await TestCluster.WaitUntilAsync(() => seen.Contains(newLeader.Leadership));
    }

    [Fact]
    public async Task An_observer_keeps_the_last_known_leader_until_it_learns_a_newer_epoch()
    {
        await using var cluster = new TestCluster();
        var oldLeader = await cluster.WaitForLeaderAsync();
        var observer = cluster.StartObserver(10);
        var deadline = DateTime.UtcNow + TestCluster.WaitLimit;
        while (observer.Leadership != oldLeader.Leadership)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the observer knows {observer.Leadership}, the voters agree on {oldLeader.Leadership}");
            await Task.Delay(10);
            oldLeader = await cluster.WaitForLeaderAsync();
        }

        var seen = new ConcurrentQueue<QuorumLeadership>();
        observer.LeadershipChanged += seen.Enqueue;

        await cluster.StopAsync(oldLeader.NodeId);
        var newLeader = await cluster.WaitForLeaderAsync();
        await TestCluster.WaitUntilAsync(() => seen.Contains(newLeader.Leadership));

        // Only forward: a newer epoch (its leader may still be unknown), or the leader of an epoch that had none. The
        // notifier delivers off the lock, so the known leadership itself may arrive once more just after subscribing.
        var changes = seen.Prepend(oldLeader.Leadership).ToList();
        for (int i = 1; i < changes.Count; i++)
        {
            var (before, after) = (changes[i - 1], changes[i]);
            Assert.True((i == 1 && after == before) || after.Epoch > before.Epoch || (after.Epoch == before.Epoch && before.LeaderId < 0 && after.LeaderId >= 0),
                $"the observer went from {before} to {after}: {string.Join(" -> ", changes)}");
        }
    }

    [Fact]
    public async Task A_restarted_observer_reads_the_log_again_from_offset_zero()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        var observer = cluster.StartObserver(10);
        long offset = await cluster.AppendAsync(TestCluster.Topic(1));
        var before = await TestCluster.ReadBatchesUntilAsync(observer, offset);

        await cluster.StopObserverAsync(observer);
        var restarted = cluster.StartObserver(10);
        var after = await TestCluster.ReadBatchesUntilAsync(restarted, offset);

        Assert.Equal(0, after[0].Offset);
        TestCluster.AssertSameBatches(before, after);
    }

    [Fact]
    public async Task An_observer_never_sees_what_a_leader_cut_off_in_a_minority_appends()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        var observer = cluster.StartObserver(10);
        long committed = await cluster.AppendAsync(TestCluster.Topic(1));
        await TestCluster.WaitUntilAsync(() => observer.CommittedOffset >= committed);
        foreach (var follower in cluster.Running.Where(n => !n.IsLeader).ToList())
        {
            await cluster.StopAsync(follower.NodeId);
        }

        var uncommitted = leader.TryAppendAsync([TestCluster.Topic(2)], -1, CancellationToken.None);
        await Task.Delay(TestCluster.ElectionTimeout * 2);

        Assert.Equal(committed, observer.CommittedOffset);
        Assert.Equal(ErrorCode.NotController, (await uncommitted.WaitAsync(TestCluster.WaitLimit)).Error);
        using var shortWait = new CancellationTokenSource(TestCluster.HeartbeatInterval * 4);
        var read = new List<string>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var batch in observer.ReadCommittedBatchesAsync(0, shortWait.Token))
            {
                read.AddRange(batch.Records);
            }
        });
        Assert.DoesNotContain(TestCluster.Topic(2), read);
    }
}
