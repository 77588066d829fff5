using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Broker.Tests.Replication;

/// <summary>
/// The leader's side of replication on a real log: the high watermark follows the slowest in-sync replica, acks=all
/// waits for it, and the ISR changes the leader proposes to the controller.
/// </summary>
public sealed class LeaderReplicationTests : IDisposable
{
    private const long Now = 1_700_000_000_000;
    private const int Leader = 1;

    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-leader-replication-" + Guid.NewGuid().ToString("N"));
    private readonly Uuid _topicId = Uuid.NewRandom();
    private readonly LogManager _logs;
    private readonly ReplicaManager _replicas;
    private readonly List<AlterPartitionCommand> _isrRequests = [];

    public LeaderReplicationTests()
    {
        _logs = LogManager.Open(new LogManagerOptions { LogDirs = [_logDir], HighWatermarkFollowsLogEnd = false });
        _replicas = new ReplicaManager(Leader, _logs, _ => LogConfig.Default, _ => 2, NullLogger.Instance)
        {
            Hooks = new ReplicationHooks
            {
                AlterPartition = (command, _) =>
                {
                    lock (_isrRequests)
                    {
                        _isrRequests.Add(command);
                    }

                    return Task.FromResult(new AlterPartitionReply(ErrorCode.None, Leader, command.LeaderEpoch, command.PartitionEpoch + 1, command.NewIsr));
                },
                BrokerEpoch = () => 7,
            },
        };
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

    private AppendOutcome Produce(int count, short acks = -1) =>
        _replicas.Append(_replicas.AppliedImage.Topics["events"], 0, Batch(count), acks, Now);

    private void FollowerFetches(int replica, long offset) =>
        _replicas.ReadForFollower(Partition, replica, offset, 1 << 20, minOneBatch: true, currentLeaderEpoch: Partition.LeaderEpoch,
            lastFetchedEpoch: -1, lagTimeMaxMs: 30_000);

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

        var follower = _replicas.ReadForFollower(Partition, 2, 0, 1 << 20, minOneBatch: true, currentLeaderEpoch: 0, lastFetchedEpoch: -1,
            lagTimeMaxMs: 30_000);
        var consumer = _replicas.Read(Partition, 0, 1 << 20, minOneBatch: true, currentLeaderEpoch: 0);

        Assert.Equal(ErrorCode.None, follower.Error);
        Assert.False(follower.Records.IsEmpty);
        Assert.Equal(ErrorCode.None, consumer.Error);
        Assert.True(consumer.Records.IsEmpty);
    }

    [Fact]
    public async Task Acks_all_completes_once_every_in_sync_replica_has_the_records()
    {
        var outcome = Produce(4);
        var wait = _replicas.WaitForCommitAsync(Partition, outcome.NextOffset, 10_000, CancellationToken.None);
        FollowerFetches(2, 4);
        Assert.False(wait.IsCompleted);

        FollowerFetches(3, 4);

        Assert.Equal(ErrorCode.None, await wait.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Acks_all_times_out_when_a_replica_in_the_isr_never_catches_up()
    {
        var outcome = Produce(2);
        FollowerFetches(2, 2);

        var error = await _replicas.WaitForCommitAsync(Partition, outcome.NextOffset, 200, CancellationToken.None);

        Assert.Equal(ErrorCode.RequestTimedOut, error);
    }

    [Fact]
    public async Task Acks_all_fails_with_not_leader_when_leadership_moves_while_waiting()
    {
        var outcome = Produce(2);
        var wait = _replicas.WaitForCommitAsync(Partition, outcome.NextOffset, 10_000, CancellationToken.None);

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
    public async Task A_follower_that_stops_fetching_is_proposed_out_of_the_isr_after_the_lag_time()
    {
        Produce(3);
        FollowerFetches(2, 3);
        FollowerFetches(3, 3);
        await Task.Delay(150);
        FollowerFetches(2, 3);

        _replicas.MaybeChangeIsr(Partition, lagTimeMaxMs: 100);

        var request = await NextIsrRequestAsync();
        Assert.Equal([1, 2], request.NewIsr.Order());
        Assert.Equal(7, request.BrokerEpoch);
        Assert.Equal(Partition.Image.PartitionEpoch, request.PartitionEpoch);
    }

    [Fact]
    public async Task A_follower_that_catches_up_to_the_high_watermark_is_proposed_back_into_the_isr()
    {
        Apply(replicas: [1, 2, 3], isr: [1, 2], leaderEpoch: 0, partitionEpoch: 1);
        Produce(3);
        FollowerFetches(2, 3);
        Assert.Equal(3, Partition.HighWatermark);

        FollowerFetches(3, 3);

        var request = await NextIsrRequestAsync();
        Assert.Equal([1, 2, 3], request.NewIsr.Order());
    }

    [Fact]
    public async Task A_follower_fetching_with_a_stale_broker_epoch_is_not_proposed_into_the_isr()
    {
        Apply(replicas: [1, 2, 3], isr: [1, 2], leaderEpoch: 0, partitionEpoch: 1);
        Produce(3);
        FollowerFetches(2, 3);

        // Broker 3 is registered with epoch 3; a fetch from an older incarnation (epoch 1) must not count (KIP-903).
        _replicas.ReadForFollower(Partition, 3, 3, 1 << 20, minOneBatch: true, currentLeaderEpoch: 0, lastFetchedEpoch: -1,
            lagTimeMaxMs: 30_000, replicaBrokerEpoch: 1);
        await Task.Delay(100);
        lock (_isrRequests)
        {
            Assert.Empty(_isrRequests);
        }

        _replicas.ReadForFollower(Partition, 3, 3, 1 << 20, minOneBatch: true, currentLeaderEpoch: 0, lastFetchedEpoch: -1,
            lagTimeMaxMs: 30_000, replicaBrokerEpoch: 3);
        Assert.Equal([1, 2, 3], (await NextIsrRequestAsync()).NewIsr.Order());
    }

    [Fact]
    public async Task While_an_isr_expansion_is_pending_the_high_watermark_also_waits_for_the_new_member()
    {
        Apply(replicas: [1, 2, 3], isr: [1, 2], leaderEpoch: 0, partitionEpoch: 1);
        Produce(3);
        FollowerFetches(2, 3);
        FollowerFetches(3, 3);
        await NextIsrRequestAsync();
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
        var outcome = _replicas.ReadForFollower(Partition, 2, 4, 1 << 20, minOneBatch: true, currentLeaderEpoch: 2, lastFetchedEpoch: 1,
            lagTimeMaxMs: 30_000);

        Assert.Equal(ErrorCode.None, outcome.Error);
        Assert.True(outcome.Records.IsEmpty);
        Assert.Equal(0, outcome.DivergingEpoch);
        Assert.Equal(3, outcome.DivergingEndOffset);
    }

    private async Task<AlterPartitionCommand> NextIsrRequestAsync()
    {
        for (int i = 0; i < 100; i++)
        {
            lock (_isrRequests)
            {
                if (_isrRequests.Count > 0)
                {
                    return _isrRequests[^1];
                }
            }

            await Task.Delay(20);
        }

        throw new TimeoutException("The leader proposed no ISR change.");
    }
}
