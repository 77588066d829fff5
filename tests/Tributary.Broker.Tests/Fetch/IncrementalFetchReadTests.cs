using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tributary.Broker.Fetch;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Broker.Tests.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Tributary.Protocol.Records;
using Tributary.Storage;
using Tributary.Tests.Shared;

namespace Tributary.Broker.Tests.Fetch;

/// <summary>
/// Issue 20: an incremental fetch costs what changed, not what its session holds. A real replica manager leads 20 partitions on
/// real logs; followers and consumers fetch through the session cache and <see cref="FetchReads"/> exactly as the fetch handler
/// does. Time is a <see cref="FakeTimeProvider"/>: waits end when the test advances it.
/// </summary>
public sealed class IncrementalFetchReadTests : IDisposable
{
    private const long Now = 1_700_000_000_000;
    private const int Leader = 1;
    private const int Follower = 2;
    private const int Partitions = 20;
    private const long LagTimeMaxMs = 10_000;
    private const short Version = 15;

    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-incremental-fetch-" + Guid.NewGuid().ToString("N"));
    private readonly Uuid _topicId = Uuid.NewRandom();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(Now));
    private readonly FakeAlterPartitionSender _isrRequests = new();
    private readonly LogManager _logs;
    private readonly ReplicaManager _replicas;
    private readonly FetchSessionCache _cache;
    private readonly long[] _followerOffsets = new long[Partitions];

    public IncrementalFetchReadTests()
    {
        _logs = LogManager.Open(new LogManagerOptions { LogDirs = [_logDir], HighWatermarkFollowsLogEnd = false });
        _replicas = new ReplicaManager(Leader, _logs, _ => LogConfig.Default, _ => 2, NullLogger.Instance, _time, fetchers: null, _isrRequests,
            LagTimeMaxMs);
        _cache = new FetchSessionCache(10, _time, refreshMs: 60_000);
        var placements = Enumerable.Range(0, Partitions).Select(i => new PartitionImage(i, [1, 2, 3], Leader, 0, [1, 2, 3], 0)).ToArray();
        var topic = new TopicImage("events", _topicId, [.. placements], ImmutableDictionary<string, string>.Empty);
        var brokers = ImmutableDictionary<int, BrokerRegistration>.Empty
            .Add(1, new BrokerRegistration(1, "127.0.0.1", 1, null, 1))
            .Add(2, new BrokerRegistration(2, "127.0.0.1", 2, null, 2))
            .Add(3, new BrokerRegistration(3, "127.0.0.1", 3, null, 3));
        var topics = ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal).Add(topic.Name, topic);
        _replicas.ApplyImage(new MetadataImage("cluster", 1, brokers, topics, 1));
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
    public async Task An_idle_incremental_follower_fetch_reads_no_partition_and_an_append_makes_it_read_just_that_one()
    {
        var session = await OpenFollowerSessionAsync();
        await FollowerFetchAsync(session, 1);

        var reads = _replicas.FollowerPartitionReads;
        var idle = await FollowerFetchAsync(session, 2);
        Assert.Equal(0, _replicas.FollowerPartitionReads - reads);
        Assert.Empty(idle.Responses);

        Produce(7, records: 3);
        reads = _replicas.FollowerPartitionReads;
        var changed = await FollowerFetchAsync(session, 3);

        Assert.Equal(1, _replicas.FollowerPartitionReads - reads);
        var answered = Assert.Single(Assert.Single(changed.Responses).Partitions);
        Assert.Equal(7, answered.PartitionIndex);
        Assert.True(answered.Records is { Length: > 0 });
    }

    [Fact]
    public async Task A_parked_follower_fetch_wakes_on_an_append_to_any_partition_of_its_session()
    {
        var session = await OpenFollowerSessionAsync();
        await FollowerFetchAsync(session, 1);

        var parked = FollowerFetchAsync(session, 2, maxWaitMs: 10_000);
        Assert.All(_replicas.Partitions, p => Assert.Equal(1, p.ChangeListenerCount));
        Assert.False(parked.IsCompleted);
        Produce(13, records: 2);

        var response = await parked.WaitAsync(TimeSpan.FromSeconds(10));
        var answered = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal(13, answered.PartitionIndex);
        Assert.True(answered.Records is { Length: > 0 });
    }

    [Fact]
    public async Task A_parked_follower_fetch_with_no_change_answers_nothing_at_its_max_wait()
    {
        var session = await OpenFollowerSessionAsync();
        await FollowerFetchAsync(session, 1);

        var parked = FollowerFetchAsync(session, 2, maxWaitMs: 500);
        Assert.False(parked.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(500));

        var response = await parked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(response.Responses);
    }

    [Fact]
    public async Task A_caught_up_follower_whose_session_keeps_fetching_stays_in_the_isr_of_partitions_it_never_reads_again()
    {
        var session = await OpenFollowerSessionAsync();
        await FollowerFetchAsync(session, 1);
        await OpenFollowerSessionAsync(replica: 3);
        _replicas.StartIsrMaintenance();

        // Broker 2's session fetches every second for three lag times; none of them reads a partition (nothing changes).
        // Broker 3 stopped fetching after its first session fetch.
        var epoch = 2;
        for (var second = 0; second < 3 * LagTimeMaxMs / 1_000; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            var reads = _replicas.FollowerPartitionReads;
            await FollowerFetchAsync(session, epoch++);
            Assert.Equal(0, _replicas.FollowerPartitionReads - reads);
        }

        // Every partition asked the controller to drop broker 3, none to drop broker 2.
        Assert.Equal(Enumerable.Range(0, Partitions), _isrRequests.Sent.Select(request => request.Partition).Distinct().Order());
        Assert.All(_isrRequests.Sent, request => Assert.Equal([1, 2], request.NewIsr.Order()));
    }

    [Fact]
    public async Task An_append_after_a_long_idle_spell_does_not_cost_the_follower_its_isr_place_before_its_next_fetch()
    {
        var session = await OpenFollowerSessionAsync();
        await FollowerFetchAsync(session, 1);
        var epoch = 2;
        for (var second = 0; second < 2 * LagTimeMaxMs / 1_000; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await FollowerFetchAsync(session, epoch++);
        }

        Produce(4, records: 1);
        // The ISR check runs between the append and the follower's next fetch: the follower was caught up at its last fetch.
        var proposal = _replicas.Partitions.Single(p => p.Index == 4)
            .ProposeIsrChange(_time.GetUtcNow().ToUnixTimeMilliseconds(), LagTimeMaxMs, _ => true, _ => -1);
        Assert.True(proposal is null || proposal.Value.Contains(Follower), $"ISR proposal without the follower: {string.Join(",", proposal ?? [])}");
    }

    [Fact]
    public async Task A_partition_is_read_again_only_while_it_has_news_for_the_follower()
    {
        var session = await OpenFollowerSessionAsync();
        await FollowerFetchAsync(session, 1);
        Produce(3, records: 2);
        var withRecords = await FollowerFetchAsync(session, 2);
        Assert.Equal(3, Assert.Single(Assert.Single(withRecords.Responses).Partitions).PartitionIndex);

        // The follower appended them and names the partition with its new offset: read (and answered, being named) once more.
        _followerOffsets[3] = 2;
        var reads = _replicas.FollowerPartitionReads;
        var named = await FollowerFetchAsync(session, 3, named: [3]);
        Assert.Equal(1, _replicas.FollowerPartitionReads - reads);
        var answered = Assert.Single(Assert.Single(named.Responses).Partitions);
        Assert.Equal(3, answered.PartitionIndex);
        Assert.True(answered.Records is not { Length: > 0 });

        reads = _replicas.FollowerPartitionReads;
        var settled = await FollowerFetchAsync(session, 4);
        Assert.Equal(0, _replicas.FollowerPartitionReads - reads);
        Assert.Empty(settled.Responses);
    }

    [Fact]
    public async Task A_parked_consumer_session_fetch_wakes_when_a_partitions_high_watermark_moves()
    {
        var full = await FetchAsync(Request(-1, 0, FetchSessionEpochs.Initial, AllPartitions()), isFollower: false);
        var sessionId = full.SessionId;
        Assert.NotEqual(0, sessionId);
        await FetchAsync(Request(-1, sessionId, 1, []), isFollower: false);

        var parked = FetchAsync(Request(-1, sessionId, 2, [], maxWaitMs: 10_000), isFollower: false);
        Assert.All(_replicas.Partitions, p => Assert.Equal(1, p.ChangeListenerCount));
        Produce(5, records: 2);

        // Both followers fetch past the records: the high watermark moves to 2, and the consumer's fetch wakes with them.
        Fetch(Follower, 5, offset: 2);
        Fetch(3, 5, offset: 2);

        var response = await parked.WaitAsync(TimeSpan.FromSeconds(10));
        var answered = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal(5, answered.PartitionIndex);
        Assert.Equal(2, answered.HighWatermark);
        Assert.True(answered.Records is { Length: > 0 });
    }

    [Fact]
    public async Task Forgotten_partitions_and_closed_sessions_stop_listening_to_their_partitions()
    {
        var session = await OpenFollowerSessionAsync();
        await FollowerFetchAsync(session, 1);
        Assert.All(_replicas.Partitions, p => Assert.Equal(1, p.ChangeListenerCount));

        var forget = Request(Follower, session, 2, []);
        forget.ForgottenTopicsData.Add(new FetchRequest.ForgottenTopic { TopicId = _topicId, Partitions = [0, 1] });
        await FetchAsync(forget, isFollower: true);
        Assert.Equal([0, 0], _replicas.Partitions.Where(p => p.Index < 2).Select(p => p.ChangeListenerCount));

        Assert.True(_cache.Remove(session));
        Assert.All(_replicas.Partitions, p => Assert.Equal(0, p.ChangeListenerCount));
    }

    /// <summary>A full fetch from the follower at its offsets, opening its session; returns the session id.</summary>
    private async Task<int> OpenFollowerSessionAsync(int replica = Follower)
    {
        var response = await FetchAsync(Request(replica, 0, FetchSessionEpochs.Initial, AllPartitions()), isFollower: true);
        Assert.NotEqual(0, response.SessionId);
        return response.SessionId;
    }

    private Task<FetchResponse> FollowerFetchAsync(int session, int epoch, int maxWaitMs = 0, int[]? named = null) =>
        FetchAsync(Request(Follower, session, epoch, named ?? [], maxWaitMs), isFollower: true);

    /// <summary>What the fetch handler does with a request, minus the wire: open the session, read, answer, complete.</summary>
    private async Task<FetchResponse> FetchAsync(FetchRequest request, bool isFollower)
    {
        var session = _cache.Open(request, Version, isFollower);
        Assert.Equal(ErrorCode.None, session.Error);
        var fetch = new FetchParams(request.ReplicaState.ReplicaId, -1, request.MaxWaitMs, request.MinBytes, request.MaxBytes);
        var read = await FetchReads.ServeAsync(_replicas, () => _replicas.AppliedImage, session, fetch, Version, CancellationToken.None);
        return session.Complete(FetchReads.Answer(read.Request, read.Results));
    }

    private FetchRequest Request(int replica, int session, int epoch, int[] partitions, int maxWaitMs = 0) => new()
    {
        ReplicaId = -1,
        ReplicaState = new FetchRequest.ReplicaIdAndEpoch { ReplicaId = replica, ReplicaEpoch = -1 },
        MaxWaitMs = maxWaitMs,
        MinBytes = 1,
        MaxBytes = 1 << 20,
        SessionId = session,
        SessionEpoch = epoch,
        Topics = partitions.Length == 0
            ? []
            :
            [
                new FetchRequest.FetchTopic
                {
                    TopicId = _topicId,
                    Partitions =
                    [
                        .. partitions.Select(p => new FetchRequest.FetchPartition
                        {
                            Partition = p, FetchOffset = replica >= 0 ? _followerOffsets[p] : 0, CurrentLeaderEpoch = 0, LastFetchedEpoch = -1,
                            PartitionMaxBytes = 1 << 20,
                        }),
                    ],
                },
            ],
    };

    private static int[] AllPartitions() => [.. Enumerable.Range(0, Partitions)];

    private void Produce(int partition, int records)
    {
        var builder = new RecordBatchBuilder();
        for (var i = 0; i < records; i++)
        {
            builder.Append(Now, null, Encoding.UTF8.GetBytes($"record-{i}"));
        }

        var append = _replicas.Append(_replicas.AppliedImage.Topics["events"], partition, builder.Build(), acks: 1, 30_000, CancellationToken.None);
        Assert.Equal(ErrorCode.None, append.Outcome.Error);
    }

    /// <summary>A sessionless follower fetch of one partition (the other follower's progress).</summary>
    private void Fetch(int replica, int partition, long offset) =>
        _replicas.FetchAsync(new FetchParams(replica, -1, MaxWaitMs: 0, MinBytes: 0, MaxBytes: 1 << 20),
            [new FetchPartitionRequest("events", partition, offset, 1 << 20, 0, -1)], CancellationToken.None).GetAwaiter().GetResult();
}
