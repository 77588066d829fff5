using Tributary.Protocol;

namespace Tributary.Controller.Tests.ActiveController;

public sealed class QuorumControllerPartitionsTests
{
    private static async Task<ControllerFixture> ClusterWithTopicAsync(params int[][] assignment)
    {
        var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2, 3);
        await cluster.CreateTopicAsync("orders", assignment);
        return cluster;
    }

    private static AlterPartitionCommand Alter(ControllerFixture cluster, int? broker = null, long? brokerEpoch = null, int? leaderEpoch = null,
        int? partitionEpoch = null, params int[] isr)
    {
        var state = cluster.Partition("orders");
        var sender = broker ?? state.Leader;
        return new AlterPartitionCommand(sender, brokerEpoch ?? cluster.EpochOf(sender), cluster.TopicId("orders"), 0,
            leaderEpoch ?? state.LeaderEpoch, partitionEpoch ?? state.PartitionEpoch, isr);
    }

    [Fact]
    public async Task AlterPartition_shrinks_the_isr_and_answers_with_the_new_partition_epoch()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2, 3]);

        var reply = await cluster.SendAsync<AlterPartitionReply>(Alter(cluster, isr: [1, 2]));

        Assert.Equal(ErrorCode.None, reply.Error);
        Assert.Equal([1, 2], reply.Isr.ToArray());
        Assert.Equal(1, reply.PartitionEpoch);
        Assert.Equal(0, reply.LeaderEpoch);
        Assert.Equal([1, 2], cluster.Partition("orders").Isr.ToArray());
    }

    [Fact]
    public async Task AlterPartition_with_a_stale_broker_epoch_is_refused()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2, 3]);

        var reply = await cluster.SendAsync<AlterPartitionReply>(Alter(cluster, brokerEpoch: cluster.EpochOf(1) - 1, isr: [1, 2]));

        Assert.Equal(ErrorCode.StaleBrokerEpoch, reply.Error);
    }

    [Fact]
    public async Task AlterPartition_from_a_follower_is_refused()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2, 3]);

        var reply = await cluster.SendAsync<AlterPartitionReply>(Alter(cluster, broker: 2, isr: [1, 2]));

        Assert.Equal(ErrorCode.NotLeaderOrFollower, reply.Error);
        Assert.Equal(1, reply.Leader);
    }

    [Fact]
    public async Task AlterPartition_with_an_old_leader_epoch_is_fenced()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2, 3]);

        var reply = await cluster.SendAsync<AlterPartitionReply>(Alter(cluster, leaderEpoch: 5, isr: [1, 2]));

        Assert.Equal(ErrorCode.FencedLeaderEpoch, reply.Error);
    }

    [Fact]
    public async Task AlterPartition_with_an_old_partition_epoch_is_an_invalid_update_version()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2, 3]);
        var stale = Alter(cluster, isr: [1, 2]);
        await cluster.SendAsync<AlterPartitionReply>(Alter(cluster, isr: [1, 3]));

        var reply = await cluster.SendAsync<AlterPartitionReply>(stale);

        Assert.Equal(ErrorCode.InvalidUpdateVersion, reply.Error);
        Assert.Equal([1, 3], reply.Isr.ToArray());
    }

    [Fact]
    public async Task AlterPartition_cannot_add_a_fenced_replica_to_the_isr()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2, 3]);
        await cluster.SendAsync<AlterPartitionReply>(Alter(cluster, isr: [1, 2]));
        await cluster.ExpireAsync(3);

        var reply = await cluster.SendAsync<AlterPartitionReply>(Alter(cluster, isr: [1, 2, 3]));

        Assert.Equal(ErrorCode.IneligibleReplica, reply.Error);
        Assert.Equal([1, 2], cluster.Partition("orders").Isr.ToArray());
    }

    [Fact]
    public async Task AlterPartition_without_the_leader_or_with_a_non_replica_is_invalid()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);

        var withoutLeader = await cluster.SendAsync<AlterPartitionReply>(Alter(cluster, isr: [2]));
        var outsider = await cluster.SendAsync<AlterPartitionReply>(Alter(cluster, isr: [1, 3]));

        Assert.Equal(ErrorCode.InvalidRequest, withoutLeader.Error);
        Assert.Equal(ErrorCode.InvalidRequest, outsider.Error);
    }

    [Fact]
    public async Task Preferred_election_moves_leadership_back_to_the_first_replica()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);
        await cluster.ExpireAsync(1);
        await cluster.HeartbeatAsync(1);
        await cluster.AlterIsrAsync("orders", 0, 2, 1);
        Assert.Equal(2, cluster.Partition("orders").Leader);

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new ElectLeadersCommand(ElectionType.Preferred, [new("orders", 0)]));

        Assert.Equal(ErrorCode.None, Assert.Single(reply.Partitions).Error);
        Assert.Equal(1, cluster.Partition("orders").Leader);
    }

    [Fact]
    public async Task Preferred_election_is_not_needed_when_the_preferred_replica_leads()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new ElectLeadersCommand(ElectionType.Preferred, [new("orders", 0)]));

        Assert.Equal(ErrorCode.ElectionNotNeeded, Assert.Single(reply.Partitions).Error);
    }

    [Fact]
    public async Task Preferred_election_fails_when_the_preferred_replica_is_out_of_sync()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);
        await cluster.ExpireAsync(1);
        await cluster.HeartbeatAsync(1);

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new ElectLeadersCommand(ElectionType.Preferred, [new("orders", 0)]));

        Assert.Equal(ErrorCode.PreferredLeaderNotAvailable, Assert.Single(reply.Partitions).Error);
        Assert.Equal(2, cluster.Partition("orders").Leader);
    }

    [Fact]
    public async Task Election_for_an_unknown_partition_is_reported_per_partition()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new ElectLeadersCommand(ElectionType.Preferred, [new("orders", 5), new("nope", 0)]));

        Assert.All(reply.Partitions, p => Assert.Equal(ErrorCode.UnknownTopicOrPartition, p.Error));
    }

    [Fact]
    public async Task Unclean_election_gives_a_leaderless_partition_an_out_of_sync_leader()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);
        await cluster.AlterIsrAsync("orders", 0, 1);
        await cluster.ExpireAsync(1);

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new ElectLeadersCommand(ElectionType.Unclean, [new("orders", 0)]));

        Assert.Equal(ErrorCode.None, Assert.Single(reply.Partitions).Error);
        Assert.Equal(2, cluster.Partition("orders").Leader);
        Assert.Equal([2], cluster.Partition("orders").Isr.ToArray());
    }

    [Fact]
    public async Task Unclean_election_is_not_needed_for_a_partition_with_a_leader()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new ElectLeadersCommand(ElectionType.Unclean, [new("orders", 0)]));

        Assert.Equal(ErrorCode.ElectionNotNeeded, Assert.Single(reply.Partitions).Error);
    }

    [Fact]
    public async Task Unclean_election_fails_when_no_replica_is_active()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);
        await cluster.ExpireAsync(1, 2);

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new ElectLeadersCommand(ElectionType.Unclean, [new("orders", 0)]));

        Assert.Equal(ErrorCode.EligibleLeadersNotAvailable, Assert.Single(reply.Partitions).Error);
    }

    [Fact]
    public async Task Election_over_all_partitions_reports_only_those_that_needed_one()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2], [2, 1]);
        await cluster.ExpireAsync(1);
        await cluster.HeartbeatAsync(1);
        await cluster.AlterIsrAsync("orders", 0, 2, 1);

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new ElectLeadersCommand(ElectionType.Preferred, null));

        var outcome = Assert.Single(reply.Partitions);
        Assert.Equal((0, ErrorCode.None), (outcome.Partition, outcome.Error));
    }

    [Fact]
    public async Task Auto_rebalance_moves_leadership_back_to_preferred_replicas_after_its_interval()
    {
        await using var cluster = await ControllerFixture.StartAsync(new QuorumControllerOptions
        {
            AutoLeaderRebalanceEnable = true,
            LeaderImbalanceCheckInterval = TimeSpan.FromSeconds(30),
        });
        await cluster.AddBrokersAsync(1, 2);
        await cluster.CreateTopicAsync("orders", [1, 2]);
        await cluster.ExpireAsync(1);
        await cluster.HeartbeatAsync(1);
        await cluster.AlterIsrAsync("orders", 0, 2, 1);

        cluster.Time.Advance(TimeSpan.FromSeconds(31));
        await cluster.HeartbeatAsync(1);
        await cluster.HeartbeatAsync(2);
        await cluster.TickAsync();

        Assert.Equal(1, cluster.Partition("orders").Leader);
    }

    [Fact]
    public async Task Reassignment_adds_target_replicas_and_keeps_the_leader_until_they_are_in_sync()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new AlterReassignmentsCommand([new("orders", 0, [2, 3])]));

        Assert.Equal(ErrorCode.None, Assert.Single(reply.Partitions).Error);
        var partition = cluster.Partition("orders");
        Assert.Equal([2, 3, 1], partition.Replicas.ToArray());
        Assert.Equal([3], partition.AddingReplicas.ToArray());
        Assert.Equal([1], partition.RemovingReplicas.ToArray());
        Assert.Equal(1, partition.Leader);
    }

    [Fact]
    public async Task Reassignment_completes_when_the_leader_reports_the_target_in_sync()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);
        await cluster.SendAsync<PartitionOutcomesReply>(new AlterReassignmentsCommand([new("orders", 0, [2, 3])]));

        var reply = await cluster.AlterIsrAsync("orders", 0, 1, 2, 3);

        Assert.Equal(ErrorCode.None, reply.Error);
        var partition = cluster.Partition("orders");
        Assert.Equal([2, 3], partition.Replicas.ToArray());
        Assert.Equal([2, 3], partition.Isr.ToArray());
        Assert.Equal(2, partition.Leader);
        Assert.False(partition.IsReassigning);
    }

    [Fact]
    public async Task Cancelling_a_reassignment_restores_the_original_replicas()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);
        await cluster.SendAsync<PartitionOutcomesReply>(new AlterReassignmentsCommand([new("orders", 0, [2, 3])]));

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new AlterReassignmentsCommand([new("orders", 0, null)]));

        Assert.Equal(ErrorCode.None, Assert.Single(reply.Partitions).Error);
        var partition = cluster.Partition("orders");
        // As Kafka's revert: the original replicas, in the order the reassignment had put them.
        Assert.Equal([1, 2], partition.Replicas.Order());
        Assert.Equal(1, partition.Leader);
        Assert.False(partition.IsReassigning);
    }

    [Fact]
    public async Task Cancelling_without_a_reassignment_in_progress_is_refused()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new AlterReassignmentsCommand([new("orders", 0, null)]));

        Assert.Equal(ErrorCode.NoReassignmentInProgress, Assert.Single(reply.Partitions).Error);
    }

    [Fact]
    public async Task Reassignment_to_unknown_or_duplicate_brokers_is_invalid()
    {
        await using var cluster = await ClusterWithTopicAsync([1, 2]);

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new AlterReassignmentsCommand(
            [new("orders", 0, [1, 9]), new("orders", 0, [2, 2]), new("orders", 0, [])]));

        Assert.All(reply.Partitions, p => Assert.Equal(ErrorCode.InvalidReplicaAssignment, p.Error));
        Assert.Equal([1, 2], cluster.Partition("orders").Replicas.ToArray());
    }
}
