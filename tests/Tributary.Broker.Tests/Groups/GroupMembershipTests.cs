using Tributary.Broker.Groups;
using Tributary.Protocol;
using static Tributary.Broker.Tests.Groups.CoordinatorFixture;

namespace Tributary.Broker.Tests.Groups;

public class GroupMembershipTests
{
    [Fact]
    public void First_join_without_member_id_answers_member_id_required_with_an_id_to_use()
    {
        var f = new CoordinatorFixture();

        var result = Completed(f.Coordinator.JoinGroupAsync(Join()));

        Assert.Equal(ErrorCode.MemberIdRequired, result.Error);
        Assert.StartsWith("client-", result.MemberId);
    }

    [Fact]
    public void Single_member_becomes_leader_of_generation_1_and_sees_itself()
    {
        var f = new CoordinatorFixture();

        var joined = Completed(f.JoinNew());

        Assert.Equal(ErrorCode.None, joined.Error);
        Assert.Equal(1, joined.GenerationId);
        Assert.Equal("range", joined.ProtocolName);
        Assert.Equal(joined.MemberId, joined.Leader);
        Assert.Equal(joined.MemberId, Assert.Single(joined.Members).MemberId);
    }

    [Fact]
    public void Join_with_session_timeout_outside_the_broker_bounds_is_invalid_session_timeout()
    {
        var f = new CoordinatorFixture();

        var result = Completed(f.Coordinator.JoinGroupAsync(Join(sessionTimeoutMs: 1000)));

        Assert.Equal(ErrorCode.InvalidSessionTimeout, result.Error);
    }

    [Fact]
    public void Member_without_a_common_protocol_is_rejected_as_inconsistent()
    {
        var f = new CoordinatorFixture();
        f.StableSingleMember();

        var result = Completed(f.Coordinator.JoinGroupAsync(Join(protocols: [new("roundrobin", [])])));

        Assert.Equal(ErrorCode.InconsistentGroupProtocol, result.Error);
    }

    [Fact]
    public void Second_member_triggers_a_rebalance_the_first_learns_from_its_heartbeat()
    {
        var f = new CoordinatorFixture();
        var first = f.StableSingleMember();

        var secondJoin = f.JoinNew();

        Assert.False(secondJoin.IsCompleted);
        Assert.Equal(ErrorCode.RebalanceInProgress, f.Coordinator.Heartbeat(Group, first.MemberId, null, first.GenerationId));
        var firstRejoin = f.Coordinator.JoinGroupAsync(Join(first.MemberId));
        var leader = Completed(firstRejoin);
        var follower = Completed(secondJoin);
        Assert.Equal(2, leader.GenerationId);
        Assert.Equal(first.MemberId, leader.Leader);
        Assert.Equal(2, leader.Members.Count);
        Assert.Empty(follower.Members);
    }

    [Fact]
    public void Follower_sync_waits_for_the_leaders_assignment_and_gets_its_own_share()
    {
        var f = new CoordinatorFixture();
        var first = f.StableSingleMember();
        var secondJoin = f.JoinNew();
        var leader = Completed(f.Coordinator.JoinGroupAsync(Join(first.MemberId)));
        var follower = Completed(secondJoin);

        var followerSync = f.Coordinator.SyncGroupAsync(Sync(follower));
        Assert.False(followerSync.IsCompleted);
        var leaderSync = Completed(f.Coordinator.SyncGroupAsync(Sync(leader, new()
        {
            [leader.MemberId] = [1],
            [follower.MemberId] = [2],
        })));

        Assert.Equal(new byte[] { 1 }, leaderSync.Assignment);
        Assert.Equal(new byte[] { 2 }, Completed(followerSync).Assignment);
        Assert.Equal(GroupState.Stable, f.Coordinator.DescribeGroup(Group).State);
    }

    [Fact]
    public void Heartbeat_checks_member_then_generation()
    {
        var f = new CoordinatorFixture();
        var joined = f.StableSingleMember();

        Assert.Equal(ErrorCode.None, f.Coordinator.Heartbeat(Group, joined.MemberId, null, joined.GenerationId));
        Assert.Equal(ErrorCode.IllegalGeneration, f.Coordinator.Heartbeat(Group, joined.MemberId, null, joined.GenerationId + 1));
        Assert.Equal(ErrorCode.UnknownMemberId, f.Coordinator.Heartbeat(Group, "nobody", null, joined.GenerationId));
        Assert.Equal(ErrorCode.UnknownMemberId, f.Coordinator.Heartbeat("other", joined.MemberId, null, joined.GenerationId));
    }

