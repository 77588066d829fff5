using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Fetch;

/// <summary>
/// One fetch request's view of its session (Kafka's FetchContext): <see cref="Request"/> is what the fetch handler reads —
/// for an incremental fetch the session partitions that are due (see <see cref="FetchSession"/>), the request itself
/// otherwise — and <see cref="Complete"/> turns the handler's answer for all of them into the response: for an incremental
/// fetch only the partitions whose answer changed, for a full one the new session's id. An incremental fetch that waits parks
/// on its session (<see cref="Park"/>) and reads again what changed meanwhile (<see cref="TryAddChanged"/>).
/// </summary>
public sealed class FetchSessionContext
{
    private readonly FetchSessionCache? _cache;
    private readonly FetchSession? _session;
    private readonly bool _privileged;
    private readonly bool _usesTopicIds;
    private List<CachedPartition> _reading = [];
    private long _pass;

    private FetchSessionContext(FetchSessionKind kind, FetchRequest? request, ErrorCode error, FetchSessionCache? cache = null,
        FetchSession? session = null, bool privileged = false, bool usesTopicIds = false)
    {
        Kind = kind;
        Request = request;
        Error = error;
        _cache = cache;
        _session = session;
        _privileged = privileged;
        _usesTopicIds = usesTopicIds;
    }

    public FetchSessionKind Kind { get; }

    /// <summary>The partitions to read and the request fields for each (null when <see cref="Error"/> is set).</summary>
    public FetchRequest? Request { get; private set; }

    /// <summary>An incremental fetch's session partitions in the order <see cref="Request"/> names them (empty otherwise).</summary>
    internal IReadOnlyList<CachedPartition> Reading => _reading;

    /// <summary>A session error that answers the whole request (no partitions), or None.</summary>
    public ErrorCode Error { get; }

    internal static FetchSessionContext Sessionless(FetchRequest request) => new(FetchSessionKind.Sessionless, request, ErrorCode.None);

    internal static FetchSessionContext Failed(ErrorCode error) => new(FetchSessionKind.Error, null, error);

    internal static FetchSessionContext Full(FetchSessionCache cache, FetchRequest request, bool privileged, bool usesTopicIds) =>
        new(FetchSessionKind.Full, request, ErrorCode.None, cache, privileged: privileged, usesTopicIds: usesTopicIds);

    /// <summary>An incremental fetch: reads the partitions of <paramref name="session"/> that are due. Caller holds the session's gate.</summary>
    internal static FetchSessionContext Incremental(FetchSession session, FetchRequest request, long nowMs, long refreshMs)
    {
        var context = new FetchSessionContext(FetchSessionKind.Incremental, request, ErrorCode.None, session: session, usesTopicIds: session.UsesTopicIds);
        context._reading = session.TakeDue(nowMs, refreshMs, out context._pass);
        context.Request = context.View(request);
        return context;
    }

    /// <summary>
    /// The request's other fields (wait, sizes, isolation, replica) with <see cref="_reading"/>'s partitions, grouped by topic;
    /// <see cref="_reading"/> is reordered to the view's order (the order the handler's results come in).
    /// </summary>
    private FetchRequest View(FetchRequest request)
    {
        var view = new FetchRequest
        {
            ClusterId = request.ClusterId,
            ReplicaId = request.ReplicaId,
            ReplicaState = request.ReplicaState,
            MaxWaitMs = request.MaxWaitMs,
            MinBytes = request.MinBytes,
            MaxBytes = request.MaxBytes,
            IsolationLevel = request.IsolationLevel,
            SessionId = request.SessionId,
            SessionEpoch = request.SessionEpoch,
            Topics = [],
            RackId = request.RackId,
        };
        if (_reading.Count == 0)
        {
            return view;
        }

        var groupOf = new Dictionary<FetchRequest.FetchTopic, int>(ReferenceEqualityComparer.Instance);
        var groups = new List<List<CachedPartition>>();
        foreach (var cached in _reading)
        {
            if (!groupOf.TryGetValue(cached.Topic, out var group))
            {
                group = groups.Count;
                groupOf[cached.Topic] = group;
                groups.Add([]);
                view.Topics.Add(new FetchRequest.FetchTopic { Topic = cached.Topic.Topic, TopicId = cached.Topic.TopicId });
            }

            view.Topics[group].Partitions.Add(cached.Request);
            groups[group].Add(cached);
        }

        var ordered = new List<CachedPartition>(_reading.Count);
        groups.ForEach(ordered.AddRange);
        _reading = ordered;
        return view;
    }

    /// <summary>
    /// A parked incremental fetch woke: adds the session partitions that changed since its last pass to what it reads (it reads
    /// them all again, as a long poll re-reads its partitions). False when none changed.
    /// </summary>
    internal bool TryAddChanged()
    {
        if (_session is null)
        {
            return false;
        }

        var changed = _session.TakeChanged();
        var added = false;
        foreach (var cached in changed)
        {
            if (cached.DueSequence != _pass)
            {
                cached.DueSequence = _pass;
                _reading.Add(cached);
                added = true;
            }
        }

        if (added)
        {
            Request = View(Request!);
        }

        return added;
    }

