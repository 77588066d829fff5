using Tributary.Broker.Groups;
using Tributary.Protocol;
using static Tributary.Broker.Tests.Groups.CoordinatorFixture;

namespace Tributary.Broker.Tests.Groups;

/// <summary>
/// Leaving while group.initial.rebalance.delay.ms holds the first rebalance: Kafka's coordinator completes the join as soon
/// as everyone left has rejoined (the delay waits for arrivals, not departures), so an abandoned group is Empty at once.
/// </summary>
public class GroupLeaveDuringInitialDelayTests
{
    private static CoordinatorFixture DelayedFixture() => new(new GroupCoordinatorOptions { InitialRebalanceDelayMs = 3_000 });

    [Fact]
    public void Static_member_leaving_by_member_and_instance_id_during_the_initial_delay_leaves_a_deletable_empty_group()
    {
        var f = DelayedFixture();
        var join = f.Coordinator.JoinGroupAsync(Join(instanceId: "inst-1"));
        Assert.False(join.IsCompleted);
        var memberId = Assert.Single(f.Coordinator.DescribeGroup(Group).Members).MemberId;

        var (error, errors) = f.Coordinator.LeaveGroup(Group, [new LeavingMember(memberId, "inst-1")]);

        Assert.Equal((ErrorCode.None, ErrorCode.None), (error, Assert.Single(errors)));
        Assert.Equal(ErrorCode.UnknownMemberId, Completed(join).Error);
        Assert.Equal(GroupState.Empty, f.Coordinator.DescribeGroup(Group).State);
        Assert.Equal(ErrorCode.None, Assert.Single(f.DeleteGroups([Group])));
    }

    [Fact]
    public void Dynamic_member_leaving_during_the_initial_delay_leaves_a_deletable_empty_group()
    {
        var f = DelayedFixture();
        var join = f.JoinNew();
        var memberId = Assert.Single(f.Coordinator.DescribeGroup(Group).Members).MemberId;

        var (_, errors) = f.Coordinator.LeaveGroup(Group, [new LeavingMember(memberId, null)]);

        Assert.Equal(ErrorCode.None, Assert.Single(errors));
        Assert.Equal(ErrorCode.UnknownMemberId, Completed(join).Error);
        Assert.Equal(ErrorCode.None, Assert.Single(f.DeleteGroups([Group])));
    }

    [Fact]
    public void Member_leaving_during_the_initial_delay_completes_the_join_of_the_members_that_stay()
    {
        var f = DelayedFixture();
        var staying = f.Coordinator.JoinGroupAsync(Join(instanceId: "stays"));
        var leaving = f.Coordinator.JoinGroupAsync(Join(instanceId: "goes"));
        var leavingId = f.Coordinator.DescribeGroup(Group).Members.Single(m => m.GroupInstanceId == "goes").MemberId;

        f.Coordinator.LeaveGroup(Group, [new LeavingMember(leavingId, "goes")]);

        var joined = Completed(staying);
        Assert.Equal((ErrorCode.None, 1), (joined.Error, joined.GenerationId));
        Assert.Equal(joined.MemberId, Assert.Single(joined.Members).MemberId);
        Assert.Equal(ErrorCode.UnknownMemberId, Completed(leaving).Error);
    }

    [Fact]
    public void Joins_still_wait_for_the_initial_delay_when_nobody_leaves()
    {
        var f = DelayedFixture();
        var join = f.Coordinator.JoinGroupAsync(Join(instanceId: "inst-1"));

        f.Advance(2_000);
        Assert.False(join.IsCompleted);
        f.Advance(1_001);

        Assert.Equal(ErrorCode.None, Completed(join).Error);
    }
}
