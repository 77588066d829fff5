using System.Security.Cryptography;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Fetch;

/// <summary>
/// The broker's incremental fetch sessions (KIP-227, Fetch v7+), at most <c>max.incremental.fetch.session.cache.slots</c>
/// of them. Each fetch opens a <see cref="FetchSessionContext"/> here: a full fetch (epoch 0) may create a session, an
/// incremental one (epoch ≥ 1) updates its session and is answered with only the partitions whose answer changed, epoch -1
/// fetches without a session. Errors: FETCH_SESSION_ID_NOT_FOUND for an unknown session, INVALID_FETCH_SESSION_EPOCH for an
/// epoch other than the session's next, FETCH_SESSION_TOPIC_ID_ERROR when the request's use of topic ids differs from the
/// session's.
/// </summary>
/// <remarks>
/// Eviction, when a new session needs a slot of a full cache (Kafka's FetchSessionCache ideas): first the least recently
/// used session if it has been idle longer than the eviction interval (Kafka's 2 minutes); otherwise a follower (privileged)
/// session takes the slot of the least recently used consumer session, and a consumer session that of the least recently
/// used consumer session older than the eviction interval; a follower session younger than the interval is never evicted
/// except by staleness. Where Kafka breaks ties by session size, sessions of the same priority here go least recently used
/// first. A session that cannot get a slot is not an error: the response carries session id 0 and the client keeps
/// sending full fetches.
/// </remarks>
public sealed class FetchSessionCache
{
    /// <summary>Kafka's MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS.</summary>
    public const long DefaultEvictionMs = 120_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<int, FetchSession> _sessions = [];
    private readonly TimeProvider _time;
    private long _evictions;

    /// <summary>Half of Kafka's default replica.lag.time.max.ms.</summary>
    public const long DefaultRefreshMs = 15_000;

