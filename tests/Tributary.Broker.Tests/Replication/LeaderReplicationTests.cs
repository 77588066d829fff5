using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Broker.Tests.Replication;

/// <summary>
/// The leader's side of replication on a real log: the high watermark follows the slowest in-sync replica, acks=all
/// waits for it, and the ISR changes the leader proposes to the controller. Time is a <see cref="FakeTimeProvider"/>:
/// lag limits and timeouts pass when the test advances it, never by sleeping.
/// </summary>
public sealed class LeaderReplicationTests : IDisposable
{
    private const long Now = 1_700_000_000_000;
    private const int Leader = 1;

    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-leader-replication-" + Guid.NewGuid().ToString("N"));
    private readonly Uuid _topicId = Uuid.NewRandom();
    private readonly LogManager _logs;
    private const long LagTimeMaxMs = 10_000;
    private const int AcksTimeoutMs = 30_000;

    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(Now));
    private readonly FakeAlterPartitionSender _isrRequests = new();
    private readonly ReplicaManager _replicas;

    public LeaderReplicationTests()
    {
        _logs = LogManager.Open(new LogManagerOptions { LogDirs = [_logDir], HighWatermarkFollowsLogEnd = false });
        _replicas = new ReplicaManager(Leader, _logs, _ => LogConfig.Default, _ => 2, NullLogger.Instance, _time, fetchers: null, _isrRequests,
            LagTimeMaxMs);
        Apply(replicas: [1, 2, 3], isr: [1, 2, 3], leaderEpoch: 0, partitionEpoch: 0);
    }

    public void Dispose()
    {
        _replicas.Dispose();
        _logs.Close();
        try
        {
            Directory.Delete(_logDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private TopicImage Topic(int[] replicas, int[] isr, int leaderEpoch, int partitionEpoch, int leader = Leader) =>
        new("events", _topicId, [new PartitionImage(0, [.. replicas], leader, leaderEpoch, [.. isr], partitionEpoch)],
            ImmutableDictionary<string, string>.Empty);

    private void Apply(int[] replicas, int[] isr, int leaderEpoch, int partitionEpoch, int leader = Leader)
    {
        var topic = Topic(replicas, isr, leaderEpoch, partitionEpoch, leader);
        var brokers = ImmutableDictionary<int, BrokerRegistration>.Empty
            .Add(1, new BrokerRegistration(1, "127.0.0.1", 1, null, 1))
            .Add(2, new BrokerRegistration(2, "127.0.0.1", 2, null, 2))
            .Add(3, new BrokerRegistration(3, "127.0.0.1", 3, null, 3));
        var topics = ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal).Add(topic.Name, topic);
        _replicas.ApplyImage(new MetadataImage("cluster", 1, brokers, topics, 1));
    }

    private Partition Partition => _replicas.TryGetPartition("events", 0, out var partition) ? partition : throw new InvalidOperationException();

    private static byte[] Batch(int count)
    {
        var builder = new RecordBatchBuilder();
        for (int i = 0; i < count; i++)
        {
            builder.Append(Now, null, Encoding.UTF8.GetBytes($"record-{i}"));
        }

        return builder.Build();
    }

    private PartitionAppend Append(int count, short acks = -1) =>
        _replicas.Append(_replicas.AppliedImage.Topics["events"], 0, Batch(count), acks, AcksTimeoutMs, CancellationToken.None);

    private AppendOutcome Produce(int count, short acks = -1) => Append(count, acks).Outcome;

    private ReadOutcome Fetch(int replicaId, long offset, int currentLeaderEpoch = -1, int lastFetchedEpoch = -1, long replicaBrokerEpoch = -1) =>
        _replicas.FetchAsync(new FetchParams(replicaId, replicaBrokerEpoch, MaxWaitMs: 0, MinBytes: 0, MaxBytes: 1 << 20),
            [new FetchPartitionRequest("events", 0, offset, 1 << 20, currentLeaderEpoch, lastFetchedEpoch)], CancellationToken.None).Result[0];

    private void FollowerFetches(int replica, long offset) => Fetch(replica, offset, Partition.LeaderEpoch);

    [Fact]
    public void The_high_watermark_is_the_lowest_log_end_offset_among_the_in_sync_replicas()
    {
        Produce(5);
        Assert.Equal(0, Partition.HighWatermark);

        FollowerFetches(2, 5);
        Assert.Equal(0, Partition.HighWatermark);

        FollowerFetches(3, 3);
        Assert.Equal(3, Partition.HighWatermark);

        FollowerFetches(3, 5);
        Assert.Equal(5, Partition.HighWatermark);
    }

    [Fact]
    public void A_follower_fetch_gets_records_beyond_the_high_watermark_but_a_consumer_does_not()
    {
        Produce(5);

        var follower = Fetch(2, 0, currentLeaderEpoch: 0);
        var consumer = Fetch(-1, 0, currentLeaderEpoch: 0);

        Assert.Equal(ErrorCode.None, follower.Error);
        Assert.False(follower.Records.IsEmpty);
        Assert.Equal(ErrorCode.None, consumer.Error);
        Assert.True(consumer.Records.IsEmpty);
    }

    [Fact]
    public async Task Acks_all_completes_once_every_in_sync_replica_has_the_records()
    {
        var wait = Append(4).Committed;
        FollowerFetches(2, 4);
        Assert.False(wait.IsCompleted);

        FollowerFetches(3, 4);

        Assert.Equal(ErrorCode.None, await wait.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Acks_all_is_completed_by_the_fetch_that_advances_the_high_watermark()
    {
        var wait = Append(4).Committed;
        FollowerFetches(2, 4);

        FollowerFetches(3, 4);

        // Completed inside the follower's fetch, not by a waiter polling afterwards.
        Assert.True(wait.IsCompleted);
        Assert.Equal(0, Partition.DelayedProduceCount);
    }

    [Fact]
    public async Task Acks_all_times_out_at_the_request_timeout_when_a_replica_in_the_isr_never_catches_up()
    {
        var wait = Append(2).Committed;
        FollowerFetches(2, 2);

        _time.Advance(TimeSpan.FromMilliseconds(AcksTimeoutMs - 1));
        Assert.False(wait.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(ErrorCode.RequestTimedOut, await wait.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Acks_all_fails_with_not_leader_when_leadership_moves_while_waiting()
    {
        var wait = Append(2).Committed;

        Apply(replicas: [1, 2, 3], isr: [2, 3], leaderEpoch: 1, partitionEpoch: 1, leader: 2);

        Assert.Equal(ErrorCode.NotLeaderOrFollower, await wait.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Produce_with_acks_all_is_refused_when_the_isr_is_smaller_than_min_insync_replicas()
    {
        Apply(replicas: [1, 2, 3], isr: [1], leaderEpoch: 0, partitionEpoch: 1);

        Assert.Equal(ErrorCode.NotEnoughReplicas, Produce(1).Error);
        Assert.Equal(ErrorCode.None, Produce(1, acks: 1).Error);
    }

    [Fact]
    public void A_follower_that_stops_fetching_is_proposed_out_of_the_isr_once_the_lag_time_has_passed()
    {
        _replicas.StartIsrMaintenance();
        Produce(3);
        FollowerFetches(2, 3);
        FollowerFetches(3, 3);
        _time.Advance(TimeSpan.FromMilliseconds(LagTimeMaxMs - 1_000));
        FollowerFetches(2, 3);

        // The periodic check (every lag / 2) at exactly the lag time: broker 3 is not yet past it.
        _time.Advance(TimeSpan.FromMilliseconds(1_000));
        Assert.Empty(_isrRequests.Sent);

        _time.Advance(TimeSpan.FromMilliseconds(LagTimeMaxMs / 2));
        var request = Assert.Single(_isrRequests.Sent);
        Assert.Equal([1, 2], request.NewIsr.Order());
        Assert.Equal(Partition.Image.PartitionEpoch, request.PartitionEpoch);
        Assert.Equal(Partition.LeaderEpoch, request.LeaderEpoch);
    }

    [Fact]
    public void A_follower_that_catches_up_to_the_high_watermark_is_proposed_back_into_the_isr()
    {
        Apply(replicas: [1, 2, 3], isr: [1, 2], leaderEpoch: 0, partitionEpoch: 1);
        Produce(3);
        FollowerFetches(2, 3);
        Assert.Equal(3, Partition.HighWatermark);

        Assert.Empty(_isrRequests.Sent);

        FollowerFetches(3, 3);

        var request = Assert.Single(_isrRequests.Sent);
        Assert.Equal([1, 2, 3], request.NewIsr.Order());
    }

    [Fact]
    public void A_follower_fetching_with_a_stale_broker_epoch_is_not_proposed_into_the_isr()
    {
        Apply(replicas: [1, 2, 3], isr: [1, 2], leaderEpoch: 0, partitionEpoch: 1);
        Produce(3);
        FollowerFetches(2, 3);

        // Broker 3 is registered with epoch 3; a fetch from an older incarnation (epoch 1) must not count (KIP-903).
        Fetch(3, 3, currentLeaderEpoch: 0, replicaBrokerEpoch: 1);
        Assert.Empty(_isrRequests.Sent);

        Fetch(3, 3, currentLeaderEpoch: 0, replicaBrokerEpoch: 3);
        Assert.Equal([1, 2, 3], Assert.Single(_isrRequests.Sent).NewIsr.Order());
    }

    [Fact]
    public void While_an_isr_expansion_is_pending_the_high_watermark_also_waits_for_the_new_member()
    {
        Apply(replicas: [1, 2, 3], isr: [1, 2], leaderEpoch: 0, partitionEpoch: 1);
        Produce(3);
        FollowerFetches(2, 3);
        FollowerFetches(3, 3);
        Assert.Single(_isrRequests.Sent);
        Produce(2);

        FollowerFetches(2, 5);

        Assert.Contains(3, Partition.MaximalIsr);
        Assert.Equal(3, Partition.HighWatermark);
    }

    [Fact]
    public void A_follower_whose_last_fetched_epoch_ended_earlier_on_the_leader_is_told_where_it_diverged()
    {
        Produce(3);
        Apply(replicas: [1, 2, 3], isr: [1, 2, 3], leaderEpoch: 2, partitionEpoch: 1);
        Produce(2);

        // The follower claims epoch 1 (which the leader never had) from offset 4: the leader's epoch 0 ended at 3.
        var outcome = Fetch(2, 4, currentLeaderEpoch: 2, lastFetchedEpoch: 1);

        Assert.Equal(ErrorCode.None, outcome.Error);
        Assert.True(outcome.Records.IsEmpty);
        Assert.Equal(0, outcome.DivergingEpoch);
        Assert.Equal(3, outcome.DivergingEndOffset);
    }

    [Fact]
    public void A_follower_whose_last_fetched_epoch_is_above_every_leader_epoch_is_told_to_truncate_below_it()
    {
        Produce(3);
        Apply(replicas: [1, 2, 3], isr: [1, 2, 3], leaderEpoch: 2, partitionEpoch: 1);
        Produce(2);

        // The follower led epoch 4 (which this leader never saw) and holds records up to offset 8, past this log's end (5).
        var outcome = Fetch(2, 8, currentLeaderEpoch: 2, lastFetchedEpoch: 4);

        Assert.Equal(ErrorCode.None, outcome.Error);
        Assert.True(outcome.Records.IsEmpty);
        Assert.Equal(2, outcome.DivergingEpoch);
        Assert.Equal(5, outcome.DivergingEndOffset);
    }

    [Fact]
    public void A_fetch_naming_an_older_leader_epoch_is_fenced_and_a_newer_one_unknown()
    {
        Apply(replicas: [1, 2, 3], isr: [1, 2, 3], leaderEpoch: 3, partitionEpoch: 1);

        Assert.Equal(ErrorCode.FencedLeaderEpoch, Fetch(2, 0, currentLeaderEpoch: 2).Error);
        Assert.Equal(ErrorCode.UnknownLeaderEpoch, Fetch(-1, 0, currentLeaderEpoch: 4).Error);
        Assert.Equal(ErrorCode.None, Fetch(-1, 0, currentLeaderEpoch: 3).Error);
    }

    [Fact]
    public void A_fetch_or_produce_to_a_partition_this_broker_follows_is_answered_not_leader()
    {
        Apply(replicas: [1, 2, 3], isr: [1, 2, 3], leaderEpoch: 1, partitionEpoch: 1, leader: 2);

        Assert.Equal(ErrorCode.NotLeaderOrFollower, Fetch(-1, 0).Error);
        Assert.Equal(ErrorCode.NotLeaderOrFollower, Fetch(3, 0).Error);
        Assert.Equal(ErrorCode.NotLeaderOrFollower, Produce(1, acks: 1).Error);
    }
}

/// <summary>An <see cref="IAlterPartitionSender"/> that records every ISR change and accepts it (the new ISR never arrives in an image).</summary>
internal sealed class FakeAlterPartitionSender : IAlterPartitionSender
{
    private readonly List<IsrChangeRequest> _sent = [];

    public IReadOnlyList<IsrChangeRequest> Sent
    {
        get
        {
            lock (_sent)
            {
                return [.. _sent];
            }
        }
    }

    public Task<IsrChangeResult> SendAsync(IsrChangeRequest request, CancellationToken cancellationToken)
    {
        lock (_sent)
        {
            _sent.Add(request);
        }

        return Task.FromResult(new IsrChangeResult(ErrorCode.None));
    }
}
