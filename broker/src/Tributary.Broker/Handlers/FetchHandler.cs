using Tributary.Broker.Fetch;
using Tributary.Broker.Replication;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>
/// Translates a Fetch request for the replica manager (topic ids or names to topics, the broker's byte and wait caps) and
/// its per-partition results into the response; the reading and the long-poll policy are <see cref="FetchReads"/>' (the
/// replica manager's <see cref="ReplicaManager.FetchAsync"/> for sessionless and full fetches). Incremental fetch sessions (KIP-227) are kept by a
/// <see cref="FetchSessionCache"/>: an incremental request reads only its session's partitions that are due (changed, named,
/// answered with data or an error last time), long-polls on the whole session, and the session's context answers only those
/// whose answer changed (issue 20: a fetch costs what changed, not what the session holds).
/// </summary>
public sealed class FetchHandler(BrokerContext broker)
{
    /// <summary>Bounds a client-supplied wait so a connection isn't parked for hours.</summary>
    private const int MaxWaitCapMs = 30_000;

    private readonly int _fetchMaxBytes = broker.Config.GetInt("fetch.max.bytes");

    private readonly FetchSessionCache _sessions = FetchSessionHook.CreateCache(broker);

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, FetchRequest request, CancellationToken cancellation)
    {
        var version = context.ApiVersion;
        var isFollower = (version >= 15 ? request.ReplicaState.ReplicaId : request.ReplicaId) >= 0;
        var session = _sessions.Open(request, version, isFollower);
        if (session.Error != ErrorCode.None)
        {
            return session.ErrorResponse();
        }

        var fetch = ParamsOf(session.Request!, version);
        FetchReads.Outcome read;
        using (broker.Metrics.Monitoring.EnterPurgatory(Metrics.DelayedOperation.Fetch))
        {
            read = await FetchReads.ServeAsync(broker.Replicas, () => broker.Image, session, fetch, version, cancellation).ConfigureAwait(false);
        }

        var answer = FetchReads.Answer(read.Request, read.Results);
        if (!fetch.IsFromFollower)
        {
            RecordBytesOut(read);
        }

        var response = session.Complete(answer);
        FetchSessionHook.Record(broker, isFollower, request, response);
        return response;
    }

    /// <summary>Kafka's fetch.max.bytes: the broker's own cap on one response, whatever max_bytes the request asks for. The
    /// response is assembled in this connection's output before it is flushed, so this is also its memory bound.</summary>
    private FetchParams ParamsOf(FetchRequest request, short version) => new(
        ReplicaId: version >= 15 ? request.ReplicaState.ReplicaId : request.ReplicaId,
        ReplicaEpoch: version >= 15 ? request.ReplicaState.ReplicaEpoch : -1,
        MaxWaitMs: Math.Clamp(request.MaxWaitMs, 0, MaxWaitCapMs),
        MinBytes: request.MinBytes,
        MaxBytes: request.MaxBytes > 0 ? Math.Min(request.MaxBytes, _fetchMaxBytes) : _fetchMaxBytes,
        ReadCommitted: request.IsolationLevel == 1);

    private void RecordBytesOut(FetchReads.Outcome read)
    {
        var next = 0;
        for (var t = 0; t < read.Request.Topics.Count; t++)
        {
            foreach (var _ in read.Request.Topics[t].Partitions)
            {
                var records = read.Results[next++].Records;
                if (records.Length > 0)
                {
                    broker.Metrics.RecordBytesOut(read.TopicNames[t]!, records.Length);
                }
            }
        }
    }
}
