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
/// The replica manager's long poll on real logs with a <see cref="FakeTimeProvider"/>: a fetch without enough data waits
/// for exactly the partitions it asked for, answers at its max wait, and wakes early on its own partitions' changes only.
/// Topic "events" has two partitions; this broker (1) leads both. "Solo" partitions have one replica (the high watermark
/// follows every append, as consumers see it); "replicated" ones add followers 2 and 3.
/// </summary>
public sealed class LongPollFetchTests : IDisposable
{
    private const int Self = 1;
    private const int MaxWaitMs = 500;

    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-long-poll-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
    private readonly Uuid _topicId = Uuid.NewRandom();
    private readonly LogManager _logs;
    private readonly ReplicaManager _replicas;

    public LongPollFetchTests()
    {
        _logs = LogManager.Open(new LogManagerOptions { LogDirs = [_logDir], HighWatermarkFollowsLogEnd = false });
        _replicas = new ReplicaManager(Self, _logs, _ => LogConfig.Default, _ => 1, NullLogger.Instance, _time);
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

    private void Apply(params int[] replicas) => Apply(replicas, partition0Leader: Self, partition0Epoch: 0);

    private void Apply(int[] replicas, int partition0Leader, int partition0Epoch)
    {
        var topic = new TopicImage("events", _topicId,
            [new PartitionImage(0, [.. replicas], partition0Leader, partition0Epoch, [.. replicas]), new PartitionImage(1, [.. replicas], Self, 0, [.. replicas])],
            ImmutableDictionary<string, string>.Empty);
        var brokers = ImmutableDictionary<int, BrokerRegistration>.Empty
            .Add(1, new BrokerRegistration(1, "127.0.0.1", 1, null, 1))
            .Add(2, new BrokerRegistration(2, "127.0.0.1", 2, null, 2))
            .Add(3, new BrokerRegistration(3, "127.0.0.1", 3, null, 3));
        var topics = ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal).Add(topic.Name, topic);
        _replicas.ApplyImage(new MetadataImage("cluster", 1, brokers, topics, 1));
    }

    private void Produce(int partition, int count = 1)
    {
        var builder = new RecordBatchBuilder();
        for (var i = 0; i < count; i++)
        {
            builder.Append(1_700_000_000_000, null, Encoding.UTF8.GetBytes($"record-{i}"));
        }

        Assert.Equal(ErrorCode.None,
            _replicas.Append(_replicas.AppliedImage.Topics["events"], partition, builder.Build(), acks: 1, 30_000, CancellationToken.None).Outcome.Error);
    }

    private Task<ReadOutcome[]> Fetch(int replicaId, int partition, long offset, int minBytes = 1) =>
        _replicas.FetchAsync(new FetchParams(replicaId, -1, MaxWaitMs, minBytes, 1 << 20),
            [new FetchPartitionRequest("events", partition, offset, 1 << 20, -1, -1)], CancellationToken.None);

    private Partition PartitionAt(int index) => _replicas.TryGetPartition("events", index, out var p) ? p : throw new InvalidOperationException();

    private static async Task<ReadOutcome> Answer(Task<ReadOutcome[]> fetch) => Assert.Single(await fetch.WaitAsync(TimeSpan.FromSeconds(10)));

    [Fact]
    public async Task A_consumer_long_poll_without_data_answers_empty_at_its_max_wait_and_not_before()
    {
        Apply(Self);
        var fetch = Fetch(-1, 0, 0);

        _time.Advance(TimeSpan.FromMilliseconds(MaxWaitMs - 1));
        Assert.False(fetch.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        var answer = await Answer(fetch);
        Assert.Equal(ErrorCode.None, answer.Error);
        Assert.True(answer.Records.IsEmpty);
    }

    [Fact]
    public async Task A_consumer_long_poll_wakes_before_its_max_wait_when_records_are_committed_to_its_partition()
    {
        Apply(Self);
        var fetch = Fetch(-1, 0, 0);
        Assert.False(fetch.IsCompleted);

        Produce(0, count: 3);

        var answer = await Answer(fetch);
        Assert.False(answer.Records.IsEmpty);
        Assert.Equal(3, answer.HighWatermark);
    }

    [Fact]
    public async Task A_consumer_long_poll_is_not_woken_by_an_append_to_a_partition_it_did_not_ask_for()
    {
        Apply(Self);
        var fetch = Fetch(-1, 0, 0);

        Produce(1, count: 3);

        // Still parked on partition 0 only: a wake-up would have taken it off the partition's watch list.
        Assert.False(fetch.IsCompleted);
        Assert.Equal(1, PartitionAt(0).FetchWatcherCount);
        Assert.Equal(0, PartitionAt(1).FetchWatcherCount);

        Produce(0);
        Assert.False((await Answer(fetch)).Records.IsEmpty);
        Assert.Equal(0, PartitionAt(0).FetchWatcherCount);
    }

    [Fact]
    public async Task A_follower_long_poll_wakes_on_an_append_to_its_partition_before_the_high_watermark_moves()
    {
        Apply(Self, 2, 3);
        var fetch = Fetch(2, 0, 0);
        Assert.False(fetch.IsCompleted);

        Produce(0, count: 2);

        var answer = await Answer(fetch);
        Assert.False(answer.Records.IsEmpty);
        Assert.Equal(0, answer.HighWatermark);
    }

    [Fact]
    public async Task A_follower_long_poll_is_not_woken_by_an_append_to_another_partition()
    {
        Apply(Self, 2, 3);
        var fetch = Fetch(2, 0, 0);

        Produce(1, count: 2);

        Assert.False(fetch.IsCompleted);
        Assert.Equal(1, PartitionAt(0).FetchWatcherCount);
        _time.Advance(TimeSpan.FromMilliseconds(MaxWaitMs));
        Assert.True((await Answer(fetch)).Records.IsEmpty);
    }

    [Fact]
    public async Task A_fetch_that_already_has_min_bytes_answers_at_once_without_watching()
    {
        Apply(Self);
        Produce(0, count: 2);

        var fetch = Fetch(-1, 0, 0);

        Assert.True(fetch.IsCompleted);
        Assert.False((await Answer(fetch)).Records.IsEmpty);
        Assert.Equal(0, PartitionAt(0).FetchWatcherCount);
    }

    [Fact]
    public async Task A_long_poll_is_answered_not_leader_when_leadership_moves_while_it_waits()
    {
        Apply([Self, 2], partition0Leader: Self, partition0Epoch: 0);
        var fetch = Fetch(-1, 0, 0);

        Apply([Self, 2], partition0Leader: 2, partition0Epoch: 1);

        Assert.Equal(ErrorCode.NotLeaderOrFollower, (await Answer(fetch)).Error);
    }
}
