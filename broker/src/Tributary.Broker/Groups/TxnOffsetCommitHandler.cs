using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Groups;

/// <summary>
/// TxnOffsetCommit (28): a transactional producer commits a group's offsets inside its transaction. Translated into a
/// <see cref="TxnOffsetCommitCall"/> for the group coordinator, which answers once the ISR has the write; the offsets become the
/// group's only when the transaction's COMMIT marker reaches the group's offsets partition.
/// </summary>
public sealed class TxnOffsetCommitHandler(BrokerContext broker)
{
    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, TxnOffsetCommitRequest request)
    {
        var version = context.ApiVersion;
        var response = new TxnOffsetCommitResponse();
        var entries = new List<OffsetCommitEntry>();
        var slots = new List<(TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition Partition, int Entry)>();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic { Name = topic.Name };
            response.Topics.Add(topicResponse);
            broker.Image.Topics.TryGetValue(topic.Name, out var image);
            foreach (var partition in topic.Partitions)
            {
                var partitionResponse = new TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition { PartitionIndex = partition.PartitionIndex };
                topicResponse.Partitions.Add(partitionResponse);
                if (image is null || partition.PartitionIndex < 0 || partition.PartitionIndex >= image.Partitions.Length)
                {
                    partitionResponse.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                slots.Add((partitionResponse, entries.Count));
                entries.Add(new OffsetCommitEntry(topic.Name, partition.PartitionIndex, partition.CommittedOffset,
                    version >= 2 ? partition.CommittedLeaderEpoch : -1, partition.CommittedMetadata));
            }
        }

        if (entries.Count == 0)
        {
            return response;
        }

        if (request.ProducerId < 0 || request.ProducerEpoch < 0)
        {
            // Only a producer that ran InitProducerId can take part in a transaction.
            foreach (var (partition, _) in slots)
            {
                partition.ErrorCode = (short)ErrorCode.InvalidProducerIdMapping;
            }

            return response;
        }

        var call = new TxnOffsetCommitCall(request.GroupId, request.ProducerId, request.ProducerEpoch,
            version >= 3 ? request.GenerationId : -1, version >= 3 ? request.MemberId : "", version >= 3 ? request.GroupInstanceId : null, entries);
        var errors = await broker.Groups.CommitTransactionalOffsetsAsync(call).ConfigureAwait(false);
        foreach (var (partition, entry) in slots)
        {
            partition.ErrorCode = (short)errors[entry];
        }

        return response;
    }
}
