using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Metrics;
using Tributary.Broker.Replication.Fetcher;
using Tributary.Protocol;

namespace Tributary.Broker.Tests.Replication.Fetcher;

/// <summary>
/// A follower log fetching from a real in-process leader over TCP. The follower's broker id is registered with the leader's
/// controller and is the partition's second replica (in the ISR), so the leader serves its fetches as Kafka's does: up to
/// the log end, and its high watermark advances only as the follower fetches.
/// </summary>
public sealed class ReplicaFetcherTests
{
    private const int FollowerId = 2;
    private static readonly int[] Replicas = [LeaderBrokerForTests.NodeId, FollowerId];
    private static readonly TimeSpan CatchUpTimeout = TimeSpan.FromSeconds(20);

    private static readonly FetcherOptions Options = new() { MaxWaitMs = 500, BackoffMs = 100, SocketTimeoutMs = 10_000 };

    [Fact]
    public async Task Follower_log_becomes_byte_identical_to_the_leader_batch_by_batch()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var (topicId, epoch) = await leader.CreateTopicAsync("follow", Replicas);
        await leader.ProduceAsync("follow", 3);
        await leader.ProduceAsync("follow", 1);
        using var follower = new PartitionLogFollowerForTests("follow", topicId, epoch);
        await using var fetchers = new ReplicaFetcherManager(FollowerId, () => brokerEpoch, Options, NullLoggerFactory.Instance);

        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", leader.Port);
        await WaitUntilAsync(() => follower.LogEndOffset == 4);
        await leader.ProduceAsync("follow", 5);
        await leader.ProduceAsync("follow", 2);
        await WaitUntilAsync(() => follower.LogEndOffset == 11);

