using Tributary.Protocol.Records;
using Tributary.Storage.Tests.ProducerState;

namespace Tributary.Storage.Tests.Replication;

public sealed class FollowerLogTests
{
    private static readonly LogConfig SmallSegments = LogConfig.Default with { SegmentBytes = 400 };

    [Fact]
    public void AppendAsFollower_copies_the_leaders_batches_byte_for_byte_with_their_offsets_and_epochs()
    {
        using var leaderDir = new TempDirectory();
        using var followerDir = new TempDirectory();
        PartitionLog leader = Logs.Open(leaderDir.Path, SmallSegments);
        PartitionLog follower = Logs.Open(followerDir.Path, SmallSegments);
        foreach (int epoch in new[] { 0, 0, 3, 3, 5, 5, 5 })
        {
            Replicas.AppendInEpoch(leader, epoch, count: 3);
        }

        leader.AppendAsLeader(Batches.Create(2), 2, partitionLeaderEpoch: 5, Batches.T0 + 50, logAppendTime: true);

        Replicas.CatchUp(leader, follower);

        Assert.Equal(leader.LogEndOffset, follower.LogEndOffset);
        Assert.Equal(Replicas.ReadAllBytes(leader), Replicas.ReadAllBytes(follower));
        Assert.Equal("0@0 3@6 5@12", Replicas.Describe(follower.LeaderEpochEntries));
        Assert.Equal(leader.LeaderEpochEntries, follower.LeaderEpochEntries);
        leader.Close();
        follower.Close();
    }

    [Fact]
    public void A_followers_producer_state_equals_the_leaders_and_dedupes_retries_once_it_leads()
    {
        const long ProducerA = 1000;
        const long ProducerB = 2000;
        using var leaderDir = new TempDirectory();
        using var followerDir = new TempDirectory();
        PartitionLog leader = Logs.Open(leaderDir.Path, SmallSegments);
        PartitionLog follower = Logs.Open(followerDir.Path, SmallSegments);
        for (int i = 0; i < 4; i++)
        {
            IdempotentBatches.AppendNew(leader, ProducerA, 0, i * 2);
            IdempotentBatches.AppendNew(leader, ProducerB, 7, i * 2);
            Batches.Append(leader);
        }

        Replicas.CatchUp(leader, follower);

        Assert.Equal(Replicas.DescribeProducers(leader), Replicas.DescribeProducers(follower));
        // The follower is elected: the producer retries its last batch, which must not be written twice.
        long end = follower.LogEndOffset;
        LogAppendInfo retry = IdempotentBatches.Append(follower, ProducerA, 0, 6, out ProducerAppendResult result);
        Assert.Equal(ProducerAppendStatus.Duplicate, result.Status);
        Assert.Equal(leader.FindProducer(ProducerA)!.Batches[^1].FirstOffset, retry.FirstOffset);
        Assert.Equal(end, follower.LogEndOffset);
        leader.Close();
        follower.Close();
    }

    [Fact]
    public void Truncating_the_divergent_suffix_and_appending_the_new_leaders_makes_the_logs_byte_identical()
    {
        const long Producer = 77;
        using var leaderDir = new TempDirectory();
        using var followerDir = new TempDirectory();
        PartitionLog leader = Logs.Open(leaderDir.Path, SmallSegments);
        PartitionLog follower = Logs.Open(followerDir.Path, SmallSegments);
        for (int i = 0; i < 3; i++)
        {
            IdempotentBatches.AppendNew(leader, Producer, 0, i * 2);
        }

        Replicas.CatchUp(leader, follower);
        // The follower led epoch 1 and wrote batches nobody else got; meanwhile the other replica became leader of epoch 2.
        for (int i = 3; i < 6; i++)
        {
            follower.AppendAsLeader(IdempotentBatches.Create(Producer, 0, i * 2), 2, partitionLeaderEpoch: 1, Batches.T0, false);
        }

        leader.AssignLeaderEpochStartOffset(2, leader.LogEndOffset);
        for (int i = 0; i < 4; i++)
        {
            Replicas.AppendInEpoch(leader, 2, count: 3, timestamp: Batches.T0 + 100);
        }

        // Kafka's follower: ask the leader where the follower's latest epoch ends there, truncate to it (KIP-101/KIP-279).
        (int epoch, long endOffset) = leader.EndOffsetForEpoch(follower.LatestEpoch);
        Assert.Equal((0, 6L), (epoch, endOffset));
        follower.TruncateTo(Math.Min(endOffset, follower.LogEndOffset));
        Replicas.CatchUp(leader, follower);

        Assert.Equal(Replicas.ReadAllBytes(leader), Replicas.ReadAllBytes(follower));
        Assert.Equal("0@0 2@6", Replicas.Describe(follower.LeaderEpochEntries));
        Assert.Equal(Replicas.DescribeProducers(leader), Replicas.DescribeProducers(follower));
        Assert.Equal(5, follower.FindProducer(Producer)!.LastSequence);
        leader.Close();
        follower.Close();
    }

