using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Fetch;

/// <summary>
/// One fetch request's view of its session (Kafka's FetchContext): <see cref="Request"/> is what the fetch handler reads —
/// every partition of the session for an incremental fetch, the request itself otherwise — and <see cref="Complete"/> turns
/// the handler's answer for all of them into the response: for an incremental fetch only the partitions whose answer
/// changed, for a full one the new session's id.
/// </summary>
public sealed class FetchSessionContext
{
    private readonly FetchSessionCache? _cache;
    private readonly FetchSession? _session;
    private readonly bool _privileged;
    private readonly bool _usesTopicIds;

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
    public FetchRequest? Request { get; }

    /// <summary>A session error that answers the whole request (no partitions), or None.</summary>
    public ErrorCode Error { get; }

    internal static FetchSessionContext Sessionless(FetchRequest request) => new(FetchSessionKind.Sessionless, request, ErrorCode.None);

    internal static FetchSessionContext Failed(ErrorCode error) => new(FetchSessionKind.Error, null, error);

    internal static FetchSessionContext Full(FetchSessionCache cache, FetchRequest request, bool privileged, bool usesTopicIds) =>
        new(FetchSessionKind.Full, request, ErrorCode.None, cache, privileged: privileged, usesTopicIds: usesTopicIds);

    internal static FetchSessionContext Incremental(FetchSession session, FetchRequest request)
    {
        // The handler reads the session's partitions with the request's other fields (wait, sizes, isolation, replica).
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
            // A copy of the topic order: the response reorders the session's list (MoveToEnd) while this view is read.
            Topics = [.. session.Topics],
            RackId = request.RackId,
        };
        return new(FetchSessionKind.Incremental, view, ErrorCode.None, session: session, usesTopicIds: session.UsesTopicIds);
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
        List<SessionPartitionKey>? withRecords = null;
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
                    if (data.Records is { Length: > 0 })
                    {
                        (withRecords ??= []).Add(key);
                    }
                }
            }

            if (withRecords is not null)
            {
                foreach (var key in withRecords)
                {
                    session.MoveToEnd(key);
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
