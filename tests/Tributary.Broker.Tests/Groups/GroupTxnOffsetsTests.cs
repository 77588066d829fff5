using Tributary.Broker.Groups;
using Tributary.Protocol;
using static Tributary.Broker.Tests.Groups.CoordinatorFixture;

namespace Tributary.Broker.Tests.Groups;

/// <summary>
/// Transactional offset commits (TxnOffsetCommit, KIP-98/KIP-447) in the group coordinator, over the in-memory offsets log:
/// pending until the transaction's marker, materialised by COMMIT, dropped by ABORT, rebuilt when the partition is loaded again.
/// </summary>
public class GroupTxnOffsetsTests
{
    private const long ProducerA = 700;
    private const long ProducerB = 701;

    private static TxnOffsetCommitCall TxnCommit(long producerId, params OffsetCommitEntry[] offsets) =>
        new(Group, producerId, 0, -1, "", null, offsets);

    private static IReadOnlyList<ErrorCode> Commit(CoordinatorFixture f, TxnOffsetCommitCall call) =>
        Completed(f.Coordinator.CommitTransactionalOffsetsAsync(call));

    private static void Marker(CoordinatorFixture f, long producerId, bool commit)
    {
        f.Log.WriteMarker(PartitionOf(Group), producerId, commit);
        f.Coordinator.CompleteTransaction(PartitionOf(Group), producerId, commit);
    }

    private static FetchedOffset Fetch(CoordinatorFixture f, int partition, bool requireStable = false) =>
        f.Coordinator.FetchOffsets(Group, [("t", partition)], requireStable).Offsets[0];

    private static void Reload(CoordinatorFixture f)
    {
        f.Log.Resign(PartitionOf(Group));
        f.Log.Lead(PartitionOf(Group));
        Assert.True(f.Coordinator.WhenLoadedAsync().Wait(TimeSpan.FromSeconds(10)), "loading did not finish");
    }

    [Fact]
    public void Transactional_offsets_are_invisible_until_the_commit_marker_then_become_the_groups_offsets()
    {
        var f = new CoordinatorFixture();

        Assert.Equal([ErrorCode.None], Commit(f, TxnCommit(ProducerA, new OffsetCommitEntry("t", 0, 42, 3, "m"))));
        Assert.Equal(-1, Fetch(f, 0).Offset);
        Assert.Equal(ErrorCode.None, Fetch(f, 0).Error);

        Marker(f, ProducerA, commit: true);

        Assert.Equal(new FetchedOffset("t", 0, 42, 3, "m", ErrorCode.None), Fetch(f, 0, requireStable: true));
    }

    [Fact]
    public void Require_stable_fetch_answers_unstable_offset_commit_while_a_transactional_offset_is_pending()
    {
        var f = new CoordinatorFixture();
        Commit(f, TxnCommit(ProducerA, new OffsetCommitEntry("t", 0, 42, -1, null)));

        Assert.Equal(ErrorCode.UnstableOffsetCommit, Fetch(f, 0, requireStable: true).Error);
        Assert.Equal(ErrorCode.None, Fetch(f, 1, requireStable: true).Error);
        Assert.Contains(f.Coordinator.FetchOffsets(Group, null, requireStable: true).Offsets,
            o => o is { Topic: "t", Partition: 0, Error: ErrorCode.UnstableOffsetCommit });
    }

    [Fact]
    public void An_abort_marker_drops_the_pending_offsets_and_keeps_the_committed_one()
    {
        var f = new CoordinatorFixture();
        f.Commit(new OffsetCommitCall(Group, -1, "", null, [new OffsetCommitEntry("t", 0, 10, -1, null)]));
        Commit(f, TxnCommit(ProducerA, new OffsetCommitEntry("t", 0, 42, -1, null)));

        Marker(f, ProducerA, commit: false);

        Assert.Equal(10, Fetch(f, 0, requireStable: true).Offset);
        Assert.Equal(ErrorCode.None, Fetch(f, 0, requireStable: true).Error);
    }

