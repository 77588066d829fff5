using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Fetch;

/// <summary>A partition as a fetch session names it: by topic id from Fetch v13 on (KIP-516), by topic name before.</summary>
public readonly record struct SessionPartitionKey(Uuid TopicId, string TopicName, int Partition)
{
    public static SessionPartitionKey Of(FetchRequest.FetchTopic topic, int partition, bool usesTopicIds) =>
        usesTopicIds ? new(topic.TopicId, "", partition) : new(Uuid.Zero, topic.Topic, partition);

    public static SessionPartitionKey Of(FetchResponse.FetchableTopicResponse topic, int partition, bool usesTopicIds) =>
        usesTopicIds ? new(topic.TopicId, "", partition) : new(Uuid.Zero, topic.Topic, partition);

    public static SessionPartitionKey Of(FetchRequest.ForgottenTopic topic, int partition, bool usesTopicIds) =>
        usesTopicIds ? new(topic.TopicId, "", partition) : new(Uuid.Zero, topic.Topic, partition);

    public (Uuid, string) Topic => (TopicId, TopicName);
}

/// <summary>
/// One incremental fetch session (KIP-227): the partitions a client fetches with the request fields it last sent for each,
/// and what this broker last answered for each (high watermark, last stable offset, log start offset), so an incremental
/// response carries only the partitions whose answer changed.
/// </summary>
/// <remarks>
/// The session keeps the partitions as <see cref="FetchRequest.FetchTopic"/>/<see cref="FetchRequest.FetchPartition"/>
/// objects grouped by topic (<see cref="Topics"/>): the fetch handler reads them exactly as it reads a full request, and an
/// incremental request only rewrites the fields of the partitions it names. A client has one request outstanding per session
/// (the epoch it must send next exists only once the previous response is built), so the objects are not read and written at
/// the same time by two requests of a well-behaved client; a misbehaving one only garbles its own answers.
/// </remarks>
public sealed class FetchSession
{
    private readonly Dictionary<SessionPartitionKey, CachedPartition> _partitions = [];
    private readonly Dictionary<(Uuid, string), FetchRequest.FetchTopic> _topicsByKey = [];

    internal FetchSession(int id, bool privileged, bool usesTopicIds, long nowMs)
    {
        Id = id;
        Privileged = privileged;
        UsesTopicIds = usesTopicIds;
        CreatedMs = nowMs;
        LastUsedMs = nowMs;
        Epoch = FetchSessionEpochs.Next(FetchSessionEpochs.Initial);
    }

    public int Id { get; }

    /// <summary>Follower (replica) sessions outrank consumer sessions when the cache is full.</summary>
    public bool Privileged { get; }

    /// <summary>Created by Fetch v13+ (topics by id); an incremental request must then also be v13+, and the reverse.</summary>
    public bool UsesTopicIds { get; }

    public long CreatedMs { get; }

    public long LastUsedMs { get; internal set; }

    /// <summary>The epoch the client's next incremental request must carry.</summary>
    public int Epoch { get; internal set; }

    /// <summary>Partitions in the session.</summary>
    public int Size => _partitions.Count;

    /// <summary>The session's partitions grouped by topic, in fetch order (the order an incremental fetch reads them in).</summary>
    internal List<FetchRequest.FetchTopic> Topics { get; } = [];

    internal object Gate { get; } = new();

    internal bool TryGet(SessionPartitionKey key, out CachedPartition partition) => _partitions.TryGetValue(key, out partition!);

