using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Groups;
using Tributary.Protocol;
using static Tributary.Broker.Tests.Groups.CoordinatorFixture;

namespace Tributary.Broker.Tests.Groups;

public class GroupOffsetsTests
{
    private static OffsetCommitCall Simple(string group, params OffsetCommitEntry[] offsets) => new(group, -1, "", null, offsets);

    [Fact]
    public void Standalone_commit_to_an_unknown_group_is_stored_and_fetched_back_with_metadata_and_epoch()
    {
        var f = new CoordinatorFixture();

        var errors = f.Commit(Simple("s", new OffsetCommitEntry("t", 3, 40, 2, "note")));
        var (error, offsets) = f.Coordinator.FetchOffsets("s", [("t", 3), ("t", 4)]);

        Assert.Equal(ErrorCode.None, Assert.Single(errors));
        Assert.Equal(ErrorCode.None, error);
        Assert.Equal(new FetchedOffset("t", 3, 40, 2, "note", ErrorCode.None), offsets[0]);
        Assert.Equal(-1, offsets[1].Offset);
    }

    [Fact]
    public void Standalone_commit_to_a_group_with_members_is_unknown_member()
    {
        var f = new CoordinatorFixture();
        f.StableSingleMember();

        var errors = f.Commit(Simple(Group, new OffsetCommitEntry("t", 0, 1, -1, null)));

        Assert.Equal(ErrorCode.UnknownMemberId, Assert.Single(errors));
    }

    [Fact]
    public void Member_commit_with_an_old_generation_is_illegal_generation()
    {
        var f = new CoordinatorFixture();
        var joined = f.StableSingleMember();

        var errors = f.Commit(new OffsetCommitCall(Group, joined.GenerationId - 1, joined.MemberId, null,
            [new OffsetCommitEntry("t", 0, 1, -1, null)]));

        Assert.Equal(ErrorCode.IllegalGeneration, Assert.Single(errors));
    }

    [Fact]
    public void Member_commit_between_join_and_sync_is_rebalance_in_progress()
    {
        var f = new CoordinatorFixture();
        var joined = Completed(f.JoinNew());

        var errors = f.Commit(new OffsetCommitCall(Group, joined.GenerationId, joined.MemberId, null,
            [new OffsetCommitEntry("t", 0, 1, -1, null)]));

        Assert.Equal(ErrorCode.RebalanceInProgress, Assert.Single(errors));
    }

    [Fact]
    public void Commit_is_written_to_the_groups_partition_as_key_v1_value_v3()
    {
        var f = new CoordinatorFixture();

        f.Commit(Simple("my-group", new OffsetCommitEntry("t", 0, 5, -1, null)));

        var record = Assert.Single(f.Log.Replay(36));
        Assert.Equal(new OffsetCommitKey("my-group", "t", 0), OffsetsTopicRecords.ReadKey(record.Key));
        Assert.Equal(5, OffsetsTopicRecords.ReadOffsetCommitValue(record.Value!).Offset);
    }

    [Fact]
    public void Failed_append_answers_an_error_and_keeps_the_previous_offset()
    {
        var f = new CoordinatorFixture();
        f.Commit(Simple("s", new OffsetCommitEntry("t", 0, 5, -1, null)));
        f.Log.FailAppendsWith = ErrorCode.NotEnoughReplicas;

        var errors = f.Commit(Simple("s", new OffsetCommitEntry("t", 0, 9, -1, null)));

        Assert.Equal(ErrorCode.CoordinatorNotAvailable, Assert.Single(errors));
        Assert.Equal(5, f.Coordinator.FetchOffsets("s", [("t", 0)]).Offsets[0].Offset);
    }

    [Fact]
    public void Oversized_commit_metadata_is_offset_metadata_too_large()
    {
        var f = new CoordinatorFixture();

        var errors = f.Commit(Simple("s", new OffsetCommitEntry("t", 0, 5, -1, new string('x', 5000))));

        Assert.Equal(ErrorCode.OffsetMetadataTooLarge, Assert.Single(errors));
    }

    [Fact]
    public void Restarted_coordinator_rebuilds_offsets_and_a_stable_group_with_its_static_member()
    {
        var f = new CoordinatorFixture();
        var joined = f.StableSingleMember(assignment: [4], instanceId: "inst-1");
        f.Commit(new OffsetCommitCall(Group, joined.GenerationId, joined.MemberId, "inst-1",
            [new OffsetCommitEntry("t", 1, 77, 3, "m")]));

        var restarted = Started(new GroupCoordinator(f.Options, f.Log, f.Time, NullLogger.Instance));

        Assert.Equal(77, restarted.FetchOffsets(Group, [("t", 1)]).Offsets[0].Offset);
        var description = restarted.DescribeGroup(Group);
        Assert.Equal(GroupState.Stable, description.State);
        Assert.Equal("inst-1", Assert.Single(description.Members).GroupInstanceId);
        Assert.Equal(ErrorCode.None, restarted.Heartbeat(Group, joined.MemberId, "inst-1", joined.GenerationId));
        var rejoined = Completed(restarted.JoinGroupAsync(Join(instanceId: "inst-1")));
        Assert.Equal(joined.GenerationId, rejoined.GenerationId);
        Assert.Equal(new byte[] { 4 }, Completed(restarted.SyncGroupAsync(Sync(rejoined, instanceId: "inst-1"))).Assignment);
    }

