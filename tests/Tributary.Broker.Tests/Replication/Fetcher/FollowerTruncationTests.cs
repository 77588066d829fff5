using Tributary.Broker.Replication.Fetcher;
using Tributary.Protocol;
using Tributary.Protocol.Records;

namespace Tributary.Broker.Tests.Replication.Fetcher;

public sealed class FollowerTruncationTests
{
    [Fact]
    public void Diverging_epoch_known_locally_truncates_to_the_smaller_of_both_ends_of_that_epoch()
    {
        Assert.Equal(7, FollowerTruncation.ForDivergingEpoch(localLogEndOffset: 12, localEndForEpoch: (3, 9), divergingEpoch: 3, divergingEndOffset: 7));
        Assert.Equal(9, FollowerTruncation.ForDivergingEpoch(localLogEndOffset: 12, localEndForEpoch: (3, 9), divergingEpoch: 3, divergingEndOffset: 11));
    }

    [Fact]
    public void Diverging_epoch_unknown_locally_truncates_to_the_end_of_the_largest_smaller_local_epoch()
    {
        Assert.Equal(5, FollowerTruncation.ForDivergingEpoch(localLogEndOffset: 12, localEndForEpoch: (1, 5), divergingEpoch: 2, divergingEndOffset: 8));
    }

    [Fact]
    public void Diverging_epoch_older_than_every_local_epoch_truncates_to_the_leader_end()
    {
        Assert.Equal(4, FollowerTruncation.ForDivergingEpoch(localLogEndOffset: 12, localEndForEpoch: (-1, -1), divergingEpoch: 0, divergingEndOffset: 4));
    }

    [Fact]
    public void Diverging_epoch_truncation_never_goes_beyond_the_local_log_end()
    {
        Assert.Equal(6, FollowerTruncation.ForDivergingEpoch(localLogEndOffset: 6, localEndForEpoch: (-1, -1), divergingEpoch: 0, divergingEndOffset: 40));
        Assert.Equal(6, FollowerTruncation.ForDivergingEpoch(localLogEndOffset: 6, localEndForEpoch: (2, 6), divergingEpoch: 2, divergingEndOffset: 40));
    }

    [Fact]
    public void Diverging_epoch_over_a_real_log_finds_the_epoch_boundary_and_truncation_leaves_the_earlier_epoch()
    {
        using var follower = new PartitionLogFollowerForTests("diverge", Uuid.NewRandom(), leaderEpoch: 4);
        follower.AppendBatch(epoch: 1, records: 5);
        follower.AppendBatch(epoch: 3, records: 5);

        var offset = FollowerTruncation.ForDivergingEpoch(follower, divergingEpoch: 2, divergingEndOffset: 8);
        follower.TruncateTo(offset);

        Assert.Equal(5, offset);
        Assert.Equal((5L, 1), (follower.LogEndOffset, follower.LatestEpoch));
    }

    [Fact]
    public void Out_of_range_with_the_leader_behind_us_truncates_to_the_leader_end()
    {
        Assert.Equal(new OutOfRangeResolution(OutOfRangeAction.TruncateTo, 5),
            FollowerTruncation.ForOutOfRange(localLogEndOffset: 10, leaderLogStartOffset: 0, leaderLogEndOffset: 5));
    }

    [Fact]
    public void Out_of_range_with_the_leader_start_past_our_end_restarts_the_log_at_the_leader_start()
    {
        Assert.Equal(new OutOfRangeResolution(OutOfRangeAction.TruncateFullyAndStartAt, 50),
            FollowerTruncation.ForOutOfRange(localLogEndOffset: 10, leaderLogStartOffset: 50, leaderLogEndOffset: 80));
    }

    [Fact]
    public void Out_of_range_that_no_longer_holds_refetches_from_our_end()
    {
        Assert.Equal(new OutOfRangeResolution(OutOfRangeAction.Refetch, 10),
            FollowerTruncation.ForOutOfRange(localLogEndOffset: 10, leaderLogStartOffset: 5, leaderLogEndOffset: 80));
    }

    [Fact]
    public void A_partial_trailing_batch_is_left_out_of_the_append()
    {
        var first = Batch(0, 3);
        var second = Batch(3, 2);
        var cut = first.Concat(second.Take(second.Length - 7)).ToArray();

        Assert.Equal(first.Length, FollowerTruncation.WholeBatchesLength(cut));
        Assert.Equal(first.Length + second.Length, FollowerTruncation.WholeBatchesLength(first.Concat(second).ToArray()));
        Assert.Equal(0, FollowerTruncation.WholeBatchesLength(first.AsSpan(0, 20)));
    }

    private static byte[] Batch(long baseOffset, int records)
    {
        var builder = new RecordBatchBuilder { BaseOffset = baseOffset };
        for (var i = 0; i < records; i++)
        {
            builder.Append(1, null, [(byte)i]);
        }

        return builder.Build();
    }
}
