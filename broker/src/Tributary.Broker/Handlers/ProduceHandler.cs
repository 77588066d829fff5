using Tributary.Broker.Metrics;
using Tributary.Broker.Replication;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>
/// Translates a Produce request into appends through the replica manager and their outcomes into the response. With
/// acks=all the answer waits for each partition's commit (the high watermark passing its batch), which the replica manager
/// completes or times out at the request's timeout, as Kafka's delayed produce does.
/// </summary>
public sealed class ProduceHandler(BrokerContext broker)
{
    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, ProduceRequest request, CancellationToken cancellation)
    {
        var response = new ProduceResponse();
        var acksValid = request.Acks is -1 or 0 or 1;
        List<(ProduceResponse.PartitionProduceResponse Result, PartitionAppend Append)>? pending = null;
        foreach (var topicData in request.TopicData)
        {
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = topicData.Name };
            response.Responses.Add(topicResponse);
            var (topic, topicError) = acksValid
                ? await broker.GetOrAutoCreateTopicAsync(topicData.Name, allowAutoCreate: true, cancellation).ConfigureAwait(false)
                : (null, ErrorCode.InvalidRequiredAcks);

            foreach (var partitionData in topicData.PartitionData)
            {
                var result = new ProduceResponse.PartitionProduceResponse { Index = partitionData.Index, BaseOffset = -1 };
                topicResponse.PartitionResponses.Add(result);
                if (topic is null)
                {
                    result.ErrorCode = (short)topicError;
                    continue;
                }

                var append = broker.Replicas.Append(topic, partitionData.Index, partitionData.Records, request.Acks, request.TimeoutMs, cancellation);
                var outcome = append.Outcome;
                result.ErrorCode = (short)outcome.Error;
                result.BaseOffset = outcome.BaseOffset;
                result.LogAppendTimeMs = outcome.LogAppendTimeMs;
                result.LogStartOffset = outcome.LogStartOffset;
                result.ErrorMessage = outcome.Message;
                if (outcome.RecordErrors is { } recordErrors)
                {
                    foreach (var index in recordErrors)
                    {
                        result.RecordErrors.Add(new ProduceResponse.BatchIndexAndErrorMessage
                        {
                            BatchIndex = index,
                            BatchIndexErrorMessage = outcome.RecordErrorMessage,
                        });
                    }
                }

                if (outcome.Error == ErrorCode.None)
                {
                    broker.Metrics.RecordMessagesIn(topic.Name, outcome.RecordCount);
                    broker.Metrics.RecordBytesIn(topic.Name, outcome.Bytes);
                    if (!append.Committed.IsCompletedSuccessfully || append.Committed.Result != ErrorCode.None)
                    {
                        (pending ??= []).Add((result, append));
                    }
                }
            }
        }

        // Every batch of this request is appended (or refused): the connection may read and append the next request while
        // this one waits for its in-sync replicas. Responses still go out in request order.
        context.CompleteOrderedPart();
        if (pending is not null)
        {
            using (broker.Metrics.Monitoring.EnterPurgatory(DelayedOperation.Produce))
            {
                await Task.WhenAll(pending.Select(p => p.Append.Committed)).ConfigureAwait(false);
            }

            long committedAt = 0;
            foreach (var (result, append) in pending)
            {
                committedAt = Math.Max(committedAt, append.CommittedTimestamp);
                var error = append.Committed.Result;
                if (error != ErrorCode.None)
                {
                    result.ErrorCode = (short)error;
                    result.ErrorMessage = CommitErrorMessage(error);
                }
            }

            if (committedAt > 0)
            {
                broker.Metrics.ProduceStages.Record(ProduceStage.Respond, broker.Time, committedAt, broker.Time.GetTimestamp());
            }
        }

        // acks=0: the client expects no response at all.
        return request.Acks == 0 ? null : response;
    }

    private static string CommitErrorMessage(ErrorCode error) => error switch
    {
        ErrorCode.NotEnoughReplicasAfterAppend => "The ISR shrank below min.insync.replicas after the records were appended.",
        ErrorCode.RequestTimedOut => "The in-sync replicas did not acknowledge the records within the request timeout.",
        _ => "Leadership moved before the in-sync replicas acknowledged the records.",
    };
}
