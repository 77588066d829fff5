using Tributary.Broker.Replication;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>
/// Appends produced batches to the partitions' logs as their leader and reports where they landed. With acks=all the
/// answer waits until the in-sync replicas have the records (the high watermark passed them), at most the request's
/// timeout, as Kafka's delayed produce does.
/// </summary>
public sealed class ProduceHandler(BrokerContext broker)
{
    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, ProduceRequest request, CancellationToken cancellation)
    {
        var response = new ProduceResponse();
        var acksValid = request.Acks is -1 or 0 or 1;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        List<(ProduceResponse.PartitionProduceResponse Result, Partition Partition, long RequiredOffset)>? pending = null;
        foreach (var topicData in request.TopicData)
        {
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = topicData.Name };
            response.Responses.Add(topicResponse);
            var topicError = ErrorCode.InvalidRequiredAcks;
            var (topic, error) = acksValid
                ? await broker.GetOrAutoCreateTopicAsync(topicData.Name, allowAutoCreate: true, cancellation).ConfigureAwait(false)
                : (null, topicError);
            topicError = error;

            foreach (var partitionData in topicData.PartitionData)
            {
                var result = new ProduceResponse.PartitionProduceResponse { Index = partitionData.Index, BaseOffset = -1 };
                topicResponse.PartitionResponses.Add(result);
                if (topic is null)
                {
                    result.ErrorCode = (short)topicError;
                    continue;
                }

                var outcome = broker.Replicas.Append(topic, partitionData.Index, partitionData.Records, request.Acks, now);
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
                    if (request.Acks == -1 && broker.Replicas.TryGetPartition(topic.Name, partitionData.Index, out var partition))
                    {
                        // A duplicate (idempotent retry) carries no new offset: wait for the log end as it is now, which
                        // covers the original append.
                        var required = outcome.NextOffset >= 0 ? outcome.NextOffset : partition.Log.LogEndOffset;
                        if (partition.HighWatermark < required)
                        {
                            (pending ??= []).Add((result, partition, required));
                        }
                    }
                }
            }
        }

        // Every batch of this request is appended (or refused): the connection may read and append the next request while
        // this one waits for its in-sync replicas. Responses still go out in request order.
        context.CompleteOrderedPart();
        if (pending is not null)
        {
            var waits = pending.Select(p => broker.Replicas.WaitForCommitAsync(p.Partition, p.RequiredOffset, request.TimeoutMs, cancellation)).ToArray();
            ErrorCode[] errors;
            using (broker.Metrics.Monitoring.EnterPurgatory(Metrics.DelayedOperation.Produce))
            {
                errors = await Task.WhenAll(waits).ConfigureAwait(false);
            }

            for (var i = 0; i < errors.Length; i++)
            {
                if (errors[i] != ErrorCode.None)
                {
                    pending[i].Result.ErrorCode = (short)errors[i];
                    pending[i].Result.ErrorMessage = errors[i] switch
                    {
                        ErrorCode.NotEnoughReplicasAfterAppend => "The ISR shrank below min.insync.replicas after the records were appended.",
                        ErrorCode.RequestTimedOut => "The in-sync replicas did not acknowledge the records within the request timeout.",
                        _ => "Leadership moved before the in-sync replicas acknowledged the records.",
                    };
                }
            }
        }

        // acks=0: the client expects no response at all.
        return request.Acks == 0 ? null : response;
    }
}
