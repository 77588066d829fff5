using Tributary.Raft.Log;

namespace Tributary.Raft.Tests;

/// <summary>Snapshots (KIP-630's idea) across real voters on loopback with their data directories: the log is cut below a
/// snapshot, a restart starts from the snapshot plus the tail, and nodes behind the log start are sent the snapshot.</summary>
public sealed class SnapshotTests
{
    [Fact]
    public async Task A_snapshot_cuts_the_log_and_restarted_voters_start_from_it_plus_the_tail()
    {
        await using var cluster = new TestCluster();
        await cluster.WaitForLeaderAsync();
        long snapshotOffset = await AppendTopicsAsync(cluster, 0, 10);
        await TestCluster.WaitUntilAsync(() => cluster.Running.All(n => n.CommittedOffset >= snapshotOffset));
        var state = Enumerable.Range(0, 10).Select(TestCluster.Topic).ToList();
        foreach (var node in cluster.Running)
        {
            await node.WriteSnapshotAsync(snapshotOffset, ["state:" + string.Join(',', state)], CancellationToken.None);
        }

        long tailOffset = await AppendTopicsAsync(cluster, 10, 13);
        foreach (var node in cluster.Running)
        {
            Assert.Equal(snapshotOffset, node.LatestSnapshotOffset);
            Assert.Equal(snapshotOffset + 1, node.LogStartOffset);
            Assert.Equal([RaftLog.FileNameFor(snapshotOffset + 2)], LogFiles(cluster.DataDirectory(node.NodeId)));
        }

        foreach (var voter in cluster.Voters)
        {
            await cluster.StopAsync(voter.Id);
        }

        foreach (var voter in cluster.Voters)
        {
            cluster.Start(voter.Id);
        }

        await cluster.WaitForLeaderAsync();
        foreach (var node in cluster.Running)
        {
            var batches = await TestCluster.ReadBatchesUntilAsync(node, tailOffset);
            Assert.True(batches[0].IsSnapshot);
            Assert.Equal(snapshotOffset, batches[0].Offset);
            Assert.Equal(["state:" + string.Join(',', state)], batches[0].Records);
            Assert.Equal([TestCluster.Topic(10), TestCluster.Topic(11), TestCluster.Topic(12)], batches.Skip(1).SelectMany(b => b.Records));
            Assert.Equal(Enumerable.Range(1, batches.Count - 1).Select(i => snapshotOffset + i), batches.Skip(1).Select(b => b.Offset));
        }
    }

    [Fact]
    public async Task A_reader_from_an_offset_still_in_the_log_gets_no_snapshot()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        long snapshotOffset = await AppendTopicsAsync(cluster, 0, 3);
        await TestCluster.WaitUntilAsync(() => leader.CommittedOffset >= snapshotOffset);
        await leader.WriteSnapshotAsync(snapshotOffset, ["state"], CancellationToken.None);
        long last = await AppendTopicsAsync(cluster, 3, 5);

        var batches = new List<CommittedBatch<string>>();
        using var timeout = new CancellationTokenSource(TestCluster.WaitLimit);
        await foreach (var batch in leader.ReadCommittedBatchesAsync(snapshotOffset + 1, timeout.Token))
        {
            batches.Add(batch);
            if (batch.Offset >= last)
            {
                break;
            }
        }

