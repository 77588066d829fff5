using Tributary.Broker.Fetch;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>
/// Translates a Fetch request for the replica manager (topic ids or names to topics, the broker's byte and wait caps) and
/// its per-partition results into the response; the reading and the long-poll policy are the replica manager's
/// (<see cref="ReplicaManager.FetchAsync"/>). Incremental fetch sessions (KIP-227) are kept by a
/// <see cref="FetchSessionCache"/>: a request is expanded to its session's partitions, and the session's context answers
/// only those whose answer changed.
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

        var answer = await ServeAsync(context, session.Request!, cancellation).ConfigureAwait(false);
        var response = session.Complete(answer);
        FetchSessionHook.Record(broker, isFollower, request, response);
        return response;
    }

    private async ValueTask<FetchResponse> ServeAsync(RequestContext context, FetchRequest request, CancellationToken cancellation)
    {
        var version = context.ApiVersion;
        var (partitions, topicNames) = Translate(request, version);
        // Kafka's fetch.max.bytes: the broker's own cap on one response, whatever max_bytes the request asks for. The
        // response is assembled in this connection's output before it is flushed, so this is also its memory bound.
        var fetch = new FetchParams(
            ReplicaId: version >= 15 ? request.ReplicaState.ReplicaId : request.ReplicaId,
            ReplicaEpoch: version >= 15 ? request.ReplicaState.ReplicaEpoch : -1,
            MaxWaitMs: Math.Clamp(request.MaxWaitMs, 0, MaxWaitCapMs),
            MinBytes: request.MinBytes,
            MaxBytes: request.MaxBytes > 0 ? Math.Min(request.MaxBytes, _fetchMaxBytes) : _fetchMaxBytes,
            ReadCommitted: request.IsolationLevel == 1);
        ReadOutcome[] results;
        using (broker.Metrics.Monitoring.EnterPurgatory(Metrics.DelayedOperation.Fetch))
        {
            results = await broker.Replicas.FetchAsync(fetch, partitions, cancellation).ConfigureAwait(false);
        }

        return Respond(request, results, topicNames, fetch.IsFromFollower);
    }

    /// <summary>The request's partitions in order, with topic ids (v13+) or names resolved against the metadata image.</summary>
    private (List<FetchPartitionRequest> Partitions, List<string?> TopicNames) Translate(FetchRequest request, short version)
    {
        var image = broker.Image;
        var partitions = new List<FetchPartitionRequest>();
        var topicNames = new List<string?>(request.Topics.Count);
        foreach (var topic in request.Topics)
        {
            TopicImage? topicImage;
            ErrorCode missing;
            if (version >= 13)
            {
                image.TopicsById.TryGetValue(topic.TopicId, out topicImage);
                missing = ErrorCode.UnknownTopicId;
            }
            else
            {
                image.Topics.TryGetValue(topic.Topic, out topicImage);
                missing = ErrorCode.UnknownTopicOrPartition;
            }

            topicNames.Add(topicImage?.Name);
            foreach (var p in topic.Partitions)
            {
                partitions.Add(new FetchPartitionRequest(topicImage?.Name, p.Partition, p.FetchOffset, p.PartitionMaxBytes, p.CurrentLeaderEpoch,
                    version >= 12 ? p.LastFetchedEpoch : -1, missing));
            }
        }

        return (partitions, topicNames);
    }

    private FetchResponse Respond(FetchRequest request, ReadOnlyMemory<ReadOutcome> results, List<string?> topicNames, bool toFollower)
    {
        var response = new FetchResponse { SessionId = 0 };
        var next = 0;
        for (var t = 0; t < request.Topics.Count; t++)
        {
            var topic = request.Topics[t];
            var topicResponse = new FetchResponse.FetchableTopicResponse { Topic = topic.Topic, TopicId = topic.TopicId };
            response.Responses.Add(topicResponse);
            foreach (var p in topic.Partitions)
            {
                var outcome = results.Span[next++];
                var data = new FetchResponse.PartitionData
                {
                    PartitionIndex = p.Partition,
                    ErrorCode = (short)outcome.Error,
                    HighWatermark = outcome.HighWatermark,
                    LastStableOffset = outcome.LastStableOffset,
                    LogStartOffset = outcome.LogStartOffset,
                    AbortedTransactions = null,
                    Records = outcome.Records,
                };
                if (outcome.DivergingEpoch >= 0 || outcome.DivergingEndOffset >= 0)
                {
                    data.DivergingEpoch = new FetchResponse.EpochEndOffset { Epoch = outcome.DivergingEpoch, EndOffset = outcome.DivergingEndOffset };
                }

                // Kafka leaves aborted transactions null for partitions it could not look up.
                if (request.IsolationLevel == 1 && outcome.Error is not (ErrorCode.UnknownTopicId or ErrorCode.UnknownTopicOrPartition
                        or ErrorCode.NotLeaderOrFollower))
                {
                    data.AbortedTransactions = [];
                    foreach (var aborted in outcome.AbortedTransactions ?? [])
                    {
                        data.AbortedTransactions.Add(new FetchResponse.AbortedTransaction
                        {
                            ProducerId = aborted.ProducerId,
                            FirstOffset = aborted.FirstOffset,
                        });
                    }
                }

                topicResponse.Partitions.Add(data);
                if (outcome.Records.Length > 0 && !toFollower)
                {
                    broker.Metrics.RecordBytesOut(topicNames[t]!, outcome.Records.Length);
                }
            }
        }

        return response;
    }
}