        // The leader's high watermark reaches 11 only once the follower fetched from 11: it counts the follower's copy.
        Assert.Equal(await leader.ReadCommittedAsync(topicId, highWatermark: 11), follower.ReadBatches());
    }

    [Fact]
    public async Task The_follower_hears_of_the_leaders_log_start_moving_up_after_delete_records()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var (topicId, epoch) = await leader.CreateTopicAsync("trim", Replicas);
        await leader.ProduceAsync("trim", 3);
        await leader.ProduceAsync("trim", 3);
        using var follower = new PartitionLogFollowerForTests("trim", topicId, epoch);
        await using var fetchers = new ReplicaFetcherManager(FollowerId, () => brokerEpoch, Options, NullLoggerFactory.Instance);
        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", leader.Port);
        await WaitUntilAsync(() => follower.HighWatermark == 6);

        await leader.DeleteRecordsBeforeAsync("trim", 3);
        await leader.ProduceAsync("trim", 1);

        await WaitUntilAsync(() =>
        {
            lock (follower.LeaderLogStarts)
            {
                return follower.LeaderLogStarts.Contains(3);
            }
        });
    }

    [Fact]
    public async Task Follower_high_watermark_follows_the_leader_and_lag_drops_to_zero()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var (topicId, epoch) = await leader.CreateTopicAsync("hw", Replicas);
        await leader.ProduceAsync("hw", 4);
        using var follower = new PartitionLogFollowerForTests("hw", topicId, epoch);
        await using var fetchers = new ReplicaFetcherManager(FollowerId, () => brokerEpoch, Options, NullLoggerFactory.Instance);

        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", leader.Port);
        await leader.ProduceAsync("hw", 6);
        await WaitUntilAsync(() => follower.HighWatermark == 10);

        Assert.True(fetchers.TryGetStatus("hw", 0, out var status));
        Assert.Equal((10L, 10L, 0L, LeaderBrokerForTests.NodeId), (status.LastLeaderHighWatermark, status.LogEndOffset, status.Lag, status.LeaderId));
        Assert.Equal(10, (await leader.ReadAllAsync(topicId)).HighWatermark);
    }

    [Fact]
    public async Task The_follower_records_its_fetch_build_fetch_wait_and_append_stages()
    {
        using var meter = new Meter("Tributary.Broker.Tests.FollowerStages." + Guid.NewGuid().ToString("N"));
        var recorded = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            lock (recorded)
            {
                recorded.Add((string)tags[0].Value!);
            }
        });
        listener.Start();
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var (topicId, epoch) = await leader.CreateTopicAsync("stages", Replicas);
        await leader.ProduceAsync("stages", 2);
        using var follower = new PartitionLogFollowerForTests("stages", topicId, epoch);
        await using var fetchers = new ReplicaFetcherManager(FollowerId, () => brokerEpoch, Options, NullLoggerFactory.Instance,
            stages: new ProduceStageMetrics(meter));

        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", leader.Port);
        await WaitUntilAsync(() => follower.LogEndOffset == 2);
        await WaitUntilAsync(() =>
        {
            lock (recorded)
            {
                return recorded.Contains("follower_append");
            }
        });

        lock (recorded)
        {
            Assert.Contains("follower_fetch_build", recorded);
            Assert.Contains("follower_fetch_wait", recorded);
        }
    }

    [Fact]
    public async Task A_small_partition_limit_still_makes_progress_one_whole_batch_at_a_time()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var (topicId, epoch) = await leader.CreateTopicAsync("small", Replicas);
        for (var i = 0; i < 4; i++)
        {
            await leader.ProduceAsync("small", 3, valueSize: 200);
        }

        using var follower = new PartitionLogFollowerForTests("small", topicId, epoch);
        await using var fetchers = new ReplicaFetcherManager(FollowerId, () => brokerEpoch, Options with { PartitionMaxBytes = 100 },
            NullLoggerFactory.Instance);

        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", leader.Port);
        await WaitUntilAsync(() => follower.LogEndOffset == 12);

        Assert.Equal(await leader.ReadCommittedAsync(topicId, highWatermark: 12), follower.ReadBatches());
    }

    [Fact]
    public async Task An_idle_caught_up_follower_long_polls_instead_of_spinning()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var (topicId, epoch) = await leader.CreateTopicAsync("idle", Replicas);
        await leader.ProduceAsync("idle", 1);
        using var follower = new PartitionLogFollowerForTests("idle", topicId, epoch);
        await using var fetchers = new ReplicaFetcherManager(FollowerId, () => brokerEpoch, Options, NullLoggerFactory.Instance);
        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", leader.Port);
        await WaitUntilAsync(() => follower.LogEndOffset == 1);

        var before = fetchers.FetchRequestsSent;
        await Task.Delay(TimeSpan.FromSeconds(1));
        var during = fetchers.FetchRequestsSent - before;

        // MaxWaitMs = 500: about two fetches per idle second; a busy loop would send hundreds.
        Assert.InRange(during, 1, 4);
    }

    [Fact]
    public async Task Removing_a_partition_stops_fetching_it()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var (topicId, epoch) = await leader.CreateTopicAsync("removed", Replicas);
        await leader.ProduceAsync("removed", 2);
        using var follower = new PartitionLogFollowerForTests("removed", topicId, epoch);
        await using var fetchers = new ReplicaFetcherManager(FollowerId, () => brokerEpoch, Options, NullLoggerFactory.Instance);
        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", leader.Port);
        await WaitUntilAsync(() => follower.LogEndOffset == 2);

        fetchers.Remove("removed", 0);
        var requestsAfterRemoval = fetchers.FetchRequestsSent;
        await leader.ProduceAsync("removed", 3);
        await Task.Delay(TimeSpan.FromMilliseconds(1200));

        Assert.Empty(fetchers.Assigned);
        Assert.Equal(2, follower.LogEndOffset);
        Assert.Equal(requestsAfterRemoval, fetchers.FetchRequestsSent);
    }

    [Fact]
    public async Task A_follower_ahead_of_the_leader_truncates_to_the_leader_end_and_then_follows_it()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var (topicId, epoch) = await leader.CreateTopicAsync("ahead", Replicas);
        await leader.ProduceAsync("ahead", 5);
        using var follower = new PartitionLogFollowerForTests("ahead", topicId, epoch);
        follower.AppendBatch(epoch, records: 10);
        await using var fetchers = new ReplicaFetcherManager(FollowerId, () => brokerEpoch, Options, NullLoggerFactory.Instance);

        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", leader.Port);
        await WaitUntilAsync(() => follower.LogEndOffset == 0 || follower.LogEndOffset == 5);
        await leader.ProduceAsync("ahead", 2);
        await WaitUntilAsync(() => follower.LogEndOffset == 7);

        Assert.Equal(7, follower.LogEndOffset);
        Assert.Equal([(await leader.ReadCommittedAsync(topicId, highWatermark: 7))[^1]], follower.ReadBatches()[^1..]);
    }

    [Fact]
    public async Task An_unreachable_leader_keeps_the_partition_assigned_and_a_new_address_resumes_fetching()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var (topicId, epoch) = await leader.CreateTopicAsync("moved", Replicas);
        await leader.ProduceAsync("moved", 3);
        using var follower = new PartitionLogFollowerForTests("moved", topicId, epoch);
        await using var fetchers = new ReplicaFetcherManager(FollowerId, () => brokerEpoch, Options, NullLoggerFactory.Instance);

        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", ClosedPort());
        await Task.Delay(TimeSpan.FromMilliseconds(400));
        Assert.Equal([("moved", 0, LeaderBrokerForTests.NodeId)], fetchers.Assigned);
        Assert.Equal(0, follower.LogEndOffset);

        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", leader.Port);
        await WaitUntilAsync(() => follower.LogEndOffset == 3);
    }

    [Fact]
    public async Task A_fenced_epoch_backs_the_partition_off_without_appending()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var (topicId, epoch) = await leader.CreateTopicAsync("fenced", Replicas);
        await leader.ProduceAsync("fenced", 3);
        using var follower = new PartitionLogFollowerForTests("fenced", topicId, leaderEpoch: epoch + 5);
        await using var fetchers = new ReplicaFetcherManager(FollowerId, () => brokerEpoch, Options, NullLoggerFactory.Instance);

        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", leader.Port);
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.Equal(0, follower.LogEndOffset);

        // Metadata catches up: with the epoch the leader has, fetching resumes.
        follower.LeaderEpoch = epoch;
        await WaitUntilAsync(() => follower.LogEndOffset == 3);
    }

    [Fact]
    public async Task The_leader_answers_a_follower_fetch_from_a_broker_outside_the_replica_set_with_not_leader_or_follower()
    {
        const int outsiderId = 3;
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var outsiderEpoch = await leader.RegisterBrokerAsync(outsiderId);
        var (topicId, epoch) = await leader.CreateTopicAsync("outsider", Replicas);
        await leader.ProduceAsync("outsider", 3);

        var outsider = await leader.FetchAsReplicaAsync(topicId, outsiderId, outsiderEpoch, epoch, fetchOffset: 0);
        var replica = await leader.FetchAsReplicaAsync(topicId, FollowerId, brokerEpoch, epoch, fetchOffset: 0);

        Assert.Equal(((short)ErrorCode.NotLeaderOrFollower, 0), (outsider.ErrorCode, outsider.Records.GetValueOrDefault().Length));
        // The same fetch from a replica is served: the refusal is about who asks, not what is asked.
        Assert.Equal(((short)ErrorCode.None, 1), (replica.ErrorCode, LeaderBrokerForTests.SplitBatches(replica.Records.GetValueOrDefault()).Count));
    }

    [Fact]
    public async Task An_idle_follower_keeps_one_fetch_session_whose_epoch_advances_with_each_fetch()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var (topicId, epoch) = await leader.CreateTopicAsync("session", Replicas);
        await leader.ProduceAsync("session", 2);
        using var follower = new PartitionLogFollowerForTests("session", topicId, epoch);
        await using var fetchers = new ReplicaFetcherManager(FollowerId, () => brokerEpoch, Options, NullLoggerFactory.Instance);
        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", leader.Port);
        await WaitUntilAsync(() => follower.LogEndOffset == 2 && leader.FetchSessions.SessionCount == 1);
        var session = leader.FetchSessions.SessionIds().Single();
        var epochBefore = leader.FetchSessions.Find(session)!.Epoch;

        await WaitUntilAsync(() => leader.FetchSessions.Find(session)?.Epoch >= epochBefore + 2);
        await leader.ProduceAsync("session", 3);
        await WaitUntilAsync(() => follower.LogEndOffset == 5);

        Assert.Equal([session], leader.FetchSessions.SessionIds());
    }

    [Fact]
    public async Task A_follower_whose_session_the_leader_lost_falls_back_to_a_full_fetch_and_keeps_following()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var brokerEpoch = await leader.RegisterBrokerAsync(FollowerId);
        var (topicId, epoch) = await leader.CreateTopicAsync("lost", Replicas);
        await leader.ProduceAsync("lost", 1);
        using var follower = new PartitionLogFollowerForTests("lost", topicId, epoch);
        await using var fetchers = new ReplicaFetcherManager(FollowerId, () => brokerEpoch, Options, NullLoggerFactory.Instance);
        fetchers.SetLeader(follower, LeaderBrokerForTests.NodeId, "127.0.0.1", leader.Port);
        await WaitUntilAsync(() => follower.LogEndOffset == 1 && leader.FetchSessions.SessionCount == 1);
        var lost = leader.FetchSessions.SessionIds().Single();

        // As after a leader restart or an eviction: the follower's next incremental fetch names a session the leader lacks.
        Assert.True(leader.FetchSessions.Remove(lost));
        await leader.ProduceAsync("lost", 4);
        await WaitUntilAsync(() => follower.LogEndOffset == 5 && leader.FetchSessions.SessionCount == 1);

        Assert.NotEqual(lost, leader.FetchSessions.SessionIds().Single());
        Assert.Equal(await leader.ReadCommittedAsync(topicId, highWatermark: 5), follower.ReadBatches());
    }

    private static int ClosedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + CatchUpTimeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(20);
        }
    }
}