    [Fact]
    public void Member_that_stops_heartbeating_is_removed_after_its_session_timeout_and_the_group_empties()
    {
        var f = new CoordinatorFixture();
        var joined = f.StableSingleMember();

        f.Advance(9_000);
        Assert.Equal(GroupState.Stable, f.Coordinator.DescribeGroup(Group).State);
        f.Advance(1_500);

        Assert.Equal(GroupState.Empty, f.Coordinator.DescribeGroup(Group).State);
        Assert.Equal(ErrorCode.UnknownMemberId, f.Coordinator.Heartbeat(Group, joined.MemberId, null, joined.GenerationId));
    }

    [Fact]
    public void Heartbeats_keep_a_member_alive_past_its_session_timeout()
    {
        var f = new CoordinatorFixture();
        var joined = f.StableSingleMember();

        for (int i = 0; i < 5; i++)
        {
            f.Advance(5_000);
            Assert.Equal(ErrorCode.None, f.Coordinator.Heartbeat(Group, joined.MemberId, null, joined.GenerationId));
        }

        Assert.Equal(GroupState.Stable, f.Coordinator.DescribeGroup(Group).State);
    }

    [Fact]
    public void Member_that_does_not_rejoin_within_the_rebalance_timeout_is_dropped_and_the_rest_continue()
    {
        var f = new CoordinatorFixture();
        var first = f.StableSingleMember();
        var secondJoin = f.JoinNew();

        // The first member keeps heartbeating (so its session lives) but never rejoins.
        for (int elapsed = 0; elapsed < 30_000; elapsed += 5_000)
        {
            f.Coordinator.Heartbeat(Group, first.MemberId, null, first.GenerationId);
            f.Advance(5_000);
        }

        var second = Completed(secondJoin);
        Assert.Equal(2, second.GenerationId);
        Assert.Equal(second.MemberId, second.Leader);
        Assert.Equal(ErrorCode.UnknownMemberId, f.Coordinator.Heartbeat(Group, first.MemberId, null, first.GenerationId));
    }

    [Fact]
    public void Initial_rebalance_delay_holds_the_first_generation_until_it_expires()
    {
        var f = new CoordinatorFixture(new GroupCoordinatorOptions { InitialRebalanceDelayMs = 3_000 });

        var join = f.JoinNew();
        f.Advance(2_000);
        Assert.False(join.IsCompleted);
        f.Advance(1_100);

        Assert.Equal(1, Completed(join).GenerationId);
    }

    [Fact]
    public void Members_joining_during_the_initial_delay_land_in_the_same_first_generation()
    {
        var f = new CoordinatorFixture(new GroupCoordinatorOptions { InitialRebalanceDelayMs = 3_000 });

        var a = f.JoinNew();
        f.Advance(2_000);
        var b = f.JoinNew();
        f.Advance(1_100);
        Assert.False(b.IsCompleted);
        f.Advance(3_000);

        Assert.Equal(1, Completed(a).GenerationId);
        Assert.Equal(1, Completed(b).GenerationId);
    }

    [Fact]
    public void Leave_group_of_the_only_member_empties_the_group_and_bumps_the_generation()
    {
        var f = new CoordinatorFixture();
        var joined = f.StableSingleMember();

        var (error, members) = f.Coordinator.LeaveGroup(Group, [new LeavingMember(joined.MemberId, null), new LeavingMember("nobody", null)]);

        Assert.Equal(ErrorCode.None, error);
        Assert.Equal([ErrorCode.None, ErrorCode.UnknownMemberId], members);
        Assert.Equal(GroupState.Empty, f.Coordinator.DescribeGroup(Group).State);
    }

    [Fact]
    public void Static_member_restarting_in_a_stable_group_keeps_generation_and_assignment_without_rebalance()
    {
        var f = new CoordinatorFixture();
        var before = f.StableSingleMember(assignment: [7, 7], instanceId: "inst-1");

        var rejoined = Completed(f.Coordinator.JoinGroupAsync(Join(instanceId: "inst-1")));

        Assert.Equal(ErrorCode.None, rejoined.Error);
        Assert.NotEqual(before.MemberId, rejoined.MemberId);
        Assert.Equal(before.GenerationId, rejoined.GenerationId);
        Assert.Equal(GroupState.Stable, f.Coordinator.DescribeGroup(Group).State);
        var sync = Completed(f.Coordinator.SyncGroupAsync(Sync(rejoined, instanceId: "inst-1")));
        Assert.Equal(new byte[] { 7, 7 }, sync.Assignment);
    }

    [Fact]
    public void The_replaced_incarnation_of_a_static_member_is_fenced()
    {
        var f = new CoordinatorFixture();
        var before = f.StableSingleMember(instanceId: "inst-1");
        Completed(f.Coordinator.JoinGroupAsync(Join(instanceId: "inst-1")));

        Assert.Equal(ErrorCode.FencedInstanceId, f.Coordinator.Heartbeat(Group, before.MemberId, "inst-1", before.GenerationId));
        var commit = f.Commit(new OffsetCommitCall(Group, before.GenerationId, before.MemberId, "inst-1",
            [new OffsetCommitEntry("t", 0, 1, -1, null)]));
        Assert.Equal(ErrorCode.FencedInstanceId, Assert.Single(commit));
    }