    [Fact]
    public void Truncating_to_the_log_end_drops_an_epoch_that_a_replica_led_without_appending()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, SmallSegments);
        Replicas.AppendInEpoch(log, 0, count: 5);
        // Elected for epoch 1 at offset 5, then replaced before any append: epoch 1 starts at the log end and holds nothing.
        log.AssignLeaderEpochStartOffset(1, log.LogEndOffset);

        // Following the new leader, whose epoch 0 ends at 5 too: the truncation point is this log's own end.
        log.TruncateTo(5);

        Assert.Equal(5, log.LogEndOffset);
        Assert.Equal("0@0", Replicas.Describe(log.LeaderEpochEntries));
        Assert.Equal(0, log.LatestEpoch);
        log.Close();
        PartitionLog reopened = Logs.Open(dir.Path, SmallSegments);
        Assert.Equal("0@0", Replicas.Describe(reopened.LeaderEpochEntries));
        reopened.Close();
    }

    [Fact]
    public void TruncateTo_rebuilds_the_producer_state_that_a_reopen_would_load()
    {
        const long Producer = 5;
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, SmallSegments);
        for (int i = 0; i < 10; i++)
        {
            IdempotentBatches.AppendNew(log, Producer, 0, i * 2);
        }

        log.TruncateTo(11);
        string afterTruncation = Replicas.DescribeProducers(log);
        log.Close();
        PartitionLog reopened = Logs.Open(dir.Path, SmallSegments, recoveryPoint: 0, clean: false);

        Assert.Equal(10, reopened.LogEndOffset);
        Assert.Equal(9, reopened.FindProducer(Producer)!.LastSequence);
        Assert.Equal(afterTruncation, Replicas.DescribeProducers(reopened));
        reopened.Close();
    }

    [Fact]
    public void TruncateFullyAndStartAt_empties_the_log_and_restarts_every_offset_at_the_given_one()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, SmallSegments);
        for (int i = 0; i < 10; i++)
        {
            IdempotentBatches.AppendNew(log, 9, 0, i * 2);
        }

        log.AssignLeaderEpochStartOffset(4, log.LogEndOffset);
        log.UpdateHighWatermark(log.LogEndOffset);

        log.TruncateFullyAndStartAt(1000);

        Assert.Equal((1000L, 1000L, 1000L), (log.LogStartOffset, log.LogEndOffset, log.HighWatermark));
        Assert.Equal([1000L], log.Segments.Select(segment => segment.BaseOffset));
        Assert.Equal(-1, log.LatestEpoch);
        Assert.Equal(0, log.ProducerCount);
        Assert.Equal(["00000000000000001000.log"], Directory.GetFiles(dir.Path, "*.log").Select(Path.GetFileName));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.snapshot"));
        Assert.Equal(LogReadError.OffsetOutOfRange, log.Read(0, 100, long.MaxValue, true).Error);

        byte[] fromLeader = Batches.Create(3);
        RecordBatchRewriter.AssignOffsets(fromLeader, 1000);
        RecordBatchRewriter.SetPartitionLeaderEpoch(fromLeader, 6);
        RecordBatchRewriter.WriteCrc(fromLeader);
        log.AppendAsFollower(fromLeader);
        Assert.Equal("6@1000", Replicas.Describe(log.LeaderEpochEntries));
        log.Close();

        PartitionLog reopened = Logs.Open(dir.Path, SmallSegments, clean: true);
        Assert.Equal((1000L, 1003L), (reopened.LogStartOffset, reopened.LogEndOffset));
        Assert.Equal("6@1000", Replicas.Describe(reopened.LeaderEpochEntries));
        reopened.Close();
    }

    [Fact]
    public void TruncateFullyAndStartAt_may_restart_the_log_below_its_old_start()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, SmallSegments);
        log.TruncateFullyAndStartAt(500);
        Replicas.AppendInEpoch(log, 1, count: 5);

        log.TruncateFullyAndStartAt(20);

        Assert.Equal((20L, 20L), (log.LogStartOffset, log.LogEndOffset));
        Assert.Equal(20, Replicas.AppendInEpoch(log, 2).FirstOffset);
        Assert.Equal("2@20", Replicas.Describe(log.LeaderEpochEntries));
        log.Close();
    }
}
