using Tributary.Operator.Model;

namespace Tributary.Operator.Tests.Model;

public class RollPlannerTests
{
    private static PodState Pod(int id, bool upToDate = false, bool ready = true, bool exists = true, bool terminating = false) =>
        new($"c-{id}", id, exists, terminating, ready, upToDate);

    private static PartitionState Partition(int p, int[] replicas, int[] isr, int minIsr = 2) => new("t", p, replicas, isr, minIsr);

    private static ClusterState Healthy(int controller = 0) =>
        new(controller, [Partition(0, [0, 1, 2], [0, 1, 2]), Partition(1, [1, 2, 0], [1, 2, 0])]);

    [Fact]
    public void Nothing_to_do_when_every_pod_runs_the_current_revision()
    {
        Assert.IsType<RollAction.Done>(RollPlanner.Next([Pod(0, true), Pod(1, true), Pod(2, true)], Healthy()));
    }

    [Fact]
    public void An_unready_pod_on_an_old_revision_is_restarted_first_even_when_partitions_are_under_replicated()
    {
        var cluster = new ClusterState(0, [Partition(0, [0, 1, 2], [0, 1])]);
        var action = RollPlanner.Next([Pod(0), Pod(1), Pod(2, ready: false)], cluster);
        Assert.Equal("c-2", Assert.IsType<RollAction.Restart>(action).Pod);
    }

    [Fact]
    public void Waits_while_a_restarted_pod_is_terminating_or_not_yet_recreated()
    {
        Assert.IsType<RollAction.Wait>(RollPlanner.Next([Pod(0), Pod(1, terminating: true), Pod(2)], Healthy()));
        Assert.IsType<RollAction.Wait>(RollPlanner.Next([Pod(0), Pod(1, exists: false), Pod(2)], Healthy()));
    }

    [Fact]
    public void Waits_for_the_restarted_pod_to_be_ready_before_the_next_restart()
    {
        var action = RollPlanner.Next([Pod(0), Pod(1, upToDate: true, ready: false), Pod(2)], Healthy(controller: 0));
        Assert.Contains("c-1", Assert.IsType<RollAction.Wait>(action).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Waits_until_no_partition_is_under_replicated()
    {
        var cluster = new ClusterState(0, [Partition(0, [0, 1, 2], [0, 1, 2]), Partition(1, [0, 1, 2], [0, 2])]);
        var action = RollPlanner.Next([Pod(0, upToDate: true), Pod(1), Pod(2, upToDate: true)], cluster);
        Assert.Contains("under-replicated", Assert.IsType<RollAction.Wait>(action).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Waits_when_the_brokers_cannot_say_what_their_partitions_look_like()
    {
        Assert.IsType<RollAction.Wait>(RollPlanner.Next([Pod(0), Pod(1), Pod(2)], new ClusterState(null, null)));
    }

    [Fact]
    public void Never_restarts_a_pod_whose_restart_would_take_a_partition_below_min_isr()
    {
        // t-0 has lost replica 2: its ISR [0, 1] is exactly min ISR, so neither 0 nor 1 may go; 2 is not in that ISR.
        var cluster = new ClusterState(9, [Partition(0, [0, 1, 2], [0, 1]), Partition(1, [1, 2, 0], [1, 2, 0])]);
        Assert.Equal("t", RollPlanner.WouldBreakMinIsr(0, cluster.Partitions!)?.Topic);
        Assert.Equal("t", RollPlanner.WouldBreakMinIsr(1, cluster.Partitions!)?.Topic);
        Assert.Null(RollPlanner.WouldBreakMinIsr(2, cluster.Partitions!));
        var action = RollPlanner.Next([Pod(0), Pod(1), Pod(2, upToDate: true)], cluster);
        var wait = Assert.IsType<RollAction.Wait>(action);
        Assert.Contains("min.insync.replicas", wait.Reason, StringComparison.Ordinal);
        Assert.Contains("t-0", wait.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pod_the_guard_allows_still_waits_for_under_replicated_partitions_to_catch_up()
    {
        var cluster = new ClusterState(9, [Partition(0, [0, 1, 2], [0, 1])]);
        var action = RollPlanner.Next([Pod(0, upToDate: true), Pod(1, upToDate: true), Pod(2)], cluster);
        Assert.Contains("under-replicated", Assert.IsType<RollAction.Wait>(action).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_partition_whose_replication_factor_is_at_most_min_isr_does_not_block()
    {
        var cluster = new ClusterState(1, [Partition(0, [0], [0], minIsr: 2), Partition(1, [0, 1], [0, 1], minIsr: 2)]);
        Assert.Equal("c-0", Assert.IsType<RollAction.Restart>(RollPlanner.Next([Pod(0), Pod(1)], cluster)).Pod);
    }

    [Fact]
    public void The_active_controller_is_restarted_last()
    {
        var pods = new[] { Pod(0), Pod(1), Pod(2) };
        Assert.Equal("c-1", Assert.IsType<RollAction.Restart>(RollPlanner.Next(pods, Healthy(controller: 0))).Pod);
        pods = [Pod(0), Pod(1, upToDate: true), Pod(2)];
        Assert.Equal("c-2", Assert.IsType<RollAction.Restart>(RollPlanner.Next(pods, Healthy(controller: 0))).Pod);
        pods = [Pod(0), Pod(1, upToDate: true), Pod(2, upToDate: true)];
        var last = Assert.IsType<RollAction.Restart>(RollPlanner.Next(pods, Healthy(controller: 0)));
        Assert.Equal("c-0", last.Pod);
        Assert.Contains("controller", last.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_active_controller_waits_while_another_pending_pod_is_blocked_by_min_isr()
    {
        // c-1 cannot go (t-0's ISR [1, 2] is at min ISR); c-0 is the controller and could, but it goes last.
        var cluster = new ClusterState(0, [Partition(0, [1, 2, 0], [1, 2])]);
        var action = RollPlanner.Next([Pod(0), Pod(1), Pod(2, upToDate: true)], cluster);
        Assert.Contains("c-1", Assert.IsType<RollAction.Wait>(action).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_roll_interrupted_half_way_resumes_with_the_pods_still_on_the_old_revision()
    {
        // The operator restarted after rolling c-0: nothing remembered, the revisions say what is left.
        var action = RollPlanner.Next([Pod(0, upToDate: true), Pod(1), Pod(2)], Healthy(controller: 2));
        Assert.Equal("c-1", Assert.IsType<RollAction.Restart>(action).Pod);
    }
}