    [Fact]
    public async Task Group_apis_answer_load_in_progress_while_the_partition_loads()
    {
        var log = new FakeGroupRecordLog();
        log.Append(PartitionOf(Group), [new GroupRecord(OffsetsTopicRecords.OffsetCommitKeyBytes(Group, "t", 0),
            OffsetsTopicRecords.OffsetCommitValueBytes(new CommittedOffset(3, -1, "", 0)))], 0, 5000, CancellationToken.None);
        log.BlockReplay.Reset();
        var coordinator = new GroupCoordinator(new GroupCoordinatorOptions(), log, new FakeTimeProvider(), NullLogger.Instance);

        coordinator.TrackLeadership();

        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, coordinator.Heartbeat(Group, "m", null, 1));
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, coordinator.FetchOffsets(Group, null).Error);
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, Completed(coordinator.JoinGroupAsync(Join())).Error);
        log.BlockReplay.Set();
        await coordinator.WhenLoadedAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(3, coordinator.FetchOffsets(Group, [("t", 0)]).Offsets[0].Offset);
    }

    [Fact]
    public void Deleting_a_group_with_members_is_non_empty_group()
    {
        var f = new CoordinatorFixture();
        f.StableSingleMember();

        Assert.Equal(ErrorCode.NonEmptyGroup, Assert.Single(f.DeleteGroups([Group])));
    }

    [Fact]
    public void Deleting_an_empty_group_tombstones_its_offsets_and_metadata_and_survives_restart()
    {
        var f = new CoordinatorFixture();
        f.Commit(Simple("s", new OffsetCommitEntry("t", 0, 5, -1, null), new OffsetCommitEntry("t", 1, 6, -1, null)));

        var errors = f.DeleteGroups(["s", "unknown"]);

        Assert.Equal([ErrorCode.None, ErrorCode.GroupIdNotFound], errors);
        Assert.Equal(3, f.Log.All.Count(r => r.Value is null));
        var restarted = Started(new GroupCoordinator(f.Options, f.Log, f.Time, NullLogger.Instance));
        Assert.Equal(-1, restarted.FetchOffsets("s", [("t", 0)]).Offsets[0].Offset);
        Assert.Empty(restarted.ListGroups(null).Groups);
    }

    [Fact]
    public void Offset_delete_refuses_topics_a_live_consumer_group_subscribes_to()
    {
        var f = new CoordinatorFixture();
        var joined = f.StableSingleMember();
        f.Commit(new OffsetCommitCall(Group, joined.GenerationId, joined.MemberId, null,
            [new OffsetCommitEntry("t", 0, 5, -1, null), new OffsetCommitEntry("other", 0, 5, -1, null)]));

        var (error, partitions) = f.DeleteOffsets(Group, [("t", 0), ("other", 0)]);

        Assert.Equal(ErrorCode.None, error);
        Assert.Equal([ErrorCode.GroupSubscribedToTopic, ErrorCode.None], partitions);
        var offsets = f.Coordinator.FetchOffsets(Group, null).Offsets;
        Assert.Equal("t", Assert.Single(offsets).Topic);
    }

    [Fact]
    public void Offset_delete_of_an_unknown_group_is_group_id_not_found() =>
        Assert.Equal(ErrorCode.GroupIdNotFound, new CoordinatorFixture().DeleteOffsets("nope", [("t", 0)]).Error);

    [Fact]
    public void Offsets_of_an_empty_group_expire_after_the_retention_and_the_group_goes_away()
    {
        var f = new CoordinatorFixture(new GroupCoordinatorOptions
        {
            InitialRebalanceDelayMs = 0,
            OffsetsRetentionMs = 60_000,
            OffsetsRetentionCheckIntervalMs = 1_000,
        });
        f.Commit(Simple("s", new OffsetCommitEntry("t", 0, 5, -1, null)));

        f.Advance(30_000);
        Assert.Equal(5, f.Coordinator.FetchOffsets("s", [("t", 0)]).Offsets[0].Offset);
        f.Advance(31_000);

        Assert.Equal(-1, f.Coordinator.FetchOffsets("s", [("t", 0)]).Offsets[0].Offset);
        Assert.Empty(f.Coordinator.ListGroups(null).Groups);
    }

    [Fact]
    public void Offsets_of_a_group_with_members_do_not_expire()
    {
        var f = new CoordinatorFixture(new GroupCoordinatorOptions
        {
            InitialRebalanceDelayMs = 0,
            OffsetsRetentionMs = 60_000,
            OffsetsRetentionCheckIntervalMs = 1_000,
        });
        var joined = f.StableSingleMember();
        f.Commit(new OffsetCommitCall(Group, joined.GenerationId, joined.MemberId, null, [new OffsetCommitEntry("t", 0, 5, -1, null)]));

        for (int i = 0; i < 14; i++)
        {
            f.Advance(5_000);
            f.Coordinator.Heartbeat(Group, joined.MemberId, null, joined.GenerationId);
        }

        Assert.Equal(5, f.Coordinator.FetchOffsets(Group, [("t", 0)]).Offsets[0].Offset);
    }
}
