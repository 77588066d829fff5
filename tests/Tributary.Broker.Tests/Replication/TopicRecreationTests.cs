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
/// A topic deleted and recreated under the same name within one metadata image (the loader can fold both into one
/// delta): the old replica is retired — fetcher stopped while its log is still open, parked acks=all produces failed,
/// leadership given up — before the new topic's replica takes its place. Real logs; the fetchers are a recording test
/// double below the layer under test.
/// </summary>
public sealed class TopicRecreationTests : IDisposable
{
    private const int LocalNode = 1;
    private const int OtherNode = 2;

    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-topic-recreation-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
    private readonly LogManager _logs;
    private readonly RecordingFetchControlTestDouble _fetchers;
    private readonly ReplicaManager _replicas;

    public TopicRecreationTests()
    {
        _logs = LogManager.Open(new LogManagerOptions { LogDirs = [_logDir], HighWatermarkFollowsLogEnd = false });
        _fetchers = new RecordingFetchControlTestDouble(_logs);
        _replicas = new ReplicaManager(LocalNode, _logs, _ => LogConfig.Default, _ => 1, NullLogger.Instance, _time, _fetchers,
            new FakeAlterPartitionSender(), lagTimeMaxMs: 10_000);
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

    [Fact]
    public void Recreating_a_followed_topic_stops_the_old_fetcher_while_its_log_is_open_and_follows_the_new_one()
    {
        var oldId = Uuid.NewRandom();
        var newId = Uuid.NewRandom();
        Apply(oldId, leader: OtherNode);
        var old = Replica();

        // Same leader and leader epoch 0 in the new topic: only the topic id tells the two apart.
        Apply(newId, leader: OtherNode);
        var recreated = Replica();

        Assert.Equal(newId, recreated.TopicId);
        Assert.NotSame(old, recreated);
        Assert.Equal(
            [$"stop {oldId} log-open=True", $"start {newId} from b{OtherNode}"],
            _fetchers.Calls.Skip(1));
    }

    [Fact]
    public async Task Recreating_a_led_topic_fails_the_old_partitions_parked_acks_all_produce()
    {
        Apply(Uuid.NewRandom(), leader: LocalNode);
        var parked = _replicas.Append(_replicas.AppliedImage.Topics["events"], 0, Batch(3), acks: -1, timeoutMs: 30_000, CancellationToken.None);
        Assert.Equal(ErrorCode.None, parked.Outcome.Error);
        Assert.False(parked.Committed.IsCompleted);

        Apply(Uuid.NewRandom(), leader: LocalNode);

        // No fake-clock advance: the wait ends because its partition was retired, not because its timeout passed.
        Assert.Equal(ErrorCode.NotLeaderOrFollower, await parked.Committed.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Recreating_a_led_topic_gives_up_the_old_leadership_before_taking_the_new_one()
    {
        var oldId = Uuid.NewRandom();
        var newId = Uuid.NewRandom();
        var events = new List<string>();
        _replicas.LeadershipChanged += (partition, leading) => events.Add($"{partition.TopicId} {(leading ? "leads" : "resigns")}");
        Apply(oldId, leader: LocalNode);

        Apply(newId, leader: LocalNode);

        Assert.Equal([$"{oldId} leads", $"{oldId} resigns", $"{newId} leads"], events);
    }

    [Fact]
    public void Recreating_a_topic_serves_only_the_new_topics_records()
    {
        Apply(Uuid.NewRandom(), leader: LocalNode);
        Assert.Equal(ErrorCode.None, _replicas.Append(_replicas.AppliedImage.Topics["events"], 0, Batch(5), acks: 1, timeoutMs: 30_000,
            CancellationToken.None).Outcome.Error);

        Apply(Uuid.NewRandom(), leader: LocalNode);

        Assert.Equal(0, Replica().Log.LogEndOffset);
    }

    private Partition Replica() =>
        _replicas.TryGetPartition("events", 0, out var partition) ? partition : throw new InvalidOperationException("No replica of events-0.");

    private void Apply(Uuid topicId, int leader)
    {
        var topic = new TopicImage("events", topicId,
            [new PartitionImage(0, [LocalNode, OtherNode], leader, LeaderEpoch: 0, [LocalNode, OtherNode], PartitionEpoch: 0)],
            ImmutableDictionary<string, string>.Empty);
        var brokers = ImmutableDictionary<int, BrokerRegistration>.Empty
            .Add(LocalNode, new BrokerRegistration(LocalNode, "127.0.0.1", 1, null, 1))
            .Add(OtherNode, new BrokerRegistration(OtherNode, "127.0.0.1", 2, null, 2));
        var topics = ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal).Add(topic.Name, topic);
        _replicas.ApplyImage(new MetadataImage("cluster", 1, brokers, topics, 1));
    }

    private static byte[] Batch(int count)
    {
        var builder = new RecordBatchBuilder();
        for (int i = 0; i < count; i++)
        {
            builder.Append(1_700_000_000_000, null, Encoding.UTF8.GetBytes($"record-{i}"));
        }

        return builder.Build();
    }

    /// <summary>Records start/stop calls; on a stop, whether the partition's log is still the one the log manager holds.</summary>
    private sealed class RecordingFetchControlTestDouble(LogManager logs) : IReplicaFetchControl
    {
        public List<string> Calls { get; } = [];

        public void StartFetching(Partition partition, BrokerRegistration leader) =>
            Calls.Add($"start {partition.TopicId} from b{leader.NodeId}");

        public void StopFetching(Partition partition)
        {
            var open = logs.TryGetLog(partition.Topic, partition.Index, out var held) && ReferenceEquals(held, partition.Log);
            Calls.Add($"stop {partition.TopicId} log-open={open}");
        }
    }
}