    [Fact]
    public void A_later_ordinary_commit_is_not_overwritten_by_an_older_transactions_commit()
    {
        var f = new CoordinatorFixture();
        Commit(f, TxnCommit(ProducerA, new OffsetCommitEntry("t", 0, 42, -1, null)));
        f.Commit(new OffsetCommitCall(Group, -1, "", null, [new OffsetCommitEntry("t", 0, 50, -1, null)]));

        Marker(f, ProducerA, commit: true);

        Assert.Equal(50, Fetch(f, 0).Offset);
    }

    [Fact]
    public void Loading_the_partition_again_rebuilds_committed_and_still_pending_transactional_offsets_from_the_log()
    {
        var f = new CoordinatorFixture();
        Commit(f, TxnCommit(ProducerA, new OffsetCommitEntry("t", 0, 42, -1, null)));
        Commit(f, TxnCommit(ProducerB, new OffsetCommitEntry("t", 1, 7, -1, null)));
        Commit(f, TxnCommit(ProducerB, new OffsetCommitEntry("t", 2, 8, -1, null)));
        Marker(f, ProducerA, commit: true);

        Reload(f);

        Assert.Equal(42, Fetch(f, 0, requireStable: true).Offset);
        Assert.Equal(ErrorCode.UnstableOffsetCommit, Fetch(f, 1, requireStable: true).Error);
        Marker(f, ProducerB, commit: true);
        Assert.Equal(7, Fetch(f, 1, requireStable: true).Offset);
        Assert.Equal(8, Fetch(f, 2, requireStable: true).Offset);
    }

    [Fact]
    public void Loading_the_partition_again_drops_offsets_of_an_aborted_transaction()
    {
        var f = new CoordinatorFixture();
        Commit(f, TxnCommit(ProducerA, new OffsetCommitEntry("t", 0, 42, -1, null)));
        Marker(f, ProducerA, commit: false);

        Reload(f);

        Assert.Equal(new FetchedOffset("t", 0, -1, -1, "", ErrorCode.None), Fetch(f, 0, requireStable: true));
    }

    [Fact]
    public void A_transactional_commit_naming_an_unknown_member_or_an_old_generation_is_refused()
    {
        var f = new CoordinatorFixture();
        var joined = f.StableSingleMember();
        var entry = new OffsetCommitEntry("t", 0, 1, -1, null);

        Assert.Equal([ErrorCode.UnknownMemberId], Commit(f, new TxnOffsetCommitCall(Group, ProducerA, 0, joined.GenerationId, "ghost", null, [entry])));
        Assert.Equal([ErrorCode.IllegalGeneration],
            Commit(f, new TxnOffsetCommitCall(Group, ProducerA, 0, joined.GenerationId + 1, joined.MemberId, null, [entry])));
        Assert.Equal([ErrorCode.None], Commit(f, new TxnOffsetCommitCall(Group, ProducerA, 0, joined.GenerationId, joined.MemberId, null, [entry])));
    }

    [Fact]
    public void Offset_expiry_does_not_remove_a_group_with_pending_transactional_offsets()
    {
        var f = new CoordinatorFixture(new GroupCoordinatorOptions
        {
            InitialRebalanceDelayMs = 0,
            OffsetsRetentionMs = 60_000,
            OffsetsRetentionCheckIntervalMs = 1_000,
        });
        f.Commit(new OffsetCommitCall(Group, -1, "", null, [new OffsetCommitEntry("t", 0, 10, -1, null)]));
        f.Advance(30_000);
        Commit(f, TxnCommit(ProducerA, new OffsetCommitEntry("t", 1, 42, -1, null)));

        // The plain offset expires; the transaction's offset is still pending, so the group stays (Kafka's hasOffsets).
        f.Advance(31_000);
        Assert.Equal(-1, Fetch(f, 0).Offset);
        Assert.Contains(f.Coordinator.ListGroups(null).Groups, g => g.GroupId == Group);

        Marker(f, ProducerA, commit: true);
        Assert.Equal(42, Fetch(f, 1, requireStable: true).Offset);
    }
}
