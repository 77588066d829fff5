using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Groups;
using Tributary.Protocol;
using static Tributary.Broker.Tests.Groups.CoordinatorFixture;

namespace Tributary.Broker.Tests.Groups;

/// <summary>A coordinator serves exactly the groups of the offsets partitions it leads, and acknowledges writes once replicated.</summary>
public class GroupLeadershipTests
{
    private static OffsetCommitCall Simple(string group, long offset) => new(group, -1, "", null, [new OffsetCommitEntry("t", 0, offset, -1, null)]);

    private static GroupRecord CommitRecord(string group, long offset) =>
        new(OffsetsTopicRecords.OffsetCommitKeyBytes(group, "t", 0), OffsetsTopicRecords.OffsetCommitValueBytes(new CommittedOffset(offset, -1, "", 0)));

    [Fact]
    public void Requests_for_a_group_whose_partition_another_broker_leads_are_not_coordinator()
    {
        var f = new CoordinatorFixture(log: new FakeGroupRecordLog(leadAll: false));

        Assert.Equal(ErrorCode.NotCoordinator, Completed(f.Coordinator.JoinGroupAsync(Join())).Error);
        Assert.Equal(ErrorCode.NotCoordinator, Assert.Single(f.Commit(Simple(Group, 1))));
        Assert.Equal(ErrorCode.NotCoordinator, f.Coordinator.FetchOffsets(Group, null).Error);
        Assert.Equal(ErrorCode.NotCoordinator, f.Coordinator.Heartbeat(Group, "m", null, 1));
        Assert.Equal(ErrorCode.NotCoordinator, f.Coordinator.DescribeGroup(Group).Error);
        Assert.Equal(ErrorCode.NotCoordinator, Assert.Single(f.DeleteGroups([Group])));
        Assert.Empty(f.Log.All);
    }

