using System.Collections.Immutable;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Config;
using Tributary.Broker.Groups;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Storage;
using ManualClock = Microsoft.Extensions.Time.Testing.FakeTimeProvider;

namespace Tributary.Broker.Tests.Groups;

/// <summary>
/// The real <see cref="OffsetsTopic"/> over a real replica manager: this broker (1) leads the one offsets partition with
/// broker 2 as an in-sync follower, so a commit is acknowledged only when broker 2 has fetched it. Time is a
/// <see cref="ManualClock"/> (the timer-capable FakeTimeProvider) shared by the replica manager and the coordinator: the
/// commit timeout passes only when a test advances it, so an acknowledgement never races the timeout on a loaded machine.
/// </summary>
public sealed class GroupCommitReplicationTests : IDisposable
{
    private const int Self = 1;
    private const int Follower = 2;
    private const int CommitTimeoutMs = 300;

    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-group-commit-" + Guid.NewGuid().ToString("N"));
    private readonly Uuid _topicId = Uuid.NewRandom();
    private readonly ManualClock _time = new(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
    private readonly LogManager _logs;
    private readonly ReplicaManager _replicas;
    private readonly OffsetsTopic _offsets;
    private readonly GroupCoordinator _coordinator;

    public GroupCommitReplicationTests()
    {
        _logs = LogManager.Open(new LogManagerOptions { LogDirs = [_logDir], HighWatermarkFollowsLogEnd = false });
        _replicas = new ReplicaManager(Self, _logs, _ => LogConfig.Default, _ => 1, NullLogger.Instance, _time);
        var config = BrokerConfig.FromProperties(new Dictionary<string, string>
        {
            ["node.id"] = "1",
            ["log.dirs"] = _logDir,
            ["listeners"] = "PLAINTEXT://127.0.0.1:9092",
            ["offsets.topic.num.partitions"] = "1",
        });
        var controller = new ControllerGateway((_, _) => Task.FromException<ControllerReply>(new InvalidOperationException("no controller here")),
            () => _replicas.AppliedImage, NullLogger.Instance);
        _offsets = new OffsetsTopic(config, controller, _replicas, NullLogger.Instance);
        Apply(leader: Self, leaderEpoch: 0);
        _coordinator = new GroupCoordinator(new GroupCoordinatorOptions { InitialRebalanceDelayMs = 0, OffsetCommitTimeoutMs = CommitTimeoutMs },
            _offsets, _time, NullLogger.Instance);
        _coordinator.TrackLeadership();
        Assert.True(_coordinator.WhenLoadedAsync().Wait(TimeSpan.FromSeconds(10)));
    }

    public void Dispose()
    {
        _coordinator.Dispose();
        _offsets.Dispose();
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

    private void Apply(int leader, int leaderEpoch)
    {
        var topic = new TopicImage(OffsetsTopic.Name, _topicId,
            [new PartitionImage(0, [Self, Follower], leader, leaderEpoch, [Self, Follower], leaderEpoch)], ImmutableDictionary<string, string>.Empty);
        var brokers = ImmutableDictionary<int, BrokerRegistration>.Empty
            .Add(Self, new BrokerRegistration(Self, "127.0.0.1", 9092, null, 1))
            .Add(Follower, new BrokerRegistration(Follower, "127.0.0.1", 9093, null, 2));
        var topics = ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal).Add(topic.Name, topic);
        _replicas.ApplyImage(new MetadataImage("cluster", Self, brokers, topics, leaderEpoch + 1));
    }

    private Partition OffsetsPartition => _replicas.TryGetPartition(OffsetsTopic.Name, 0, out var partition) ? partition : throw new InvalidOperationException();

    private void FollowerFetches(long offset) =>
        _replicas.FetchAsync(new FetchParams(Follower, -1, MaxWaitMs: 0, MinBytes: 0, MaxBytes: 1 << 20),
            [new FetchPartitionRequest(OffsetsTopic.Name, 0, offset, 1 << 20, CurrentLeaderEpoch: 0, LastFetchedEpoch: -1)], CancellationToken.None)
            .GetAwaiter().GetResult();

    private static OffsetCommitCall Simple(long offset) => new("g", -1, "", null, [new OffsetCommitEntry("t", 0, offset, -1, null)]);

    private static T Within<T>(Task<T> task)
    {
        Assert.True(task.Wait(TimeSpan.FromSeconds(10)), "the call did not complete");
        return task.Result;
    }

    [Fact]
    public void A_commit_the_follower_never_fetches_times_out_as_coordinator_not_available_and_is_not_visible()
    {
        var commit = _coordinator.CommitOffsetsAsync(Simple(5));
        _time.Advance(TimeSpan.FromMilliseconds(CommitTimeoutMs - 1));
        Assert.False(commit.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(ErrorCode.CoordinatorNotAvailable, Assert.Single(Within(commit)));
        Assert.Equal(-1, _coordinator.FetchOffsets("g", [("t", 0)]).Offsets[0].Offset);
        Assert.Equal(1, OffsetsPartition.Log.LogEndOffset);
        Assert.Equal(0, OffsetsPartition.HighWatermark);
    }

    [Fact]
    public void A_commit_is_acknowledged_once_the_follower_has_fetched_it()
    {
        var commit = _coordinator.CommitOffsetsAsync(Simple(5));
        Assert.False(commit.IsCompleted);

        FollowerFetches(OffsetsPartition.Log.LogEndOffset);

        Assert.Equal(ErrorCode.None, Assert.Single(Within(commit)));
        Assert.Equal(5, _coordinator.FetchOffsets("g", [("t", 0)]).Offsets[0].Offset);
    }

    [Fact]
    public void Leadership_moving_to_the_follower_unloads_the_groups_and_answers_a_pending_commit_not_coordinator()
    {
        var commit = _coordinator.CommitOffsetsAsync(Simple(5));

        Apply(leader: Follower, leaderEpoch: 1);

        Assert.Equal(ErrorCode.NotCoordinator, Assert.Single(Within(commit)));
        Assert.False(_coordinator.IsLoaded(0));
        Assert.Equal(ErrorCode.NotCoordinator, _coordinator.FetchOffsets("g", null).Error);
    }

    [Fact]
    public async Task Becoming_leader_again_loads_the_groups_from_the_whole_log()
    {
        FollowerFetches(0);
        var commit = _coordinator.CommitOffsetsAsync(Simple(8));
        FollowerFetches(OffsetsPartition.Log.LogEndOffset);
        Assert.Equal(ErrorCode.None, Assert.Single(Within(commit)));

        Apply(leader: Follower, leaderEpoch: 1);
        Apply(leader: Self, leaderEpoch: 2);

        await _coordinator.WhenLoadedAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(8, _coordinator.FetchOffsets("g", [("t", 0)]).Offsets[0].Offset);
    }
}
