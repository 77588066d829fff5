using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Fetch;

/// <summary>
/// The reading side of a Fetch, between the fetch handler (wire, metrics) and the replica manager: a sessionless or full
/// fetch reads every partition it names (<see cref="ReplicaManager.FetchAsync"/>); an incremental fetch (KIP-227) with Kafka's long-poll policy over its whole session, reading only what is due
/// (issue 20): the session partitions that changed, were named, were answered with data or an error last time, or were not
/// read for a while (<see cref="FetchSession"/>). Unless min bytes are there, an error or a diverging epoch must be answered,
/// or the wait is over, it parks on the session — an append to any session partition wakes a follower's fetch, a high-watermark
/// move a consumer's — and reads again what it read plus what changed. A follower's fetch also returns when this broker starts
/// leading more partitions, as <see cref="ReplicaManager.FetchAsync"/> does.
/// </summary>
internal static class FetchReads
{
    /// <summary>What the fetch read (<paramref name="Request"/>'s partitions, in order) and each one's outcome.</summary>
    internal readonly record struct Outcome(FetchRequest Request, ReadOutcome[] Results, List<string?> TopicNames);

    /// <summary>Reads what <paramref name="session"/> says this fetch reads, long-polling as the request asks.</summary>
    public static async Task<Outcome> ServeAsync(ReplicaManager replicas, Func<MetadataImage> image, FetchSessionContext session,
        FetchParams fetch, short version, CancellationToken cancellation)
    {
        if (session.Kind == FetchSessionKind.Incremental)
        {
            return await ServeIncrementalAsync(replicas, image, session, fetch, version, cancellation).ConfigureAwait(false);
        }

        var request = session.Request!;
        var (partitions, topicNames) = Translate(image(), request, version);
        var results = await replicas.FetchAsync(fetch, partitions, cancellation).ConfigureAwait(false);
        return new Outcome(request, results, topicNames);
    }

    private static async Task<Outcome> ServeIncrementalAsync(ReplicaManager replicas, Func<MetadataImage> image, FetchSessionContext session,
        FetchParams fetch, short version, CancellationToken cancellation)
    {
        var time = replicas.Time;
        var started = time.GetTimestamp();
        var maxWait = TimeSpan.FromMilliseconds(Math.Max(0, fetch.MaxWaitMs));
        var lastPass = false;
        while (true)
        {
            var leadershipGained = fetch.IsFromFollower ? replicas.NextLeadershipGained : null;
            var request = session.Request!;
            var (partitions, topicNames) = Translate(image(), request, version);
            var hosted = new Partition?[partitions.Count];
            var (results, bytes, mustAnswer) = replicas.ReadForSession(fetch, partitions, fetch.IsFromFollower ? session.Reading : null, hosted);
            session.Bind(hosted, time.GetUtcNow().ToUnixTimeMilliseconds());
            var remaining = maxWait - time.GetElapsedTime(started);
            if (lastPass || bytes >= fetch.MinBytes || mustAnswer || remaining <= TimeSpan.Zero)
            {
                session.RequeueAnswered(results);
                return new Outcome(request, results, topicNames);
            }

            var parked = session.Park();
            if (!parked.IsCompleted)
            {
                var expired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using var timer = time.CreateTimer(static state => ((TaskCompletionSource)state!).TrySetResult(), expired, remaining,
                    Timeout.InfiniteTimeSpan);
                try
                {
                    await (leadershipGained is null ? Task.WhenAny(parked, expired.Task) : Task.WhenAny(parked, expired.Task, leadershipGained))
                        .WaitAsync(cancellation).ConfigureAwait(false);
                }
                finally
                {
                    session.Unpark(parked);
                }

                // The wait is over (or this broker leads more partitions): read once more and answer whatever there is.
                lastPass = !parked.IsCompleted || leadershipGained is { IsCompleted: true };
                if (parked.IsCompleted && fetch.IsFromFollower && session.WokenBy is { } woke)
                {
                    replicas.RecordFollowerWakeup(woke);
                }
            }

            session.TryAddChanged();
        }
    }

    /// <summary>The answer for every partition that was read, in the read request's order (session id 0: the session's context sets it).</summary>
    public static FetchResponse Answer(FetchRequest request, ReadOnlySpan<ReadOutcome> results)
    {
        var response = new FetchResponse { SessionId = 0 };
        var next = 0;
        foreach (var topic in request.Topics)
        {
            var topicResponse = new FetchResponse.FetchableTopicResponse { Topic = topic.Topic, TopicId = topic.TopicId };
            response.Responses.Add(topicResponse);
            foreach (var p in topic.Partitions)
            {
                var outcome = results[next++];
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
            }
        }

        return response;
    }

    /// <summary>The request's partitions in order, with topic ids (v13+) or names resolved against the metadata image.</summary>
    public static (List<FetchPartitionRequest> Partitions, List<string?> TopicNames) Translate(MetadataImage image, FetchRequest request, short version)
    {
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
}
