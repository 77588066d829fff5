using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Groups;
using Tributary.Protocol;

namespace Tributary.Broker.Tests.Groups;

/// <summary>A test clock that only moves when told to.</summary>
internal sealed class FakeTimeProvider : TimeProvider
{
    private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>
/// An in-memory stand-in for <c>__consumer_offsets</c>: records per partition, appends can be made to fail or to wait for
/// replication, leadership of each partition can be moved away and back, replay can be held.
/// </summary>
internal sealed class FakeGroupRecordLog : IGroupRecordLog
{
    private readonly Dictionary<int, List<GroupRecord>> _partitions = new();
    private readonly HashSet<int> _led = [];
    private long _nextPosition;

    /// <param name="leadAll">Whether this broker starts out leading every partition (a single broker).</param>
    public FakeGroupRecordLog(bool leadAll = true, int partitionCount = 50)
    {
        PartitionCount = partitionCount;
        if (leadAll)
        {
            _led.UnionWith(Enumerable.Range(0, partitionCount));
        }
    }

    public int PartitionCount { get; }
    public ErrorCode FailAppendsWith { get; set; } = ErrorCode.None;

    /// <summary>While set, appends succeed but their replication completes only when this does.</summary>
    public TaskCompletionSource<ErrorCode>? Replication { get; set; }

    /// <summary>Replay waits until this is set (it is, unless a test resets it).</summary>
    public ManualResetEventSlim BlockReplay { get; } = new(initialState: true);

    public IEnumerable<GroupRecord> All
    {
        get
        {
            lock (_partitions)
            {
                return _partitions.Values.SelectMany(p => p).ToList();
            }
        }
    }

    public event Action<int, bool>? LeadershipChanged;

    public bool Leads(int partition)
    {
        lock (_led)
        {
            return _led.Contains(partition);
        }
    }

    /// <summary>Partitions the metadata names this broker leader of before the replica manager applied it.</summary>
    public HashSet<int> AboutToLead { get; } = [];

    public bool WillLead(int partition) => Leads(partition) || AboutToLead.Contains(partition);

    public IReadOnlyList<int> LedPartitions()
    {
        lock (_led)
        {
            return _led.Order().ToList();
        }
    }

    /// <summary>This broker becomes the partition's leader (as the replica manager reports it).</summary>
    public void Lead(int partition)
    {
        lock (_led)
        {
            _led.Add(partition);
        }

        LeadershipChanged?.Invoke(partition, true);
    }

    /// <summary>This broker stops leading the partition.</summary>
    public void Resign(int partition)
    {
        lock (_led)
        {
            _led.Remove(partition);
        }

        LeadershipChanged?.Invoke(partition, false);
    }

    public Task<ErrorCode> EnsureCreatedAsync(CancellationToken cancellation) => Task.FromResult(ErrorCode.None);

    public GroupAppend Append(int partition, IReadOnlyList<GroupRecord> records, long nowMs, int timeoutMs, CancellationToken cancellation)
    {
        if (FailAppendsWith != ErrorCode.None)
        {
            return GroupAppend.Failed(FailAppendsWith);
        }

        // Round-trip through a real batch, as the broker does, to keep the fake honest about what is encodable.
        _ = GroupCoordinator.BuildBatch(records, nowMs);
        long position;
        lock (_partitions)
        {
            if (!_partitions.TryGetValue(partition, out var list))
            {
                _partitions[partition] = list = [];
            }

            position = _nextPosition;
            // Replay reports each record's position, as the real log's offsets.
            list.AddRange(records.Select((record, i) => record with { Offset = position + i }));
            _nextPosition += records.Count;
        }

        return new GroupAppend(ErrorCode.None, position, Replication?.Task ?? Task.FromResult(ErrorCode.None));
    }

    /// <summary>A transaction marker lands in the partition (as the WriteTxnMarkers handler writes it); replay reports it.</summary>
    public void WriteMarker(int partition, long producerId, bool commit)
    {
        lock (_partitions)
        {
            if (!_partitions.TryGetValue(partition, out var list))
            {
                _partitions[partition] = list = [];
            }

            list.Add(GroupRecord.Marker(producerId, commit, _nextPosition++));
        }
    }

    public IEnumerable<GroupRecord> Replay(int partition)
    {
        Assert.True(BlockReplay.Wait(TimeSpan.FromSeconds(10)), "replay was never released");
        lock (_partitions)
        {
            return _partitions.TryGetValue(partition, out var list) ? list.ToList() : [];
        }
    }
}

/// <summary>A coordinator over fakes, loaded and ready, with helpers that speak like a consumer.</summary>
internal sealed class CoordinatorFixture
{
    public const string Group = "g";

