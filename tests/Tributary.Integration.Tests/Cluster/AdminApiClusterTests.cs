using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Protocol.Messages;
using Xunit.Abstractions;
using WireError = Tributary.Protocol.ErrorCode;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// The replication admin APIs against real broker processes: ElectLeaders (preferred and unclean), partition
/// reassignment (KIP-455), OffsetForLeaderEpoch (KIP-101/KIP-320) and DescribeQuorum (KIP-595). ElectLeaders goes
/// through Confluent.Kafka's AdminClient (librdkafka implements it); the others are raw frames built with our
/// generated messages (<see cref="RawKafkaExchange"/>), because no client we ship implements them.
/// </summary>
public sealed class AdminApiClusterTests(ITestOutputHelper output)
{
    private const string MetadataTopic = "__cluster_metadata";

    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(20);

    /// <summary>The controller's periodic rebalance would move leadership back on its own; these tests move it by request.</summary>
    private static readonly Dictionary<string, string> NoAutoRebalance = new() { ["auto.leader.rebalance.enable"] = "false" };

    [Fact]
    public async Task Preferred_election_moves_leadership_back_to_the_first_replica_and_a_second_one_is_not_needed()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Overrides = NoAutoRebalance });
        var clients = new ClusterClients(cluster);
        var controller = await cluster.ActiveControllerIdAsync();
        // A preferred replica that is not the controller keeps this about partition leadership, not controller failover.
        var preferred = cluster.Brokers.First(b => b.NodeId != controller).NodeId;
        var replicas = new[] { preferred }.Concat(cluster.Brokers.Select(b => b.NodeId).Where(id => id != preferred)).ToList();
        var topic = ClusterSteps.UniqueTopic("elect-preferred");
        await ClusterSteps.CreatePlacedTopicAsync(clients, topic, replicas);

        cluster.Broker(preferred).Kill();
        await clients.WaitForPartitionAsync(topic, 0, s => s.Leader >= 0 && s.Leader != preferred, StateTimeout);
        await cluster.Broker(preferred).RestartAsync();
        var rejoined = await clients.WaitForPartitionAsync(topic, 0, s => s.Isr.Count == replicas.Count, StateTimeout);
        output.WriteLine($"after restart of the preferred replica {preferred}: {rejoined}");

        var partition = new TopicPartition(topic, 0);
        var first = await ClusterSteps.ElectAsync(clients, ElectionType.Preferred, partition);
        var elected = await clients.WaitForPartitionAsync(topic, 0, s => s.Leader == preferred, TimeSpan.FromSeconds(5));
        var second = await ClusterSteps.ElectAsync(clients, ElectionType.Preferred, partition);

        Assert.NotEqual(preferred, rejoined.Leader);
        Assert.Equal(ErrorCode.NoError, first[partition]);
        Assert.Equal(elected.Replicas[0], elected.Leader);
        Assert.Equal(ErrorCode.ElectionNotNeeded, second[partition]);
    }

    [Fact]
    public async Task Reassignment_is_listed_while_ongoing_then_leaves_the_new_replicas_with_the_data_and_the_old_one_without_the_partition()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var clients = new ClusterClients(cluster);
        var controller = await cluster.ActiveControllerIdAsync();
        // [removed, kept] -> [kept, added]; the added broker is paused (SIGSTOP) while the reassignment starts so that it cannot
        // catch up (and complete it) before it is listed. It is not the controller, so pausing it elects no new one; and, as in
        // KRaft, a target replica only has to be registered, not unfenced.
        var added = cluster.Brokers.First(b => b.NodeId != controller).NodeId;
        var others = cluster.Brokers.Select(b => b.NodeId).Where(id => id != added).Order().ToList();
        var (removed, kept) = (others[0], others[1]);
        var topic = ClusterSteps.UniqueTopic("reassign");
        await ClusterSteps.CreatePlacedTopicAsync(clients, topic, [removed, kept]);
        var keys = ClusterClients.SequenceKeys("ra", 0, 50);
        using (var producer = clients.CreateProducer())
        {
            Assert.All(ClusterClients.ProduceAndWait(producer, topic, keys, TimeSpan.FromSeconds(30)), c => Assert.Equal(ErrorCode.NoError, c));
        }

        var asked = cluster.Broker(kept);
        AlterPartitionReassignmentsResponse alter;
        ListPartitionReassignmentsResponse ongoing;
        cluster.Broker(added).Pause();
        try
        {
            alter = await RawKafkaExchange.SendAsync<AlterPartitionReassignmentsResponse>(asked, Reassign(topic, [kept, added]), version: 0);
            // The answer comes once this broker applied the change, so its own List shows it.
            ongoing = await RawKafkaExchange.SendAsync<ListPartitionReassignmentsResponse>(asked, ListReassignments(topic), version: 0);
        }
        finally
        {
            cluster.Broker(added).Resume();
        }

        var listed = ongoing.Topics.SingleOrDefault(t => t.Name == topic)?.Partitions.SingleOrDefault(p => p.PartitionIndex == 0);
        output.WriteLine($"listed while {added} was paused: replicas [{Join(listed?.Replicas)}], adding [{Join(listed?.AddingReplicas)}], removing [{Join(listed?.RemovingReplicas)}]");

        var finished = await Eventually.ValueAsync(
            () => RawKafkaExchange.SendAsync<ListPartitionReassignmentsResponse>(asked, ListReassignments(topic), version: 0),
            r => r.Topics.Count == 0,
            StateTimeout);
        var after = await clients.WaitForPartitionAsync(topic, 0, s => s.Replicas.Count == 2 && s.Leader >= 0, StateTimeout);
        // Completion moved leadership; a new leader's high watermark trails until its in-sync follower fetches from it
        // (Kafka answers ListOffsets latest with OFFSET_NOT_AVAILABLE meanwhile, and a fetch stops at the stale mark).
        var settledEnd = await Eventually.ValueAsync(() => LatestOffsetAsync(clients, topic), end => end == keys.Count, StateTimeout);
        var read = clients.ReadAll(topic, 1, TimeSpan.FromSeconds(30)).Select(r => r.Key).ToList();
        var oldDirectory = Path.Combine(cluster.Broker(removed).DataDirectory, $"{topic}-0");
        var oldDirectoryGone = await Eventually.ValueAsync(() => Task.FromResult(!Directory.Exists(oldDirectory)), gone => gone, TimeSpan.FromSeconds(10));
        var cancel = await RawKafkaExchange.SendAsync<AlterPartitionReassignmentsResponse>(asked, Reassign(topic, null), version: 0);
        output.WriteLine($"after the reassignment: {after}; latest offset {settledEnd}; read {read.Count} records; {oldDirectory} gone: {oldDirectoryGone}");

        Assert.Equal((short)WireError.None, alter.ErrorCode);
        Assert.Equal((short)WireError.None, alter.Responses.Single().Partitions.Single().ErrorCode);
        Assert.NotNull(listed);
        Assert.Equal(new[] { removed, kept, added }.Order(), listed.Replicas.Order());
        Assert.Equal(new[] { added }, listed.AddingReplicas);
        Assert.Equal(new[] { removed }, listed.RemovingReplicas);
        Assert.Empty(finished.Topics);
        Assert.Equal(new[] { kept, added }, after.Replicas);
        Assert.Subset(new HashSet<int> { kept, added }, after.Isr.ToHashSet());
        Assert.Equal(keys, read);
        Assert.True(oldDirectoryGone, $"{oldDirectory} still exists 10 s after broker {removed} left the replica set");
        Assert.Equal((short)WireError.None, cancel.ErrorCode);
        Assert.Equal((short)WireError.NoReassignmentInProgress, cancel.Responses.Single().Partitions.Single().ErrorCode);
    }

    /// <summary>
    /// Kafka's answers (Partition.lastOffsetForLeaderEpoch, LeaderEpochFileCache.endOffsetFor): an earlier epoch ends where
    /// the next one starts, the leader's own epoch ends at its log end; a requested epoch above every epoch the leader
    /// knows is not an error but "undefined" (NONE, epoch -1, offset -1); a current_leader_epoch newer than the leader's
    /// is UNKNOWN_LEADER_EPOCH; and only the leader serves it (ReplicaManager.lastOffsetForLeaderEpoch passes
    /// fetchOnlyFromLeader = true), so a follower answers NOT_LEADER_OR_FOLLOWER.
    /// </summary>
    [Fact]
    public async Task OffsetForLeaderEpoch_after_a_leader_change_ends_the_old_epoch_where_the_new_one_starts()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var clients = new ClusterClients(cluster);
        var controller = await cluster.ActiveControllerIdAsync();
        var firstLeader = cluster.Brokers.First(b => b.NodeId != controller).NodeId;
        var replicas = new[] { firstLeader }.Concat(cluster.Brokers.Select(b => b.NodeId).Where(id => id != firstLeader)).ToList();
        var topic = ClusterSteps.UniqueTopic("epoch-end");
        await ClusterSteps.CreatePlacedTopicAsync(clients, topic, replicas);
        using var producer = clients.CreateProducer();

        var oldEpoch = await LeaderEpochAsync(cluster.Broker(firstLeader), topic);
        Assert.All(ClusterClients.ProduceAndWait(producer, topic, ClusterClients.SequenceKeys("e0", 0, 10), TimeSpan.FromSeconds(30)),
            c => Assert.Equal(ErrorCode.NoError, c));
        Assert.Equal(oldEpoch, await LeaderEpochAsync(cluster.Broker(firstLeader), topic));

        cluster.Broker(firstLeader).Kill();
        // Leader moved and the dead broker left the ISR: the partition state is settled before the new epoch's records.
        var moved = await clients.WaitForPartitionAsync(topic, 0, s => s.Leader >= 0 && s.Leader != firstLeader && !s.Isr.Contains(firstLeader), StateTimeout);
        var newLeader = cluster.Broker(moved.Leader);
        var follower = cluster.Brokers.Single(b => b.NodeId != firstLeader && b.NodeId != moved.Leader);
        var newEpoch = await LeaderEpochAsync(newLeader, topic);
        Assert.All(ClusterClients.ProduceAndWait(producer, topic, ClusterClients.SequenceKeys("e1", 0, 5), TimeSpan.FromSeconds(30)),
            c => Assert.Equal(ErrorCode.NoError, c));
        Assert.Equal(newEpoch, await LeaderEpochAsync(newLeader, topic));

        var previous = await EpochEndAsync(newLeader, topic, currentLeaderEpoch: newEpoch, leaderEpoch: oldEpoch);
        var current = await EpochEndAsync(newLeader, topic, currentLeaderEpoch: newEpoch, leaderEpoch: newEpoch);
        var beyond = await EpochEndAsync(newLeader, topic, currentLeaderEpoch: -1, leaderEpoch: newEpoch + 5);
        var unknownCurrent = await EpochEndAsync(newLeader, topic, currentLeaderEpoch: newEpoch + 5, leaderEpoch: newEpoch);
        var atFollower = await EpochEndAsync(follower, topic, currentLeaderEpoch: -1, leaderEpoch: oldEpoch);
        output.WriteLine($"epochs {oldEpoch} -> {newEpoch} (leader {firstLeader} -> {moved.Leader}); previous {Show(previous)}, current {Show(current)}, " +
                         $"beyond {Show(beyond)}, unknown current {Show(unknownCurrent)}, at follower {follower.NodeId} {Show(atFollower)}");

        Assert.True(newEpoch > oldEpoch, $"leader epoch {oldEpoch} -> {newEpoch}");
        Assert.Equal(((short)WireError.None, oldEpoch, 10L), (previous.ErrorCode, previous.LeaderEpoch, previous.EndOffset));
        Assert.Equal(((short)WireError.None, newEpoch, 15L), (current.ErrorCode, current.LeaderEpoch, current.EndOffset));
        Assert.Equal(((short)WireError.None, -1, -1L), (beyond.ErrorCode, beyond.LeaderEpoch, beyond.EndOffset));
        Assert.Equal((short)WireError.UnknownLeaderEpoch, unknownCurrent.ErrorCode);
        Assert.Equal((short)WireError.NotLeaderOrFollower, atFollower.ErrorCode);
    }

    [Fact]
    public async Task DescribeQuorum_names_the_active_controller_as_leader_and_every_voter()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var controller = await cluster.ActiveControllerIdAsync();
        var other = cluster.Brokers.First(b => b.NodeId != controller);

        var atController = await DescribeQuorumAsync(cluster.Broker(controller), MetadataTopic);
        var atOther = await DescribeQuorumAsync(other, MetadataTopic);
        var wrongTopic = await DescribeQuorumAsync(cluster.Broker(controller), "not-the-metadata-topic");
        output.WriteLine($"controller {controller}: leader {atController.LeaderId} epoch {atController.LeaderEpoch} hw {atController.HighWatermark} " +
                         $"voters [{string.Join(',', atController.CurrentVoters.Select(v => $"{v.ReplicaId}@{v.LogEndOffset}"))}]; broker {other.NodeId} says leader {atOther.LeaderId}");

        Assert.Equal((short)WireError.None, atController.ErrorCode);
        Assert.Equal(controller, atController.LeaderId);
        Assert.Equal(new[] { 1, 2, 3 }, atController.CurrentVoters.Select(v => v.ReplicaId).Order());
        Assert.True(atController.HighWatermark > 0, $"high watermark {atController.HighWatermark}");
        Assert.Equal((short)WireError.None, atOther.ErrorCode);
        Assert.Equal(controller, atOther.LeaderId);
        Assert.Equal((short)WireError.UnknownTopicOrPartition, wrongTopic.ErrorCode);
    }

    /// <summary>
    /// Replicas [4, v] on 4 brokers (voters 1-3, observer 4; v a non-controller voter), so that the two kills below never
    /// take a majority of the metadata quorum. v is killed and drops out of the ISR; records are acknowledged by 4 alone;
    /// 4 is killed: no replica is alive. When v comes back it is the only survivor and is out of sync. With
    /// unclean.leader.election.enable=true the controller elects it (losing what only 4 had); with false the partition stays
    /// offline (LEADER_NOT_AVAILABLE) until an explicit unclean ElectLeaders, which Kafka honours whatever the config.
    /// </summary>
    [Fact]
    public async Task Only_an_out_of_sync_survivor_leads_when_unclean_election_is_enabled_and_otherwise_the_partition_stays_offline()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 4, Overrides = NoAutoRebalance });
        var clients = new ClusterClients(cluster);
        var controller = await cluster.ActiveControllerIdAsync();
        var survivor = cluster.Brokers.First(b => b.IsVoter && b.NodeId != controller).NodeId;
        const int lastLeader = 4;
        var unclean = ClusterSteps.UniqueTopic("unclean-on");
        var clean = ClusterSteps.UniqueTopic("unclean-off");
        await ClusterSteps.CreatePlacedTopicAsync(clients, unclean, [lastLeader, survivor], new Dictionary<string, string> { ["unclean.leader.election.enable"] = "true" });
        await ClusterSteps.CreatePlacedTopicAsync(clients, clean, [lastLeader, survivor], new Dictionary<string, string> { ["unclean.leader.election.enable"] = "false" });
        using var producer = clients.CreateProducer();
        var inSync = ClusterClients.SequenceKeys("in-sync", 0, 3);
        foreach (var topic in new[] { unclean, clean })
        {
            Assert.All(ClusterClients.ProduceAndWait(producer, topic, inSync, TimeSpan.FromSeconds(30)), c => Assert.Equal(ErrorCode.NoError, c));
        }

        cluster.Broker(survivor).Kill();
        foreach (var topic in new[] { unclean, clean })
        {
            await clients.WaitForPartitionAsync(topic, 0, s => s.Leader == lastLeader && s.Isr.SequenceEqual([lastLeader]), StateTimeout);
            Assert.All(ClusterClients.ProduceAndWait(producer, topic, ClusterClients.SequenceKeys("only-on-4", 0, 5), TimeSpan.FromSeconds(30)),
                c => Assert.Equal(ErrorCode.NoError, c));
        }

        cluster.Broker(lastLeader).Kill();
        var probe = cluster.Broker(controller);
        foreach (var topic in new[] { unclean, clean })
        {
            await Eventually.ValueAsync(() => RawKafkaExchange.PartitionMetadataAsync(probe, topic, 0), p => p?.LeaderId == -1, StateTimeout);
        }

        await cluster.Broker(survivor).RestartAsync();
        var elected = await clients.WaitForPartitionAsync(unclean, 0, s => s.Leader == survivor, StateTimeout);
        // The controller considers both partitions in the same pass; a further second of ticks (250 ms apart) must not elect the other.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var offline = await RawKafkaExchange.PartitionMetadataAsync(probe, clean, 0);
        var survivorsEnd = await Eventually.ValueAsync(() => LatestOffsetAsync(clients, unclean), end => end >= 0, StateTimeout);
        var forced = await ClusterSteps.ElectAsync(clients, ElectionType.Unclean, new TopicPartition(clean, 0));
        var forcedState = await clients.WaitForPartitionAsync(clean, 0, s => s.Leader == survivor, TimeSpan.FromSeconds(5));
        output.WriteLine($"unclean-enabled: {elected}, log end {survivorsEnd}; unclean-disabled: leader {offline?.LeaderId} error {offline?.ErrorCode}; forced: {forcedState}");

        Assert.Equal(new[] { survivor }, elected.Isr);
        Assert.Equal(inSync.Count, survivorsEnd); // the 5 acknowledged records only broker 4 had are gone: the survivor was out of sync
        Assert.NotNull(offline);
        Assert.Equal(-1, offline.LeaderId);
        Assert.Equal((short)WireError.LeaderNotAvailable, offline.ErrorCode);
        Assert.Equal(ErrorCode.NoError, forced[new TopicPartition(clean, 0)]);
    }

    /// <summary>The partition's latest offset through librdkafka's admin ListOffsets (no consumer group, so no
    /// __consumer_offsets topic to create on a cluster that is still recovering); -1 while the leader answers with an error.</summary>
    private static async Task<long> LatestOffsetAsync(ClusterClients clients, string topic)
    {
        using var admin = clients.CreateAdmin();
        try
        {
            var result = await admin.ListOffsetsAsync(
                [new TopicPartitionOffsetSpec { TopicPartition = new TopicPartition(topic, 0), OffsetSpec = OffsetSpec.Latest() }],
                new ListOffsetsOptions { RequestTimeout = ClusterClients.AdminTimeout });
            return result.ResultInfos.Single().TopicPartitionOffsetError.Offset.Value;
        }
        catch (KafkaException)
        {
            return -1; // e.g. OFFSET_NOT_AVAILABLE right after a leader change
        }
    }

    private static AlterPartitionReassignmentsRequest Reassign(string topic, List<int>? replicas) => new()
    {
        TimeoutMs = 15_000,
        Topics =
        [
            new AlterPartitionReassignmentsRequest.ReassignableTopic
            {
                Name = topic,
                Partitions = [new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = 0, Replicas = replicas }],
            },
        ],
    };

    private static ListPartitionReassignmentsRequest ListReassignments(string topic) => new()
    {
        TimeoutMs = 15_000,
        Topics = [new ListPartitionReassignmentsRequest.ListPartitionReassignmentsTopics { Name = topic, PartitionIndexes = [0] }],
    };

    /// <summary>The partition's leader epoch as <paramref name="broker"/> reports it in Metadata v9.</summary>
    private static async Task<int> LeaderEpochAsync(ClusterBroker broker, string topic) =>
        (await RawKafkaExchange.PartitionMetadataAsync(broker, topic, 0))?.LeaderEpoch
        ?? throw new InvalidOperationException($"Broker {broker.NodeId} does not know {topic}-0.");

    /// <summary>Consumer-style OffsetForLeaderEpoch v4 (replica id -1, current-epoch fencing) for partition 0 of <paramref name="topic"/>.</summary>
    private static async Task<OffsetForLeaderEpochResponse.EpochEndOffset> EpochEndAsync(
        ClusterBroker broker, string topic, int currentLeaderEpoch, int leaderEpoch)
    {
        var request = new OffsetForLeaderEpochRequest
        {
            ReplicaId = -1, // a consumer checking for truncation (KIP-320)
            Topics =
            [
                new OffsetForLeaderEpochRequest.OffsetForLeaderTopic
                {
                    Topic = topic,
                    Partitions =
                    [
                        new OffsetForLeaderEpochRequest.OffsetForLeaderPartition
                        {
                            Partition = 0, CurrentLeaderEpoch = currentLeaderEpoch, LeaderEpoch = leaderEpoch,
                        },
                    ],
                },
            ],
        };
        var response = await RawKafkaExchange.SendAsync<OffsetForLeaderEpochResponse>(broker, request, version: 4);
        return response.Topics.Single().Partitions.Single();
    }

    /// <summary>DescribeQuorum v1 for partition 0 of <paramref name="topic"/>, alone in its request (Kafka answers a request
    /// naming anything but __cluster_metadata-0 with that error on every partition it names).</summary>
    private static async Task<DescribeQuorumResponse.PartitionData> DescribeQuorumAsync(ClusterBroker broker, string topic)
    {
        var request = new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = topic, Partitions = [new DescribeQuorumRequest.PartitionData { PartitionIndex = 0 }] }],
        };
        var response = await RawKafkaExchange.SendAsync<DescribeQuorumResponse>(broker, request, version: 1);
        Assert.Equal((short)WireError.None, response.ErrorCode);
        return response.Topics.Single().Partitions.Single();
    }

    private static string Show(OffsetForLeaderEpochResponse.EpochEndOffset e) => $"({(WireError)e.ErrorCode}, {e.LeaderEpoch}, {e.EndOffset})";

    private static string Join(IEnumerable<int>? ids) => ids is null ? "-" : string.Join(',', ids);
}
