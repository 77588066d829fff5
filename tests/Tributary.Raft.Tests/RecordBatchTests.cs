using System.Collections.Concurrent;
using Tributary.Protocol;
using Tributary.Raft;
using Tributary.Raft.Log;

namespace Tributary.Raft.Tests;

public sealed class RecordBatchTests
{
    private static string[] TopicWithPartitions() =>
    [
        "orders",
        "orders-0 on 1,2,3",
        "orders-1 on 2,3,1",
        "orders-2 on 3,1,2",
    ];

    [Fact]
    public async Task A_batch_commits_at_one_offset_and_is_read_back_as_one_batch_on_every_voter()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        var records = TopicWithPartitions();

        var result = await leader.TryAppendAsync(records, leader.Epoch, CancellationToken.None);

        Assert.Equal(ErrorCode.None, result.Error);
        foreach (var node in cluster.Running)
        {
            var batches = await TestCluster.ReadBatchesUntilAsync(node, result.Offset);
            var batch = Assert.Single(batches, b => b.Offset == result.Offset);
            Assert.Equal(leader.Epoch, batch.Epoch);
            Assert.Equal(TestCluster.Encodings(records), TestCluster.Encodings(batch.Records));
        }
    }

    [Fact]
    public async Task An_append_for_another_epoch_is_refused_with_NOT_CONTROLLER_and_appends_nothing()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        long before = (await leader.TryAppendAsync([TestCluster.Topic(1)], leader.Epoch, CancellationToken.None)).Offset;

        var refused = await leader.TryAppendAsync(TopicWithPartitions(), leader.Epoch - 1, CancellationToken.None);
        var next = await leader.TryAppendAsync([TestCluster.Topic(2)], -1, CancellationToken.None);

        Assert.Equal(ErrorCode.NotController, refused.Error);
        Assert.Equal(leader.NodeId, refused.LeaderId);
        Assert.Equal(before + 1, next.Offset);
        var batches = await TestCluster.ReadBatchesUntilAsync(leader, next.Offset);
        Assert.DoesNotContain(batches, b => b.Records.Any(r => r == "orders"));
    }

    [Fact]
    public async Task The_epoch_start_entry_is_read_as_a_batch_without_records()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        long offset = await cluster.AppendAsync(TestCluster.Topic(1));

        var batches = await TestCluster.ReadBatchesUntilAsync(leader, offset);

        var epochStart = Assert.Single(batches, b => b.Records.Count == 0 && b.Epoch == leader.Epoch);
        Assert.True(epochStart.Offset < offset);
        Assert.Equal(Enumerable.Range(0, (int)offset + 1).Select(i => (long)i), batches.Select(b => b.Offset));
    }

    [Fact]
    public async Task The_leader_is_ready_once_its_epoch_start_entry_commits()
    {
        await using var cluster = new TestCluster();
        var ready = new ConcurrentDictionary<int, long>();
        foreach (var node in cluster.Running)
        {
            int id = node.NodeId;
            node.LeaderReady += offset => ready[id] = offset;
        }

        var leader = await cluster.WaitForLeaderAsync();
        await TestCluster.WaitUntilAsync(() => leader.LeaderReadyOffset >= 0);

        var batches = await TestCluster.ReadBatchesUntilAsync(leader, leader.LeaderReadyOffset);
        var last = batches[^1];
        Assert.Empty(last.Records);
        Assert.Equal(leader.Epoch, last.Epoch);
        await TestCluster.WaitUntilAsync(() => ready.ContainsKey(leader.NodeId));
        Assert.Equal(leader.LeaderReadyOffset, ready[leader.NodeId]);
        Assert.All(cluster.Running.Where(n => n != leader), n => Assert.Equal(-1, n.LeaderReadyOffset));
    }

    [Fact]
    public async Task A_new_leader_becomes_ready_at_its_own_epoch_start_after_the_old_one_is_killed()
    {
        await using var cluster = new TestCluster();
        var oldLeader = await cluster.WaitForLeaderAsync();
        await cluster.AppendAsync(TestCluster.Topic(1));

        await cluster.StopAsync(oldLeader.NodeId);
        var newLeader = await cluster.WaitForLeaderAsync();
        await TestCluster.WaitUntilAsync(() => newLeader.LeaderReadyOffset >= 0);

        var batches = await TestCluster.ReadBatchesUntilAsync(newLeader, newLeader.LeaderReadyOffset);
        Assert.Contains(batches, b => b.Records.SequenceEqual([TestCluster.Topic(1)]));
        Assert.Equal(newLeader.Epoch, batches[^1].Epoch);
    }

    [Fact]
    public async Task A_batch_beyond_the_entry_bounds_is_refused_with_MESSAGE_TOO_LARGE()
    {
        await using var cluster = new TestCluster();
        var leader = await cluster.WaitForLeaderAsync();
        var tooMany = Enumerable.Range(0, 10_001).Select(i => "fence-" + i).ToArray();
        var tooBig = Enumerable.Range(0, 40).Select(i => "big-" + i + new string('x', 30_000)).ToArray();

        var many = await leader.TryAppendAsync(tooMany, -1, CancellationToken.None);
        var big = await leader.TryAppendAsync(tooBig, -1, CancellationToken.None);

        Assert.Equal(ErrorCode.MessageTooLarge, many.Error);
        Assert.Equal(ErrorCode.MessageTooLarge, big.Error);
    }

    [Fact]
    public void The_batch_codec_round_trips_and_rejects_an_unknown_format()
    {
        var records = TopicWithPartitions();
        byte[] payload = RaftBatchCodec.Encode(records, StringSerde.Instance);

        Assert.Equal(TestCluster.Encodings(records), TestCluster.Encodings(RaftBatchCodec.Decode(payload, 10, StringSerde.Instance)));
        Assert.Throws<MalformedMessageException>(() => RaftBatchCodec.Decode(payload, 3, StringSerde.Instance));
        payload[0] = 1;
        Assert.Throws<MalformedMessageException>(() => RaftBatchCodec.Decode(payload, 10, StringSerde.Instance));
    }
}