        Assert.DoesNotContain(batches, b => b.IsSnapshot);
        Assert.Equal([TestCluster.Topic(3), TestCluster.Topic(4)], batches.SelectMany(b => b.Records));
    }

    [Fact]
    public async Task Only_the_two_newest_snapshot_files_are_kept()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        var offsets = new List<long>();
        for (int i = 0; i < 4; i++)
        {
            long offset = await AppendTopicsAsync(cluster, i, i + 1);
            // The append goes to whoever leads now; on a loaded machine that may no longer be `leader`, which then
            // learns the commit as a follower a little later.
            await TestCluster.WaitUntilAsync(() => leader.CommittedOffset >= offset);
            await leader.WriteSnapshotAsync(offset, ["state-" + i], CancellationToken.None);
            offsets.Add(offset);
        }

        // File names are <end offset>-<epoch of the last included entry>; the epoch depends on elections, the ends do not.
        var files = Directory.GetFiles(Path.Combine(cluster.DataDirectory(leader.NodeId), "snapshots")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(offsets.Skip(2).Select(o => SnapshotStore.FileNameFor(o + 1, 0)[..20]), files.Select(f => f![..20]));
        Assert.All(files, f => Assert.EndsWith(SnapshotStore.FileNameFor(0, 0)[31..], f));
    }

    [Fact]
    public async Task A_snapshot_of_an_offset_not_yet_committed_is_refused()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        long committed = await AppendTopicsAsync(cluster, 0, 1);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => leader.WriteSnapshotAsync(committed + 5, ["state"], CancellationToken.None));
        Assert.Equal(-1, leader.LatestSnapshotOffset);
    }

    [Fact]
    public async Task A_lagging_follower_catches_up_through_the_leaders_snapshot_in_chunks()
    {
        await using var cluster = new TestCluster(snapshotChunkBytes: 100);
        var leader = await cluster.WaitForLeaderAsync();
        int laggingId = cluster.Running.First(n => !n.IsLeader).NodeId;
        await cluster.StopAsync(laggingId);
        long snapshotOffset = await AppendTopicsAsync(cluster, 0, 20);
        string state = "state:" + new string('s', 1_000); // ten chunks and more
        await TestCluster.WaitUntilAsync(() => cluster.Running.All(n => n.CommittedOffset >= snapshotOffset));
        foreach (var node in cluster.Running)
        {
            await node.WriteSnapshotAsync(snapshotOffset, [state, "second record"], CancellationToken.None);
        }

        long tailOffset = await AppendTopicsAsync(cluster, 20, 22);

        var lagging = cluster.Start(laggingId);
        var batches = await TestCluster.ReadBatchesUntilAsync(lagging, tailOffset);

        Assert.True(batches[0].IsSnapshot);
        Assert.Equal(snapshotOffset, batches[0].Offset);
        Assert.Equal([state, "second record"], batches[0].Records);
        Assert.Equal([TestCluster.Topic(20), TestCluster.Topic(21)], batches.Skip(1).SelectMany(b => b.Records));
        Assert.Equal(snapshotOffset, lagging.LatestSnapshotOffset);
        Assert.Equal(snapshotOffset + 1, lagging.LogStartOffset);
    }

    [Fact]
    public async Task A_new_observer_catches_up_through_FetchSnapshot_and_keeps_following()
    {
        await using var cluster = new TestCluster(snapshotChunkBytes: 64);
        await cluster.WaitForLeaderAsync();
        long snapshotOffset = await AppendTopicsAsync(cluster, 0, 5);
        // Every voter snapshots (each once it has learned the commit): whichever leads when the observer asks has cut
        // its log below the snapshot (leadership may move on a loaded machine: with only the first leader snapshotting, 2 runs in 8 here served the observer from offset 0).
        foreach (var voter in cluster.Running)
        {
            await TestCluster.WaitUntilAsync(() => voter.CommittedOffset >= snapshotOffset);
            await voter.WriteSnapshotAsync(snapshotOffset, ["observer state " + new string('o', 300)], CancellationToken.None);
        }

        await AppendTopicsAsync(cluster, 5, 6);

        var observer = cluster.StartObserver(10);
        long later = await AppendTopicsAsync(cluster, 6, 7);
        var batches = await TestCluster.ReadBatchesUntilAsync(observer, later);

        Assert.True(batches[0].IsSnapshot);
        Assert.Equal(snapshotOffset, batches[0].Offset);
        Assert.Equal(["observer state " + new string('o', 300)], batches[0].Records);
        Assert.Equal([TestCluster.Topic(5), TestCluster.Topic(6)], batches.Skip(1).SelectMany(b => b.Records));
        Assert.Equal(snapshotOffset, observer.LatestSnapshotOffset);
    }

    [Fact]
    public async Task A_restarted_observer_starts_from_its_stored_snapshot()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        long snapshotOffset = await AppendTopicsAsync(cluster, 0, 3);
        await TestCluster.WaitUntilAsync(() => leader.CommittedOffset >= snapshotOffset);
        await leader.WriteSnapshotAsync(snapshotOffset, ["leader state"], CancellationToken.None);
        var observer = cluster.StartObserver(10);
        long offset = await AppendTopicsAsync(cluster, 3, 4);
        await TestCluster.WaitUntilAsync(() => observer.CommittedOffset >= offset);
        await observer.WriteSnapshotAsync(offset, ["observer state"], CancellationToken.None);

        await cluster.StopObserverAsync(observer);
        var restarted = cluster.StartObserver(10);

        Assert.Equal(offset, restarted.LatestSnapshotOffset);
        var batches = await TestCluster.ReadBatchesUntilAsync(restarted, offset);
        var snapshot = Assert.Single(batches);
        Assert.True(snapshot.IsSnapshot);
        Assert.Equal(["observer state"], snapshot.Records);
    }

    private static List<string> LogFiles(string directory) =>
        Directory.GetFiles(directory).Select(Path.GetFileName).Where(n => RaftLog.StartIndexOf(n!) is not null).Select(n => n!).ToList();

    /// <summary>Appends topics [from, to) one by one; returns the last committed offset.</summary>
    private static async Task<long> AppendTopicsAsync(TestCluster cluster, int from, int to)
    {
        long offset = -1;
        for (int i = from; i < to; i++)
        {
            offset = await cluster.AppendAsync(TestCluster.Topic(i));
        }

        return offset;
    }
}