    /// <param name="refreshMs">An incremental fetch also reads a session partition that no change made it read for this long
    /// (a few per fetch: see <see cref="FetchSession"/>).</param>
    public FetchSessionCache(int maxSessions, TimeProvider time, long evictionMs = DefaultEvictionMs, long refreshMs = DefaultRefreshMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSessions);
        MaxSessions = maxSessions;
        EvictionMs = evictionMs;
        RefreshMs = refreshMs;
        _time = time;
    }

    /// <summary>How long a session partition may go unread before an incremental fetch reads it although nothing signalled a change.</summary>
    public long RefreshMs { get; }

    public int MaxSessions { get; }

    public long EvictionMs { get; }

    /// <summary>Sessions held now (kafka_server_fetchsessioncache_numincrementalfetchsessions).</summary>
    public int SessionCount
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Count;
            }
        }
    }

    /// <summary>Partitions held over all sessions (…_numincrementalfetchpartitionscached); read without the sessions' locks, as a gauge may.</summary>
    public long PartitionsCached
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Values.Sum(s => (long)s.Size);
            }
        }
    }

    /// <summary>Sessions evicted to make room for another (…_incrementalfetchsessionevictions_total).</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Starts serving one fetch request: decides full, incremental, sessionless or error, as KIP-227 says.</summary>
    /// <param name="isFollower">the request comes from a replica (its session is privileged).</param>
    public FetchSessionContext Open(FetchRequest request, short version, bool isFollower)
    {
        var usesTopicIds = version >= 13;
        if (version < 7)
        {
            return FetchSessionContext.Sessionless(request);
        }

        if (request.SessionEpoch is FetchSessionEpochs.Initial or FetchSessionEpochs.Final)
        {
            // Any session a full fetch names is closed; epoch -1 then fetches without one, epoch 0 asks for a new one.
            if (request.SessionId != 0)
            {
                Remove(request.SessionId);
            }

            return request.SessionEpoch == FetchSessionEpochs.Final || MaxSessions == 0
                ? FetchSessionContext.Sessionless(request)
                : FetchSessionContext.Full(this, request, isFollower, usesTopicIds);
        }

        if (request.SessionEpoch < 0)
        {
            return FetchSessionContext.Failed(ErrorCode.InvalidFetchSessionEpoch);
        }

        FetchSession? session;
        lock (_lock)
        {
            _sessions.TryGetValue(request.SessionId, out session);
        }

        if (session is null)
        {
            return FetchSessionContext.Failed(ErrorCode.FetchSessionIdNotFound);
        }

        lock (session.Gate)
        {
            if (session.Epoch != request.SessionEpoch)
            {
                return FetchSessionContext.Failed(ErrorCode.InvalidFetchSessionEpoch);
            }

            if (session.UsesTopicIds != usesTopicIds)
            {
                return FetchSessionContext.Failed(ErrorCode.FetchSessionTopicIdError);
            }

            foreach (var topic in request.Topics)
            {
                foreach (var partition in topic.Partitions)
                {
                    session.AddOrUpdate(topic, partition);
                }
            }

            foreach (var forgotten in request.ForgottenTopicsData)
            {
                foreach (var partition in forgotten.Partitions)
                {
                    session.Remove(SessionPartitionKey.Of(forgotten, partition, usesTopicIds));
                }
            }

            if (session.Size == 0)
            {
                // Nothing left to fetch: the session ends, and this (empty) request is answered without one.
                Remove(session.Id);
                return FetchSessionContext.Sessionless(request);
            }

            session.Epoch = FetchSessionEpochs.Next(session.Epoch);
            var now = NowMs;
            session.Touch(now);
            return FetchSessionContext.Incremental(session, request, now, RefreshMs);
        }
    }

    /// <summary>Creates a session for a full fetch's partitions if a slot is free or can be freed; null when not.</summary>
    internal FetchSession? TryCreate(bool privileged, bool usesTopicIds, int partitions)
    {
        if (partitions == 0)
        {
            return null;
        }

        var now = NowMs;
        FetchSession? evicted = null;
        try
        {
            lock (_lock)
            {
                if (_sessions.Count >= MaxSessions && (evicted = TryEvictFor(privileged, now)) is null)
                {
                    return null;
                }

                int id;
                do
                {
                    id = RandomNumberGenerator.GetInt32(1, int.MaxValue);
                }
                while (_sessions.ContainsKey(id));

                var session = new FetchSession(id, privileged, usesTopicIds, now);
                _sessions[id] = session;
                return session;
            }
        }
        finally
        {
            // Outside the cache lock: closing takes the session's gate, which a fetch holds while it asks the cache to remove it.
            evicted?.Close();
        }
    }

    public bool Remove(int sessionId)
    {
        FetchSession? removed;
        lock (_lock)
        {
            _sessions.Remove(sessionId, out removed);
        }

        removed?.Close();
        return removed is not null;
    }

    /// <summary>The session with this id, if the cache holds it (tests, diagnostics).</summary>
    internal FetchSession? Find(int sessionId)
    {
        lock (_lock)
        {
            return _sessions.GetValueOrDefault(sessionId);
        }
    }

    /// <summary>Ids of the sessions held now (tests, diagnostics).</summary>
    internal IReadOnlyList<int> SessionIds()
    {
        lock (_lock)
        {
            return [.. _sessions.Keys];
        }
    }

    /// <summary>Whether the cache holds the session (tests, diagnostics).</summary>
    public bool Contains(int sessionId)
    {
        lock (_lock)
        {
            return _sessions.ContainsKey(sessionId);
        }
    }

    /// <summary>Caller holds the cache lock and closes the returned session (null: none could be evicted) after releasing it.</summary>
    private FetchSession? TryEvictFor(bool privileged, long now)
    {
        FetchSession? leastRecent = null;
        FetchSession? candidate = null;
        foreach (var session in _sessions.Values)
        {
            if (leastRecent is null || session.LastUsedMs < leastRecent.LastUsedMs)
            {
                leastRecent = session;
            }

            var evictable = !session.Privileged && (privileged || now - session.CreatedMs > EvictionMs);
            if (evictable && (candidate is null || session.LastUsedMs < candidate.LastUsedMs))
            {
                candidate = session;
            }
        }

        var victim = leastRecent is not null && now - leastRecent.LastUsedMs > EvictionMs ? leastRecent : candidate;
        if (victim is null)
        {
            return null;
        }

        _sessions.Remove(victim.Id);
        Interlocked.Increment(ref _evictions);
        return victim;
    }
}
