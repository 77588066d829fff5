using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>Finds offsets by position (latest, earliest, max timestamp) or by timestamp, per partition.</summary>
public sealed class ListOffsetsHandler(BrokerContext broker)
{
    private const long Latest = -1;
    private const long Earliest = -2;
    private const long MaxTimestamp = -3;
    private const long EarliestLocal = -4;
    private const long LatestTiered = -5;

    public ListOffsetsResponse Handle(RequestContext context, ListOffsetsRequest request)
    {
        var response = new ListOffsetsResponse();
        var image = broker.Image;
        foreach (var topic in request.Topics)
        {
            var topicResponse = new ListOffsetsResponse.ListOffsetsTopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            var known = image.Topics.ContainsKey(topic.Name);
            foreach (var p in topic.Partitions)
            {
                var result = new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = p.PartitionIndex };
                topicResponse.Partitions.Add(result);
                Replication.Partition? partition = null;
                var lookup = known ? broker.Replicas.GetLeaderPartition(topic.Name, p.PartitionIndex, -1, out partition) : ErrorCode.UnknownTopicOrPartition;
                if (partition is null)
                {
                    result.ErrorCode = (short)lookup;
                    continue;
                }

                if (context.ApiVersion == 0)
                {
                    AnswerV0(request.ReplicaId, p, partition, result);
                    continue;
                }

                // Kafka 3.9 (handleListOffsetRequestV1AndAbove): a special timestamp older than the version that
                // introduced it, or one it does not know, is UNSUPPORTED_VERSION.
                if (p.Timestamp < 0 && context.ApiVersion < FirstVersionServing(p.Timestamp))
                {
                    result.ErrorCode = (short)ErrorCode.UnsupportedVersion;
                    continue;
                }

                var epochError = partition.CheckLeaderEpoch(p.CurrentLeaderEpoch);
                if (epochError != ErrorCode.None)
                {
                    result.ErrorCode = (short)epochError;
                    continue;
                }

                // A follower (replica id ≥ 0) or a debug client (-2) asks for the log end; consumers (-1) for what they may read.
                var fromReplica = request.ReplicaId != -1;
                if (!fromReplica && partition.LeaderEpochStartOffset > partition.HighWatermark)
                {
                    // Kafka (KIP-320 era, Partition.fetchOffsetForTimestamp): a new leader whose high watermark has not yet
                    // reached its epoch's start offset can't answer consistently; clients retry OFFSET_NOT_AVAILABLE.
                    result.ErrorCode = (short)ErrorCode.OffsetNotAvailable;
                    continue;
                }

                result.LeaderEpoch = partition.LeaderEpoch;
                var log = partition.Log;
                switch (p.Timestamp)
                {
                    case Latest:
                        result.Offset = fromReplica ? log.LogEndOffset
                            : request.IsolationLevel == 1 ? partition.LastStableOffset : partition.HighWatermark;
                        break;
                    case Earliest:
                    case EarliestLocal:
                        result.Offset = log.LogStartOffset;
                        break;
                    case MaxTimestamp:
                        var max = log.FindMaxTimestamp();
                        if (max is { } found)
                        {
                            result.Offset = found.Offset;
                            result.Timestamp = found.Timestamp;
                        }

                        break;
                    case LatestTiered:
                        // No tiered storage: nothing was uploaded (Kafka's answer without remote storage).
                        result.Offset = -1;
                        result.LeaderEpoch = -1;
                        break;
                    default:
                        var byTime = log.FindRecordByTimestamp(p.Timestamp);
                        // Kafka: a record found by time counts only below what the isolation level may fetch (the LSO for read_committed).
                        var fetchable = request.IsolationLevel == 1 ? partition.LastStableOffset : partition.HighWatermark;
                        if (byTime is { } hit && hit.Offset < fetchable)
                        {
                            result.Offset = hit.Offset;
                            result.Timestamp = hit.Timestamp;
                        }

                        break;
                }
            }
        }

        return response;
    }

    /// <summary>The first ListOffsets version that serves a special (negative) timestamp; above the range when none does.</summary>
    private static short FirstVersionServing(long timestamp) => timestamp switch
    {
        Latest or Earliest => 1,
        MaxTimestamp => 7,
        EarliestLocal => 8,
        LatestTiered => 9,
        _ => short.MaxValue,
    };

    /// <summary>
    /// ListOffsets v0 (Kafka's handleListOffsetRequestV0): only -1 and -2 among the special timestamps, up to
    /// MaxNumOffsets segment-boundary offsets, newest first; a consumer never sees one above the high watermark (the
    /// high watermark takes their place at the front).
    /// </summary>
    private static void AnswerV0(int replicaId, ListOffsetsRequest.ListOffsetsPartition p, Replication.Partition partition,
        ListOffsetsResponse.ListOffsetsPartitionResponse result)
    {
        if (p.Timestamp < Earliest)
        {
            result.ErrorCode = (short)ErrorCode.UnsupportedVersion;
            return;
        }

        if (p.MaxNumOffsets < 0)
        {
            // Kafka fails the partition with an unexpected error here; v0 has no error message, so say what is wrong.
            result.ErrorCode = (short)ErrorCode.InvalidRequest;
            return;
        }

        var offsets = partition.Log.LegacyOffsetsBefore(p.Timestamp, p.MaxNumOffsets);
        if (replicaId == -1)
        {
            var highWatermark = partition.HighWatermark;
            if (offsets.Any(o => o > highWatermark))
            {
                result.OldStyleOffsets = [highWatermark, .. offsets.SkipWhile(o => o > highWatermark)];
                return;
            }
        }

        result.OldStyleOffsets = [.. offsets];
    }
}
