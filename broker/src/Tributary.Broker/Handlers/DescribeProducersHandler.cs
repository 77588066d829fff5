using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>
/// DescribeProducers (61, KIP-664): for each partition this broker leads, the producers its producer state table holds, with
/// each one's epoch, last sequence and timestamp, the coordinator epoch of its last marker and the first offset of its open
/// transaction (-1 when none): what <c>kafka-transactions.sh describe-producers</c> and <c>find-hanging</c> read.
/// </summary>
public sealed class DescribeProducersHandler(BrokerContext broker)
{
    public DescribeProducersResponse Handle(RequestContext context, DescribeProducersRequest request)
    {
        var response = new DescribeProducersResponse();
        var image = broker.Image;
        foreach (var topic in request.Topics)
        {
            var topicResponse = new DescribeProducersResponse.TopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            image.Topics.TryGetValue(topic.Name, out var topicImage);
            foreach (var index in topic.PartitionIndexes)
            {
                var result = new DescribeProducersResponse.PartitionResponse { PartitionIndex = index };
                topicResponse.Partitions.Add(result);
                if (topicImage is null || index < 0 || index >= topicImage.Partitions.Length)
                {
                    result.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                var error = broker.Replicas.GetLeaderPartition(topic.Name, index, -1, out var partition);
                if (partition is null)
                {
                    // Kafka answers from the leader only; a partition known to the metadata but not led here is NOT_LEADER.
                    result.ErrorCode = (short)(error == ErrorCode.UnknownTopicOrPartition ? ErrorCode.NotLeaderOrFollower : error);
                    continue;
                }

                foreach (var producer in partition.Log.ProducerStates().OrderBy(p => p.ProducerId))
                {
                    result.ActiveProducers.Add(new DescribeProducersResponse.ProducerState
                    {
                        ProducerId = producer.ProducerId,
                        ProducerEpoch = producer.ProducerEpoch,
                        LastSequence = producer.LastSequence,
                        LastTimestamp = producer.LastTimestamp,
                        CoordinatorEpoch = producer.CoordinatorEpoch,
                        CurrentTxnStartOffset = producer.CurrentTxnStartOffset,
                    });
                }
            }
        }

        return response;
    }
}