    /// <summary>The handler read <see cref="Reading"/>: each listens to this broker's replica of it from now on (<paramref name="hosted"/>, in the same order).</summary>
    internal void Bind(Partition?[] hosted, long nowMs)
    {
        for (var i = 0; i < _reading.Count; i++)
        {
            _reading[i].Bind(hosted[i], nowMs);
        }
    }

    /// <summary>Waits for a change of the session (see <see cref="FetchSession.Park"/>); completed at once for other kinds.</summary>
    internal Task Park() => _session?.Park() ?? Task.CompletedTask;

    internal void Unpark(Task parked) => _session?.Unpark(parked);

    /// <summary>The partition whose change woke the parked fetch, if a partition did.</summary>
    internal Partition? WokenBy => _session?.WokenBy;

    /// <summary>
    /// After the final read: partitions answered with records, an error or a diverging epoch, or cut short by the byte budget,
    /// are read again next time (whatever else changes); those with records go last, so the budget rotates over busy partitions.
    /// </summary>
    internal void RequeueAnswered(ReadOnlySpan<ReadOutcome> results)
    {
        if (_session is null)
        {
            return;
        }

        List<CachedPartition>? withRecords = null;
        for (var i = 0; i < results.Length && i < _reading.Count; i++)
        {
            if (results[i].Records.Length > 0)
            {
                (withRecords ??= []).Add(_reading[i]);
            }
            else if (results[i].MustAnswerNow || results[i].HasMore)
            {
                _session.MarkDue(_reading[i], wake: false);
            }
        }

        withRecords?.ForEach(cached => _session.MarkDue(cached, wake: false));
    }

    /// <summary>The response for a session error: the error, session id 0, no partitions (as Kafka's SessionErrorContext answers).</summary>
    public FetchResponse ErrorResponse() => new() { ErrorCode = (short)Error, SessionId = 0 };

    /// <summary>
    /// Turns the handler's answer for every partition of <see cref="Request"/> into the response: sessionless as it is (session
    /// id 0); full with a new session's id when one could be created (0 otherwise); incremental with only the partitions that
    /// must be sent, whose topics then move to the end of the session's fetch order.
    /// </summary>
    public FetchResponse Complete(FetchResponse answer)
    {
        switch (Kind)
        {
            case FetchSessionKind.Full:
                return CompleteFull(answer);
            case FetchSessionKind.Incremental:
                return CompleteIncremental(answer);
            default:
                answer.SessionId = 0;
                return answer;
        }
    }

    /// <summary>Partitions in the answer (tests and the fetch counters).</summary>
    public static int PartitionCount(FetchResponse response)
    {
        var count = 0;
        foreach (var topic in response.Responses)
        {
            count += topic.Partitions.Count;
        }

        return count;
    }

    private FetchResponse CompleteFull(FetchResponse answer)
    {
        var partitions = 0;
        foreach (var topic in Request!.Topics)
        {
            partitions += topic.Partitions.Count;
        }

        var session = _cache!.TryCreate(_privileged, _usesTopicIds, partitions);
        if (session is null)
        {
            answer.SessionId = 0;
            return answer;
        }

        lock (session.Gate)
        {
            foreach (var topic in Request.Topics)
            {
                foreach (var partition in topic.Partitions)
                {
                    session.AddOrUpdate(topic, partition);
                }
            }

            foreach (var topic in answer.Responses)
            {
                foreach (var data in topic.Partitions)
                {
                    if (session.TryGet(SessionPartitionKey.Of(topic, data.PartitionIndex, _usesTopicIds), out var cached))
                    {
                        cached.Remember(data);
                    }
                }
            }
        }

        answer.SessionId = session.Id;
        return answer;
    }

    private FetchResponse CompleteIncremental(FetchResponse answer)
    {
        var session = _session!;
        var response = new FetchResponse { ThrottleTimeMs = answer.ThrottleTimeMs, ErrorCode = answer.ErrorCode, SessionId = session.Id };
        lock (session.Gate)
        {
            foreach (var topic in answer.Responses)
            {
                FetchResponse.FetchableTopicResponse? kept = null;
                foreach (var data in topic.Partitions)
                {
                    var key = SessionPartitionKey.Of(topic, data.PartitionIndex, _usesTopicIds);
                    if (session.TryGet(key, out var cached) && !cached.MustRespond(data))
                    {
                        continue;
                    }

                    if (kept is null)
                    {
                        kept = new FetchResponse.FetchableTopicResponse { Topic = topic.Topic, TopicId = topic.TopicId };
                        response.Responses.Add(kept);
                    }

                    kept.Partitions.Add(data);
                }
            }
        }

        response.NodeEndpoints = answer.NodeEndpoints;
        return response;
    }
}

/// <summary>How a fetch request uses its session (KIP-227).</summary>
public enum FetchSessionKind
{
    /// <summary>Fetch before v7, epoch -1, or no slot: every partition is named and answered, session id 0.</summary>
    Sessionless,

    /// <summary>Epoch 0: every partition is named and answered, and a new session remembers them.</summary>
    Full,

    /// <summary>Epoch ≥ 1: the request names only changes; the response carries only partitions whose answer changed.</summary>
    Incremental,

    /// <summary>The session is unknown, at another epoch, or used with the other kind of topic naming.</summary>
    Error,
}
