using Tributary.Broker.Fetch;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Replication.Fetcher;

/// <summary>A partition's fields as last sent to the leader's fetch session, and the assignment they were sent for.</summary>
internal readonly record struct SessionPartition(PartitionFetchState State, long Generation, long FetchOffset, int LeaderEpoch, int LastFetchedEpoch,
    long LogStartOffset, int MaxBytes)
{
    public bool SameFields(SessionPartition other) =>
        ReferenceEquals(State, other.State) && Generation == other.Generation && FetchOffset == other.FetchOffset && LeaderEpoch == other.LeaderEpoch
        && LastFetchedEpoch == other.LastFetchedEpoch && LogStartOffset == other.LogStartOffset && MaxBytes == other.MaxBytes;
}

/// <summary>
/// The follower's side of one incremental fetch session with a leader (KIP-227; Kafka's FetchSessionHandler): what the
/// leader's session holds for each partition, the session id and the epoch of the next request. A full fetch (epoch 0, naming
/// the old session id so the leader frees it) opens a session; then each request names only partitions whose fields changed
/// or that are new (a re-assigned partition counts as new, so the leader answers it in full), and forgets those no longer
/// fetched. Any error, a lost connection or a leader that answers without a session falls back to a full fetch.
/// </summary>
/// <remarks>Used by one fetcher loop only (not thread-safe).</remarks>
internal sealed class FollowerFetchSession
{
    private readonly Dictionary<(Uuid TopicId, int Partition), SessionPartition> _held = [];
    private readonly Dictionary<(Uuid TopicId, int Partition), SessionPartition> _sending = [];
    private readonly HashSet<(Uuid TopicId, int Partition)> _inRound = [];
    private int _sessionId;
    private int _epoch = FetchSessionEpochs.Initial;

    /// <summary>The session the leader gave (0: none yet).</summary>
    public int SessionId => _sessionId;

    /// <summary>The epoch the next request carries (0: a full fetch).</summary>
    public int NextEpoch => _epoch;

    public bool IsIncremental => _sessionId != 0 && _epoch != FetchSessionEpochs.Initial;

    /// <summary>Starts a request: sets its session fields.</summary>
    public void Begin(FetchRequest request, int roundSize)
    {
        request.SessionId = _sessionId;
        request.SessionEpoch = IsIncremental ? _epoch : FetchSessionEpochs.Initial;
        _sending.Clear();
        _inRound.Clear();
        _inRound.EnsureCapacity(roundSize);
    }

    /// <summary>Whether the partition goes into the request being built (always in a full fetch; in an incremental one when changed or new).</summary>
    public bool NeedsSending(Uuid topicId, int partition, SessionPartition fields)
    {
        var key = (topicId, partition);
        _inRound.Add(key);
        if (IsIncremental && _held.TryGetValue(key, out var held) && held.SameFields(fields))
        {
            return false;
        }

        _sending[key] = fields;
        return true;
    }

    /// <summary>In an incremental fetch, names the session's partitions this round does not fetch as forgotten.</summary>
    public void AddForgotten(FetchRequest request)
    {
        if (!IsIncremental)
        {
            return;
        }

        Dictionary<Uuid, FetchRequest.ForgottenTopic>? byTopic = null;
        foreach (var key in _held.Keys)
        {
            if (_inRound.Contains(key))
            {
                continue;
            }

            byTopic ??= [];
            if (!byTopic.TryGetValue(key.TopicId, out var topic))
            {
                topic = new FetchRequest.ForgottenTopic { TopicId = key.TopicId };
                byTopic[key.TopicId] = topic;
                request.ForgottenTopicsData.Add(topic);
            }

            topic.Partitions.Add(key.Partition);
        }
    }

    /// <summary>
    /// Takes the leader's answer to <paramref name="request"/>. False when it was a session error (the next fetch is then a
    /// full one, to send at once); true otherwise, the response's partitions then to be applied (after another top-level error
    /// the next fetch is also a full one).
    /// </summary>
    public bool Completed(FetchRequest request, FetchResponse response)
    {
        var error = (ErrorCode)response.ErrorCode;
        if (error is ErrorCode.FetchSessionIdNotFound or ErrorCode.InvalidFetchSessionEpoch or ErrorCode.FetchSessionTopicIdError)
        {
            // The leader no longer knows the session (FETCH_SESSION_ID_NOT_FOUND): nothing to close.
            if (error == ErrorCode.FetchSessionIdNotFound)
            {
                _sessionId = 0;
            }

            Reset();
            return false;
        }

        if (error != ErrorCode.None || response.SessionId == 0)
        {
            // No session (declined, cache full, sessions off, or an error): fetch in full next time, asking again.
            if (response.SessionId == 0 && error == ErrorCode.None)
            {
                _sessionId = 0;
            }

            Reset();
            return true;
        }

        if (request.SessionEpoch == FetchSessionEpochs.Initial)
        {
            _held.Clear();
        }
        else
        {
            foreach (var topic in request.ForgottenTopicsData)
            {
                foreach (var partition in topic.Partitions)
                {
                    _held.Remove((topic.TopicId, partition));
                }
            }
        }

        foreach (var (key, fields) in _sending)
        {
            _held[key] = fields;
        }

        _sessionId = response.SessionId;
        _epoch = FetchSessionEpochs.Next(request.SessionEpoch);
        return true;
    }

    /// <summary>Falls back to a full fetch; the request names the old session so the leader frees its slot.</summary>
    public void Reset()
    {
        _epoch = FetchSessionEpochs.Initial;
        _held.Clear();
    }
}