    [Fact]
    public void Static_member_that_misses_a_rebalance_stays_in_the_group_and_a_joined_member_leads()
    {
        var f = new CoordinatorFixture();
        var stat = Completed(f.Coordinator.JoinGroupAsync(Join(instanceId: "inst-1", sessionTimeoutMs: 60_000)));
        Completed(f.Coordinator.SyncGroupAsync(Sync(stat, new() { [stat.MemberId] = [1] }, "inst-1")));
        var dynamicJoin = f.JoinNew(sessionTimeoutMs: 60_000);

        f.Advance(30_001);
        var dynamicMember = Completed(dynamicJoin);

        Assert.Equal(2, dynamicMember.GenerationId);
        Assert.Equal(dynamicMember.MemberId, dynamicMember.Leader);
        Assert.Contains(f.Coordinator.DescribeGroup(Group).Members, m => m.GroupInstanceId == "inst-1");
        Assert.Equal(ErrorCode.None, f.Coordinator.Heartbeat(Group, stat.MemberId, "inst-1", 2));
    }

    [Fact]
    public void Member_that_gets_its_join_answer_but_never_syncs_is_removed_after_the_rebalance_timeout()
    {
        var f = new CoordinatorFixture();
        var first = f.StableSingleMember();
        var secondJoin = f.JoinNew(sessionTimeoutMs: 60_000);
        var leader = Completed(f.Coordinator.JoinGroupAsync(Join(first.MemberId, sessionTimeoutMs: 60_000)));
        var follower = Completed(secondJoin);
        Completed(f.Coordinator.SyncGroupAsync(Sync(leader, new() { [leader.MemberId] = [1], [follower.MemberId] = [2] })));

        f.Advance(30_001);

        Assert.Equal(ErrorCode.UnknownMemberId, f.Coordinator.Heartbeat(Group, follower.MemberId, null, follower.GenerationId));
        Assert.Equal(ErrorCode.RebalanceInProgress, f.Coordinator.Heartbeat(Group, leader.MemberId, null, leader.GenerationId));
    }

    [Fact]
    public void Leave_group_by_instance_id_with_a_stale_member_id_is_fenced()
    {
        var f = new CoordinatorFixture();
        f.StableSingleMember(instanceId: "inst-1");

        var (_, errors) = f.Coordinator.LeaveGroup(Group, [new LeavingMember("old-id", "inst-1")]);

        Assert.Equal(ErrorCode.FencedInstanceId, Assert.Single(errors));
    }

    [Fact]
    public void Describe_shows_member_metadata_and_assignment_as_sent_when_stable()
    {
        var f = new CoordinatorFixture();
        var joined = f.StableSingleMember(assignment: [9]);

        var description = f.Coordinator.DescribeGroup(Group);

        Assert.Equal(("consumer", "range", GroupState.Stable), (description.ProtocolType, description.Protocol, description.State));
        var member = Assert.Single(description.Members);
        Assert.Equal(joined.MemberId, member.MemberId);
        Assert.Equal(Subscription("t"), member.Metadata);
        Assert.Equal(new byte[] { 9 }, member.Assignment);
    }

    [Fact]
    public void Describe_of_an_unknown_group_is_dead_without_error()
    {
        var description = new CoordinatorFixture().Coordinator.DescribeGroup("nope");

        Assert.Equal((ErrorCode.None, GroupState.Dead), (description.Error, description.State));
    }

    [Fact]
    public void List_groups_filters_by_state()
    {
        var f = new CoordinatorFixture();
        f.StableSingleMember();
        f.Commit(new OffsetCommitCall("simple", -1, "", null, [new OffsetCommitEntry("t", 0, 1, -1, null)]));

        var (_, stable) = f.Coordinator.ListGroups([GroupState.Stable]);
        var (_, all) = f.Coordinator.ListGroups(null);

        Assert.Equal(Group, Assert.Single(stable).GroupId);
        Assert.Equal(["g", "simple"], all.Select(g => g.GroupId));
    }

    [Fact]
    public void Protocol_selection_takes_the_one_most_members_prefer_among_those_all_support()
    {
        var f = new CoordinatorFixture();
        MemberProtocol[] prefersRoundRobin = [new("roundrobin", []), new("range", [])];
        var a = f.JoinNew(protocols: prefersRoundRobin);
        Completed(a);
        var b = f.JoinNew(protocols: prefersRoundRobin);
        var aRejoin = f.Coordinator.JoinGroupAsync(Join(Completed(a).MemberId, protocols: prefersRoundRobin));

        Assert.Equal("roundrobin", Completed(aRejoin).ProtocolName);
        Assert.Equal("roundrobin", Completed(b).ProtocolName);
    }
}
