using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>Appends produced batches to the partitions' logs and reports where they landed.</summary>
public sealed class ProduceHandler(BrokerContext broker)
{
    public ProduceResponse? Handle(RequestContext context, ProduceRequest request)
    {
        var response = new ProduceResponse();
        var acksValid = request.Acks is -1 or 0 or 1;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var topicData in request.TopicData)
        {
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = topicData.Name };
            response.Responses.Add(topicResponse);
            var topicError = ErrorCode.InvalidRequiredAcks;
            var topic = acksValid ? broker.GetOrAutoCreateTopic(topicData.Name, allowAutoCreate: true, out topicError) : null;

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
                if (outcome.Error == ErrorCode.None)
                {
                    broker.Metrics.RecordMessagesIn(topic.Name, outcome.RecordCount);
                    broker.Metrics.RecordBytesIn(topic.Name, outcome.Bytes);
                }
            }
        }

        // acks=0: the client expects no response at all.
        return request.Acks == 0 ? null : response;
    }
}
