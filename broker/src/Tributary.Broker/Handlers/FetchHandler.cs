using Tributary.Broker.Fetch;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>
/// Serves consumer fetches: whole batches below the high watermark, within the request's per-partition and
/// total byte limits (KIP-74: the first batch is returned even if larger, so a consumer can always progress),
/// long-polling until MinBytes are available or MaxWaitMs passes. Incremental fetch sessions (KIP-227) are kept by a
/// <see cref="FetchSessionCache"/>: the handler reads every partition of the session, the session's context answers only
/// those whose answer changed.
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
        var targets = Resolve(request, version);
        var waitMs = Math.Clamp(request.MaxWaitMs, 0, MaxWaitCapMs);
        var deadline = Environment.TickCount64 + waitMs;
        var replicaId = version >= 15 ? request.ReplicaState.ReplicaId : request.ReplicaId;
        while (true)
        {
            // Take the signals before reading so a change between the read and the wait still wakes us. Followers wait
            // for appends (they replicate up to the log end); consumers for the high watermark to move.
            var signals = targets.Where(t => t.Partition is not null)
                .Select(t => replicaId >= 0 ? t.Partition!.NextAppend : t.Partition!.NextChange).ToList();
            var leadershipGained = replicaId >= 0 ? broker.Replicas.NextLeadershipGained : null;
            if (leadershipGained is not null)
            {
                signals.Add(leadershipGained);
            }

            var (response, bytes) = ReadAll(request, targets, version, replicaId);
            var remaining = deadline - Environment.TickCount64;
            if (bytes >= request.MinBytes || remaining <= 0 || signals.Count == 0 || MustAnswerNow(response))
            {
                return response;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            timeout.CancelAfter(TimeSpan.FromMilliseconds(remaining));
            try
            {
                using var waiting = broker.Metrics.Monitoring.EnterPurgatory(Metrics.DelayedOperation.Fetch);
                await Task.WhenAny(signals).WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
            {
                // Waited the full MaxWaitMs: answer with what there is (usually nothing).
                return ReadAll(request, targets, version, replicaId).Response;
            }

            if (leadershipGained is { IsCompleted: true })
            {
                // This broker now leads more partitions: let the follower come back with a fetch that includes them.
                return ReadAll(request, targets, version, replicaId).Response;
            }
        }
    }

    private List<FetchTarget> Resolve(FetchRequest request, short version)
    {
        var image = broker.Image;
        var targets = new List<FetchTarget>();
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

            foreach (var p in topic.Partitions)
            {
                Partition? replica = null;
                var error = ErrorCode.None;
                if (topicImage is null)
                {
                    error = missing;
                }
                else if (!broker.Replicas.TryGetPartition(topicImage.Name, p.Partition, out replica))
                {
                    error = ErrorCode.UnknownTopicOrPartition;
                }
                else if (replica.Image.Leader != broker.NodeId)
                {
                    error = ErrorCode.NotLeaderOrFollower;
                    replica = null;
                }

                targets.Add(new FetchTarget(topic, p, topicImage?.Name, replica, error));
            }
        }

        return targets;
    }

    private (FetchResponse Response, long Bytes) ReadAll(FetchRequest request, List<FetchTarget> targets, short version, int replicaId)
    {
        var response = new FetchResponse { SessionId = 0 };
        // Kafka's fetch.max.bytes: the broker's own cap on one response, whatever max_bytes the request asks for. The
        // response is assembled in this connection's output before it is flushed, so this is also its memory bound.
        var brokerCap = _fetchMaxBytes;
        var budget = request.MaxBytes > 0 ? Math.Min(request.MaxBytes, brokerCap) : brokerCap;
        long total = 0;
        FetchResponse.FetchableTopicResponse? current = null;
        FetchRequest.FetchTopic? currentRequestTopic = null;
        foreach (var target in targets)
        {
            if (!ReferenceEquals(currentRequestTopic, target.RequestTopic))
            {
                currentRequestTopic = target.RequestTopic;
                current = new FetchResponse.FetchableTopicResponse { Topic = target.RequestTopic.Topic, TopicId = target.RequestTopic.TopicId };
                response.Responses.Add(current);
            }

            var data = new FetchResponse.PartitionData
            {
                PartitionIndex = target.RequestPartition.Partition,
                HighWatermark = -1,
                LastStableOffset = -1,
                LogStartOffset = -1,
                AbortedTransactions = null,
                Records = ReadOnlyMemory<byte>.Empty,
            };
            current!.Partitions.Add(data);
            if (target.Partition is null)
            {
                data.ErrorCode = (short)target.Error;
                continue;
            }

            var limit = (int)Math.Min(target.RequestPartition.PartitionMaxBytes, budget);
            var outcome = replicaId >= 0
                ? broker.Replicas.ReadForFollower(target.Partition, replicaId, target.RequestPartition.FetchOffset, limit, minOneBatch: total == 0,
                    target.RequestPartition.CurrentLeaderEpoch, version >= 12 ? target.RequestPartition.LastFetchedEpoch : -1,
                    broker.Config.ReplicaLagTimeMaxMs, version >= 15 ? request.ReplicaState.ReplicaEpoch : -1)
                : broker.Replicas.Read(target.Partition, target.RequestPartition.FetchOffset, limit,
                    minOneBatch: total == 0, target.RequestPartition.CurrentLeaderEpoch);
            data.ErrorCode = (short)outcome.Error;
            if (outcome.DivergingEpoch >= 0 || outcome.DivergingEndOffset >= 0)
            {
                data.DivergingEpoch = new FetchResponse.EpochEndOffset { Epoch = outcome.DivergingEpoch, EndOffset = outcome.DivergingEndOffset };
            }

            data.HighWatermark = outcome.HighWatermark;
            data.LastStableOffset = outcome.LastStableOffset;
            data.LogStartOffset = outcome.LogStartOffset;
            if (request.IsolationLevel == 1)
            {
                data.AbortedTransactions = [];
            }

            data.Records = outcome.Records;
            total += outcome.Records.Length;
            budget = (int)Math.Max(0, budget - outcome.Records.Length);
            if (outcome.Records.Length > 0 && replicaId < 0)
            {
                broker.Metrics.RecordBytesOut(target.TopicName!, outcome.Records.Length);
            }
        }

        return (response, total);
    }

    /// <summary>Errors and diverging epochs (the follower must truncate first) are answered at once, not long-polled.</summary>
    private static bool MustAnswerNow(FetchResponse response) =>
        response.Responses.Any(t => t.Partitions.Any(p => p.ErrorCode != 0 || p.DivergingEpoch is { } d && (d.Epoch >= 0 || d.EndOffset >= 0)));

    private sealed record FetchTarget(FetchRequest.FetchTopic RequestTopic, FetchRequest.FetchPartition RequestPartition,
        string? TopicName, Partition? Partition, ErrorCode Error);
}
