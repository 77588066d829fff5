using Tributary.Broker.Fetch;
using Tributary.Broker.Tests.Groups;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Tests.Fetch;

/// <summary>KIP-227's broker-side rules, on the session cache alone: the fetch handler's answer is built by hand here.</summary>
public sealed class FetchSessionCacheTests
{
    private const short Version = 15;
    private static readonly Uuid TopicA = new(1, 1);
    private static readonly Uuid TopicB = new(2, 2);

    [Fact]
    public void Full_fetch_at_epoch_zero_opens_a_session_whose_id_the_response_carries()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());

        var response = Full(cache, Partitions((TopicA, 0), (TopicA, 1)));

        Assert.NotEqual(0, response.SessionId);
        Assert.True(cache.Contains(response.SessionId));
        Assert.Equal(1, cache.SessionCount);
        Assert.Equal(2, cache.PartitionsCached);
        Assert.Equal(2, FetchSessionContext.PartitionCount(response));
    }

    [Fact]
    public void Fetch_at_epoch_minus_one_is_answered_in_full_without_a_session()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());
        var request = Request(0, FetchSessionEpochs.Final, Partitions((TopicA, 0)));

        var context = cache.Open(request, Version, isFollower: false);
        var response = context.Complete(Answer(context.Request!));

        Assert.Equal(FetchSessionKind.Sessionless, context.Kind);
        Assert.Equal(0, response.SessionId);
        Assert.Equal(0, cache.SessionCount);
    }

    [Fact]
    public void Fetch_before_version_7_never_gets_a_session()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());

        var context = cache.Open(Request(0, FetchSessionEpochs.Initial, Partitions((TopicA, 0))), 6, isFollower: false);

        Assert.Equal(FetchSessionKind.Sessionless, context.Kind);
    }

    [Fact]
    public void Incremental_fetch_on_an_unknown_session_fails_with_FETCH_SESSION_ID_NOT_FOUND()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());

        var context = cache.Open(Request(12345, 1, []), Version, isFollower: false);

        Assert.Equal(ErrorCode.FetchSessionIdNotFound, context.Error);
        Assert.Equal((short)ErrorCode.FetchSessionIdNotFound, context.ErrorResponse().ErrorCode);
        Assert.Equal(0, context.ErrorResponse().SessionId);
    }

    [Fact]
    public void Incremental_fetch_at_another_epoch_fails_with_INVALID_FETCH_SESSION_EPOCH_and_keeps_the_session()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());
        var id = Full(cache, Partitions((TopicA, 0))).SessionId;

        var context = cache.Open(Request(id, 2, []), Version, isFollower: false);

        Assert.Equal(ErrorCode.InvalidFetchSessionEpoch, context.Error);
        Assert.Equal(FetchSessionKind.Incremental, cache.Open(Request(id, 1, []), Version, isFollower: false).Kind);
    }

    [Fact]
    public void Incremental_fetch_naming_topics_differently_from_its_session_fails_with_FETCH_SESSION_TOPIC_ID_ERROR()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());
        var id = Full(cache, Partitions((TopicA, 0))).SessionId;

        var context = cache.Open(Request(id, 1, []), version: 12, isFollower: false);

        Assert.Equal(ErrorCode.FetchSessionTopicIdError, context.Error);
    }

    [Fact]
    public void The_first_incremental_fetch_reads_every_session_partition_and_answers_only_those_whose_answer_changed()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());
        var id = Full(cache, Partitions((TopicA, 0), (TopicA, 1), (TopicB, 0)), highWatermark: 5).SessionId;

        var context = cache.Open(Request(id, 1, []), Version, isFollower: true);
        var answer = Answer(context.Request!, highWatermark: 5);
        answer.Responses.Single(t => t.TopicId == TopicB).Partitions[0].HighWatermark = 6;
        var response = context.Complete(answer);

        Assert.Equal(3, FetchSessionContext.PartitionCount(answer));
        var only = Assert.Single(response.Responses);
        Assert.Equal(TopicB, only.TopicId);
        Assert.Equal(6, Assert.Single(only.Partitions).HighWatermark);
        Assert.Equal(id, response.SessionId);
    }

    [Fact]
    public void A_later_incremental_fetch_reads_only_the_partitions_it_names_when_none_changed()
    {
        var time = new FakeTimeProvider();
        var cache = new FetchSessionCache(10, time);
        var id = Full(cache, Partitions((TopicA, 0), (TopicA, 1), (TopicB, 0)), highWatermark: 5).SessionId;
        var first = cache.Open(Request(id, 1, []), Version, isFollower: true);
        // As the fetch handler does once it has read them (no replica here to listen to).
        first.Bind(new Tributary.Broker.Replication.Partition?[first.Reading.Count], time.GetUtcNow().ToUnixTimeMilliseconds());
        first.Complete(Answer(first.Request!, highWatermark: 5));

        var idle = cache.Open(Request(id, 2, []), Version, isFollower: true);
        var named = cache.Open(Request(id, 3, Partitions((TopicB, 0))), Version, isFollower: true);

        Assert.Empty(idle.Request!.Topics);
        var read = Assert.Single(named.Request!.Topics);
        Assert.Equal(TopicB, read.TopicId);
        Assert.Equal(0, Assert.Single(read.Partitions).Partition);
    }

    [Fact]
    public void Partitions_with_records_or_errors_are_always_answered()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());
        var id = Full(cache, Partitions((TopicA, 0), (TopicA, 1), (TopicA, 2)), highWatermark: 5).SessionId;

        var context = cache.Open(Request(id, 1, []), Version, isFollower: true);
        var answer = Answer(context.Request!, highWatermark: 5);
        answer.Responses[0].Partitions[0].Records = new byte[] { 1, 2, 3 };
        answer.Responses[0].Partitions[1].ErrorCode = (short)ErrorCode.NotLeaderOrFollower;
        var response = context.Complete(answer);

        Assert.Equal([0, 1], response.Responses.SelectMany(t => t.Partitions).Select(p => p.PartitionIndex).Order());
    }

    [Fact]
    public void Incremental_fetch_updates_named_partitions_adds_new_ones_and_drops_forgotten_ones()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());
        var id = Full(cache, Partitions((TopicA, 0), (TopicA, 1)), fetchOffset: 3).SessionId;
        var request = Request(id, 1, Partitions((TopicA, 0), (TopicB, 7)), fetchOffset: 9);
        request.ForgottenTopicsData.Add(new FetchRequest.ForgottenTopic { TopicId = TopicA, Partitions = { 1 } });

        var context = cache.Open(request, Version, isFollower: false);

        var read = context.Request!.Topics.SelectMany(t => t.Partitions.Select(p => (t.TopicId, p.Partition, p.FetchOffset))).OrderBy(r => r.Partition).ToList();
        Assert.Equal([(TopicA, 0, 9L), (TopicB, 7, 9L)], read);
        Assert.Equal(2, cache.PartitionsCached);
    }

    [Fact]
    public void A_partition_the_incremental_request_names_is_answered_even_when_nothing_changed()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());
        var id = Full(cache, Partitions((TopicA, 0), (TopicA, 1)), highWatermark: 5).SessionId;

        var context = cache.Open(Request(id, 1, Partitions((TopicA, 1))), Version, isFollower: true);
        var response = context.Complete(Answer(context.Request!, highWatermark: 5));

        Assert.Equal(1, Assert.Single(Assert.Single(response.Responses).Partitions).PartitionIndex);
    }

    [Fact]
    public void Forgetting_every_partition_ends_the_session()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());
        var id = Full(cache, Partitions((TopicA, 0))).SessionId;
        var request = Request(id, 1, []);
        request.ForgottenTopicsData.Add(new FetchRequest.ForgottenTopic { TopicId = TopicA, Partitions = { 0 } });

        var context = cache.Open(request, Version, isFollower: false);

        Assert.Equal(FetchSessionKind.Sessionless, context.Kind);
        Assert.False(cache.Contains(id));
    }

    [Fact]
    public void Full_fetch_naming_an_existing_session_closes_it()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());
        var old = Full(cache, Partitions((TopicA, 0))).SessionId;

        var replacement = Complete(cache, Request(old, FetchSessionEpochs.Initial, Partitions((TopicA, 0))), isFollower: false).SessionId;

        Assert.False(cache.Contains(old));
        Assert.True(cache.Contains(replacement));
        Assert.Equal(1, cache.SessionCount);
    }

    [Fact]
    public void Session_epoch_wraps_from_int_max_to_one_and_the_session_goes_on()
    {
        var cache = new FetchSessionCache(10, new FakeTimeProvider());
        var id = Full(cache, Partitions((TopicA, 0))).SessionId;
        cache.Find(id)!.Epoch = int.MaxValue;

        var atMax = cache.Open(Request(id, int.MaxValue, []), Version, isFollower: false);
        var afterWrap = cache.Open(Request(id, 1, []), Version, isFollower: false);

        Assert.Equal(FetchSessionKind.Incremental, atMax.Kind);
        Assert.Equal(FetchSessionKind.Incremental, afterWrap.Kind);
        Assert.Equal(1, FetchSessionEpochs.Next(int.MaxValue));
    }

    [Fact]
    public void Zero_slots_turn_sessions_off()
    {
        var cache = new FetchSessionCache(0, new FakeTimeProvider());

        Assert.Equal(0, Full(cache, Partitions((TopicA, 0))).SessionId);
        Assert.Equal(0, cache.SessionCount);
    }

    [Fact]
    public void A_full_cache_gives_a_consumer_no_session_while_every_session_is_fresh()
    {
        var time = new FakeTimeProvider();
        var cache = new FetchSessionCache(2, time);
        Full(cache, Partitions((TopicA, 0)));
        Full(cache, Partitions((TopicA, 1)));

        var response = Full(cache, Partitions((TopicA, 2)));

        Assert.Equal(0, response.SessionId);
        Assert.Equal(2, cache.SessionCount);
        Assert.Equal(0, cache.Evictions);
    }

    [Fact]
    public void A_follower_session_evicts_the_least_recently_used_consumer_session()
    {
        var time = new FakeTimeProvider();
        var cache = new FetchSessionCache(2, time);
        var older = Full(cache, Partitions((TopicA, 0))).SessionId;
        time.Advance(TimeSpan.FromSeconds(1));
        var newer = Full(cache, Partitions((TopicA, 1))).SessionId;
        time.Advance(TimeSpan.FromSeconds(1));
        cache.Open(Request(older, 1, []), Version, isFollower: false); // used again: now the newer one is least recently used

        var follower = Full(cache, Partitions((TopicA, 2)), isFollower: true).SessionId;

        Assert.NotEqual(0, follower);
        Assert.True(cache.Contains(older));
        Assert.False(cache.Contains(newer));
        Assert.Equal(1, cache.Evictions);
    }

    [Fact]
    public void Fresh_follower_sessions_are_not_evicted_by_another_follower()
    {
        var time = new FakeTimeProvider();
        var cache = new FetchSessionCache(1, time);
        var first = Full(cache, Partitions((TopicA, 0)), isFollower: true).SessionId;

        var second = Full(cache, Partitions((TopicA, 1)), isFollower: true).SessionId;

        Assert.Equal(0, second);
        Assert.True(cache.Contains(first));
    }

    [Fact]
    public void A_session_idle_past_the_eviction_interval_gives_way_to_any_newcomer()
    {
        var time = new FakeTimeProvider();
        var cache = new FetchSessionCache(1, time);
        var follower = Full(cache, Partitions((TopicA, 0)), isFollower: true).SessionId;
        time.Advance(TimeSpan.FromMilliseconds(FetchSessionCache.DefaultEvictionMs + 1));

        var consumer = Full(cache, Partitions((TopicA, 1))).SessionId;

        Assert.NotEqual(0, consumer);
        Assert.False(cache.Contains(follower));
        Assert.Equal(1, cache.Evictions);
    }

    [Fact]
    public void A_consumer_session_older_than_the_eviction_interval_gives_way_to_a_new_consumer_even_when_recently_used()
    {
        var time = new FakeTimeProvider();
        var cache = new FetchSessionCache(1, time);
        var old = Full(cache, Partitions((TopicA, 0))).SessionId;
        time.Advance(TimeSpan.FromMilliseconds(FetchSessionCache.DefaultEvictionMs + 1));
        cache.Open(Request(old, 1, []), Version, isFollower: false);

        var newcomer = Full(cache, Partitions((TopicA, 1))).SessionId;

        Assert.NotEqual(0, newcomer);
        Assert.False(cache.Contains(old));
    }

    private static FetchResponse Full(FetchSessionCache cache, List<FetchRequest.FetchTopic> topics, bool isFollower = false, long highWatermark = 0,
        long fetchOffset = 0)
    {
        foreach (var p in topics.SelectMany(t => t.Partitions))
        {
            p.FetchOffset = fetchOffset;
        }

        return Complete(cache, Request(0, FetchSessionEpochs.Initial, topics), isFollower, highWatermark);
    }

    private static FetchResponse Complete(FetchSessionCache cache, FetchRequest request, bool isFollower, long highWatermark = 0)
    {
        var context = cache.Open(request, Version, isFollower);
        Assert.Equal(ErrorCode.None, context.Error);
        return context.Complete(Answer(context.Request!, highWatermark));
    }

    private static FetchRequest Request(int sessionId, int epoch, List<FetchRequest.FetchTopic> topics, long fetchOffset = 0)
    {
        foreach (var p in topics.SelectMany(t => t.Partitions))
        {
            p.FetchOffset = fetchOffset;
        }

        return new FetchRequest { SessionId = sessionId, SessionEpoch = epoch, MaxWaitMs = 500, MinBytes = 1, Topics = topics };
    }

    private static List<FetchRequest.FetchTopic> Partitions(params (Uuid Topic, int Partition)[] partitions) =>
        [.. partitions.GroupBy(p => p.Topic).Select(g => new FetchRequest.FetchTopic
        {
            TopicId = g.Key,
            Partitions = [.. g.Select(p => new FetchRequest.FetchPartition { Partition = p.Partition, PartitionMaxBytes = 1024 })],
        })];

    /// <summary>What the fetch handler would answer for every partition the context reads: no records, the given high watermark.</summary>
    private static FetchResponse Answer(FetchRequest read, long highWatermark = 0) => new()
    {
        Responses =
        [
            .. read.Topics.Select(t => new FetchResponse.FetchableTopicResponse
            {
                TopicId = t.TopicId,
                Partitions =
                [
                    .. t.Partitions.Select(p => new FetchResponse.PartitionData
                    {
                        PartitionIndex = p.Partition, HighWatermark = highWatermark, LastStableOffset = highWatermark, LogStartOffset = 0,
                    }),
                ],
            }),
        ],
    };
}