    [Fact]
    public void A_partition_the_metadata_already_names_this_broker_leader_of_answers_load_in_progress_until_it_loads()
    {
        var f = new CoordinatorFixture(log: new FakeGroupRecordLog(leadAll: false));
        f.Log.AboutToLead.Add(PartitionOf(Group));

        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, f.Coordinator.FetchOffsets(Group, null).Error);
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, Completed(f.Coordinator.JoinGroupAsync(Join())).Error);
    }

    [Fact]
    public async Task Becoming_the_leader_of_a_partition_loads_its_groups_from_the_log()
    {
        var log = new FakeGroupRecordLog(leadAll: false);
        log.Append(PartitionOf(Group), [CommitRecord(Group, 41)], 0, 5000, CancellationToken.None);
        var f = new CoordinatorFixture(log: log);

        log.Lead(PartitionOf(Group));

        await f.Coordinator.WhenLoadedAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(f.Coordinator.IsLoaded(PartitionOf(Group)));
        Assert.Equal(41, f.Coordinator.FetchOffsets(Group, [("t", 0)]).Offsets[0].Offset);
    }

    [Fact]
    public void Partitions_already_led_before_the_coordinator_subscribed_are_loaded_too()
    {
        var log = new FakeGroupRecordLog(leadAll: false);
        log.Append(PartitionOf(Group), [CommitRecord(Group, 7)], 0, 5000, CancellationToken.None);
        log.Lead(PartitionOf(Group));

        var coordinator = Started(new GroupCoordinator(new GroupCoordinatorOptions(), log, new FakeTimeProvider(), NullLogger.Instance));

        Assert.Equal(7, coordinator.FetchOffsets(Group, [("t", 0)]).Offsets[0].Offset);
    }

    [Fact]
    public void Losing_leadership_answers_a_waiting_join_with_not_coordinator_and_writes_nothing()
    {
        var f = new CoordinatorFixture();
        var first = f.StableSingleMember();
        var secondJoin = f.JoinNew();
        Assert.False(secondJoin.IsCompleted);
        var recordsBefore = f.Log.All.Count();

        f.Log.Resign(PartitionOf(Group));

        Assert.Equal(ErrorCode.NotCoordinator, Completed(secondJoin).Error);
        Assert.Equal(ErrorCode.NotCoordinator, f.Coordinator.Heartbeat(Group, first.MemberId, null, first.GenerationId));
        Assert.Equal(recordsBefore, f.Log.All.Count());
    }

    [Fact]
    public void Losing_leadership_answers_a_waiting_sync_with_not_coordinator()
    {
        var f = new CoordinatorFixture();
        var first = f.StableSingleMember();
        var secondJoin = f.JoinNew();
        var leader = Completed(f.Coordinator.JoinGroupAsync(Join(first.MemberId)));
        var follower = Completed(secondJoin);
        var followerSync = f.Coordinator.SyncGroupAsync(Sync(follower));
        Assert.False(followerSync.IsCompleted);

        f.Log.Resign(PartitionOf(Group));

        Assert.Equal(ErrorCode.NotCoordinator, Completed(followerSync).Error);
        Assert.Equal(ErrorCode.NotCoordinator, Completed(f.Coordinator.SyncGroupAsync(Sync(leader))).Error);
    }

    [Fact]
    public async Task Regaining_leadership_rebuilds_the_groups_from_the_log()
    {
        var f = new CoordinatorFixture();
        f.Commit(Simple("s", 12));
        f.Log.Resign(PartitionOf("s"));
        Assert.Equal(ErrorCode.NotCoordinator, f.Coordinator.FetchOffsets("s", null).Error);

        f.Log.Lead(PartitionOf("s"));

        await f.Coordinator.WhenLoadedAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(12, f.Coordinator.FetchOffsets("s", [("t", 0)]).Offsets[0].Offset);
    }

    [Fact]
    public void A_commit_is_answered_and_visible_only_once_replicated()
    {
        var f = new CoordinatorFixture();
        f.Commit(Simple("s", 5));
        var replication = new TaskCompletionSource<ErrorCode>(TaskCreationOptions.RunContinuationsAsynchronously);
        f.Log.Replication = replication;

        var commit = f.Coordinator.CommitOffsetsAsync(Simple("s", 9));

        Assert.False(commit.IsCompleted);
        Assert.Equal(5, f.Coordinator.FetchOffsets("s", [("t", 0)]).Offsets[0].Offset);
        replication.SetResult(ErrorCode.None);
        Assert.Equal(ErrorCode.None, Assert.Single(Completed(commit)));
        Assert.Equal(9, f.Coordinator.FetchOffsets("s", [("t", 0)]).Offsets[0].Offset);
    }

    [Theory]
    [InlineData(ErrorCode.RequestTimedOut, ErrorCode.CoordinatorNotAvailable)]
    [InlineData(ErrorCode.NotEnoughReplicasAfterAppend, ErrorCode.CoordinatorNotAvailable)]
    [InlineData(ErrorCode.NotLeaderOrFollower, ErrorCode.NotCoordinator)]
    public void A_commit_whose_replication_fails_answers_kafkas_coordinator_error_and_keeps_the_previous_offset(ErrorCode replicationError,
        ErrorCode answered)
    {
        var f = new CoordinatorFixture();
        f.Commit(Simple("s", 5));
        f.Log.Replication = new TaskCompletionSource<ErrorCode>(TaskCreationOptions.RunContinuationsAsynchronously);

        var commit = f.Coordinator.CommitOffsetsAsync(Simple("s", 9));
        f.Log.Replication.SetResult(replicationError);

        Assert.Equal(answered, Assert.Single(Completed(commit)));
        Assert.Equal(5, f.Coordinator.FetchOffsets("s", [("t", 0)]).Offsets[0].Offset);
    }

    [Fact]
    public void An_earlier_commit_replicated_after_a_later_one_does_not_overwrite_it()
    {
        var f = new CoordinatorFixture();
        var first = new TaskCompletionSource<ErrorCode>(TaskCreationOptions.RunContinuationsAsynchronously);
        var second = new TaskCompletionSource<ErrorCode>(TaskCreationOptions.RunContinuationsAsynchronously);
        f.Log.Replication = first;
        var earlier = f.Coordinator.CommitOffsetsAsync(Simple("s", 5));
        f.Log.Replication = second;
        var later = f.Coordinator.CommitOffsetsAsync(Simple("s", 9));

        second.SetResult(ErrorCode.None);
        Completed(later);
        first.SetResult(ErrorCode.None);
        Completed(earlier);

        Assert.Equal(9, f.Coordinator.FetchOffsets("s", [("t", 0)]).Offsets[0].Offset);
    }

    [Fact]
    public void The_leaders_sync_completes_the_rebalance_only_once_the_group_record_is_replicated()
    {
        var f = new CoordinatorFixture();
        var joined = Completed(f.JoinNew());
        var replication = new TaskCompletionSource<ErrorCode>(TaskCreationOptions.RunContinuationsAsynchronously);
        f.Log.Replication = replication;

        var sync = f.Coordinator.SyncGroupAsync(Sync(joined, new() { [joined.MemberId] = [3] }));

        Assert.False(sync.IsCompleted);
        Assert.Equal(GroupState.CompletingRebalance, f.Coordinator.DescribeGroup(Group).State);
        replication.SetResult(ErrorCode.None);
        Assert.Equal(new byte[] { 3 }, Completed(sync).Assignment);
        Assert.Equal(GroupState.Stable, f.Coordinator.DescribeGroup(Group).State);
    }

    [Fact]
    public void A_group_record_that_fails_to_replicate_fails_the_sync_and_restarts_the_rebalance()
    {
        var f = new CoordinatorFixture();
        var joined = Completed(f.JoinNew());
        f.Log.Replication = new TaskCompletionSource<ErrorCode>(TaskCreationOptions.RunContinuationsAsynchronously);

        var sync = f.Coordinator.SyncGroupAsync(Sync(joined, new() { [joined.MemberId] = [3] }));
        f.Log.Replication.SetResult(ErrorCode.RequestTimedOut);

        Assert.Equal(ErrorCode.CoordinatorNotAvailable, Completed(sync).Error);
        Assert.Equal(GroupState.PreparingRebalance, f.Coordinator.DescribeGroup(Group).State);
    }
}