    /// <summary>Adds the partition or rewrites the request fields of the one cached under its key.</summary>
    internal void AddOrUpdate(FetchRequest.FetchTopic requestTopic, FetchRequest.FetchPartition requested)
    {
        var key = SessionPartitionKey.Of(requestTopic, requested.Partition, UsesTopicIds);
        if (_partitions.TryGetValue(key, out var cached))
        {
            cached.Request.CurrentLeaderEpoch = requested.CurrentLeaderEpoch;
            cached.Request.FetchOffset = requested.FetchOffset;
            cached.Request.LastFetchedEpoch = requested.LastFetchedEpoch;
            cached.Request.LogStartOffset = requested.LogStartOffset;
            cached.Request.PartitionMaxBytes = requested.PartitionMaxBytes;
            cached.Request.ReplicaDirectoryId = requested.ReplicaDirectoryId;
            // A partition the client names is answered in full next time, so a client that has reset its state for it (a
            // follower re-assigned the partition, a consumer seeked) learns the high watermark without waiting for a change.
            cached.ForgetAnswer();
            return;
        }

        if (!_topicsByKey.TryGetValue(key.Topic, out var topic))
        {
            topic = new FetchRequest.FetchTopic { Topic = requestTopic.Topic, TopicId = requestTopic.TopicId };
            _topicsByKey[key.Topic] = topic;
            Topics.Add(topic);
        }

        var copy = new FetchRequest.FetchPartition
        {
            Partition = requested.Partition,
            CurrentLeaderEpoch = requested.CurrentLeaderEpoch,
            FetchOffset = requested.FetchOffset,
            LastFetchedEpoch = requested.LastFetchedEpoch,
            LogStartOffset = requested.LogStartOffset,
            PartitionMaxBytes = requested.PartitionMaxBytes,
            ReplicaDirectoryId = requested.ReplicaDirectoryId,
        };
        topic.Partitions.Add(copy);
        _partitions[key] = new CachedPartition(copy);
    }

    internal void Remove(SessionPartitionKey key)
    {
        if (!_partitions.Remove(key, out var cached) || !_topicsByKey.TryGetValue(key.Topic, out var topic))
        {
            return;
        }

        topic.Partitions.Remove(cached.Request);
        if (topic.Partitions.Count == 0)
        {
            _topicsByKey.Remove(key.Topic);
            Topics.Remove(topic);
        }
    }

    /// <summary>Moves the topic to the end of the fetch order, so a full response budget cannot starve the topics after it.</summary>
    internal void MoveToEnd(SessionPartitionKey key)
    {
        if (_topicsByKey.TryGetValue(key.Topic, out var topic) && Topics.Count > 1 && !ReferenceEquals(Topics[^1], topic))
        {
            Topics.Remove(topic);
            Topics.Add(topic);
        }
    }
}

/// <summary>A session partition: the request fields the client last sent and what the broker last answered.</summary>
internal sealed class CachedPartition(FetchRequest.FetchPartition request)
{
    public FetchRequest.FetchPartition Request { get; } = request;

    public long HighWatermark { get; private set; } = -1;

    public long LastStableOffset { get; private set; } = -1;

    public long LogStartOffset { get; private set; } = -1;

    /// <summary>
    /// Whether an incremental response must carry this answer (Kafka's rules: records, an error, a diverging epoch, or a
    /// changed high watermark, last stable offset or log start offset), and remembers it as the last one sent. After an error
    /// the cached high watermark is forgotten, so the first answer after the error goes away is sent too.
    /// </summary>
    public bool MustRespond(FetchResponse.PartitionData answer)
    {
        var must = answer.Records is { Length: > 0 }
            || answer.DivergingEpoch is { } d && (d.Epoch >= 0 || d.EndOffset >= 0)
            || answer.HighWatermark != HighWatermark
            || answer.LastStableOffset != LastStableOffset
            || answer.LogStartOffset != LogStartOffset;
        if (answer.ErrorCode != (short)ErrorCode.None)
        {
            ForgetAnswer();
            return true;
        }

        Remember(answer);
        return must;
    }

    public void Remember(FetchResponse.PartitionData answer)
    {
        if (answer.ErrorCode != (short)ErrorCode.None)
        {
            ForgetAnswer();
            return;
        }

        HighWatermark = answer.HighWatermark;
        LastStableOffset = answer.LastStableOffset;
        LogStartOffset = answer.LogStartOffset;
    }

    public void ForgetAnswer()
    {
        HighWatermark = -1;
        LastStableOffset = -1;
        LogStartOffset = -1;
    }
}

/// <summary>KIP-227's session epochs: 0 asks for a new session, -1 closes one (or fetches without), then 1, 2, … wrapping to 1.</summary>
public static class FetchSessionEpochs
{
    public const int Initial = 0;
    public const int Final = -1;

    public static int Next(int epoch) => epoch < 0 ? Final : epoch == int.MaxValue ? 1 : epoch + 1;
}
