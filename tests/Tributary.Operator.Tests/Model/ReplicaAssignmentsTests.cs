using Tributary.Operator.Model;

namespace Tributary.Operator.Tests.Model;

public class ReplicaAssignmentsTests
{
    private static Dictionary<int, IReadOnlyList<int>> Current(params int[][] replicas) =>
        replicas.Select((r, i) => (i, r)).ToDictionary(x => x.i, x => (IReadOnlyList<int>)x.r);

    [Fact]
    public void Raising_the_replication_factor_keeps_existing_replicas_first_and_adds_the_least_loaded_brokers()
    {
        var plan = ReplicaAssignments.ChangeReplicationFactor(Current([0], [1], [2]), 3, [0, 1, 2])!;
        Assert.Equal(3, plan.Count);
        Assert.Equal(0, plan[0][0]);
        Assert.Equal(1, plan[1][0]);
        Assert.All(plan.Values, r => Assert.Equal(3, r.Distinct().Count()));
    }

    [Fact]
    public void Lowering_the_replication_factor_drops_the_last_replicas_and_keeps_the_preferred_leader()
    {
        var plan = ReplicaAssignments.ChangeReplicationFactor(Current([2, 0, 1]), 1, [0, 1, 2])!;
        Assert.Equal([2], plan[0]);
    }

    [Fact]
    public void A_replication_factor_above_the_broker_count_has_no_plan()
    {
        Assert.Null(ReplicaAssignments.ChangeReplicationFactor(Current([0]), 4, [0, 1, 2]));
    }

    [Fact]
    public void Partitions_already_at_the_replication_factor_are_left_out()
    {
        Assert.Empty(ReplicaAssignments.ChangeReplicationFactor(Current([0, 1], [1, 2]), 2, [0, 1, 2])!);
    }

    [Fact]
    public void Draining_moves_every_replica_off_the_removed_brokers_and_only_those_partitions()
    {
        var plan = ReplicaAssignments.Drain(Current([0, 3, 1], [1, 2, 0], [3, 2, 1]), new HashSet<int> { 3 }, [0, 1, 2])!;
        Assert.Equal([0, 2, 1], plan[0]);
        Assert.False(plan.ContainsKey(1));
        Assert.Equal([0, 2, 1], plan[2]);
        Assert.DoesNotContain(plan.Values.SelectMany(r => r), b => b == 3);
    }

    [Fact]
    public void Draining_is_impossible_when_a_partition_has_more_replicas_than_brokers_left()
    {
        Assert.Null(ReplicaAssignments.Drain(Current([0, 1, 2, 3]), new HashSet<int> { 3 }, [0, 1, 2]));
    }
}