    public CoordinatorFixture(GroupCoordinatorOptions? options = null, FakeGroupRecordLog? log = null, FakeTimeProvider? time = null)
    {
        Options = options ?? new GroupCoordinatorOptions { InitialRebalanceDelayMs = 0 };
        Log = log ?? new FakeGroupRecordLog();
        Time = time ?? new FakeTimeProvider();
        Coordinator = Started(new GroupCoordinator(Options, Log, Time, NullLogger.Instance));
    }

    public GroupCoordinatorOptions Options { get; }
    public FakeGroupRecordLog Log { get; }
    public FakeTimeProvider Time { get; }
    public GroupCoordinator Coordinator { get; }

    /// <summary>Follows the log's leadership and waits until every led partition is loaded.</summary>
    public static GroupCoordinator Started(GroupCoordinator coordinator)
    {
        coordinator.TrackLeadership();
        Assert.True(coordinator.WhenLoadedAsync().Wait(TimeSpan.FromSeconds(10)), "loading did not finish");
        return coordinator;
    }

    /// <summary>The offsets partition of a group with the fake's 50 partitions.</summary>
    public static int PartitionOf(string groupId) => OffsetsTopicPartitioner.PartitionFor(groupId, 50);

    public IReadOnlyList<ErrorCode> Commit(OffsetCommitCall call) => Completed(Coordinator.CommitOffsetsAsync(call));

    public IReadOnlyList<ErrorCode> DeleteGroups(IReadOnlyList<string> groupIds) => Completed(Coordinator.DeleteGroupsAsync(groupIds));

    public (ErrorCode Error, IReadOnlyList<ErrorCode> PartitionErrors) DeleteOffsets(string groupId, IReadOnlyList<(string Topic, int Partition)> partitions) =>
        Completed(Coordinator.DeleteOffsetsAsync(groupId, partitions));

    public static MemberProtocol[] Range(string topic = "t") => [new("range", Subscription(topic))];

    /// <summary>A ConsumerProtocolSubscription v0: version, topics, user data.</summary>
    public static byte[] Subscription(params string[] topics)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(0);
        writer.WriteArrayLength(topics.Length, compact: false);
        foreach (var topic in topics)
        {
            writer.WriteString(topic, compact: false);
        }

        writer.WriteNullableBytes(null, compact: false);
        return buffer.WrittenSpan.ToArray();
    }

    public static JoinGroupCall Join(string memberId = "", string? instanceId = null, MemberProtocol[]? protocols = null,
        int sessionTimeoutMs = 10_000, int rebalanceTimeoutMs = 30_000, string group = Group) =>
        new(group, memberId, instanceId, "consumer", protocols ?? Range(), sessionTimeoutMs, rebalanceTimeoutMs, "client", "/127.0.0.1",
            RequireKnownMemberId: true);

    public void Advance(int ms)
    {
        Time.Advance(TimeSpan.FromMilliseconds(ms));
        Coordinator.Tick();
    }

    /// <summary>Joins a new dynamic member through the MEMBER_ID_REQUIRED round; returns the pending join.</summary>
    public Task<JoinGroupResult> JoinNew(int sessionTimeoutMs = 10_000, MemberProtocol[]? protocols = null)
    {
        var first = Coordinator.JoinGroupAsync(Join(sessionTimeoutMs: sessionTimeoutMs, protocols: protocols)).Result;
        Assert.Equal(ErrorCode.MemberIdRequired, first.Error);
        return Coordinator.JoinGroupAsync(Join(first.MemberId, sessionTimeoutMs: sessionTimeoutMs, protocols: protocols));
    }

    /// <summary>One member joins and syncs (as leader, assigning itself <paramref name="assignment"/>).</summary>
    public JoinGroupResult StableSingleMember(byte[]? assignment = null, string? instanceId = null)
    {
        var joined = instanceId is null
            ? Completed(JoinNew())
            : Completed(Coordinator.JoinGroupAsync(Join(instanceId: instanceId)));
        var synced = Completed(Coordinator.SyncGroupAsync(Sync(joined, new() { [joined.MemberId] = assignment ?? [1] }, instanceId)));
        Assert.Equal(ErrorCode.None, synced.Error);
        return joined;
    }

    public static SyncGroupCall Sync(JoinGroupResult joined, Dictionary<string, byte[]>? assignments = null, string? instanceId = null) =>
        new(Group, joined.GenerationId, joined.MemberId, instanceId, null, null, assignments ?? new Dictionary<string, byte[]>());

    public static T Completed<T>(Task<T> task)
    {
        Assert.True(task.Wait(TimeSpan.FromSeconds(5)), "the call did not complete");
        return task.Result;
    }
}
