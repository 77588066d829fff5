using Microsoft.Extensions.Logging;
using Tributary.Protocol;
using Tributary.Protocol.Records;

namespace Tributary.Broker.Replication;

/// <summary>The partition-leader side of transactions: transaction markers written for a coordinator (WriteTxnMarkers).</summary>
public sealed partial class ReplicaManager
{
    /// <summary>
    /// Appends a COMMIT or ABORT marker for <paramref name="producerId"/> to a partition this broker leads, with acks=all semantics
    /// (<see cref="PartitionAppend.Committed"/> completes when the ISR has it). Refusals are Kafka's: UNKNOWN_TOPIC_OR_PARTITION,
    /// NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, INVALID_PRODUCER_EPOCH (a marker of an older producer epoch),
    /// TRANSACTION_COORDINATOR_FENCED (from an older coordinator epoch); nothing is written then.
    /// </summary>
    public PartitionAppend AppendTxnMarker(string topic, int partitionIndex, long producerId, short producerEpoch, EndTransactionMarker marker,
        TimeSpan timeout, CancellationToken cancellation)
    {
        var error = GetLeaderPartition(topic, partitionIndex, -1, out var partition);
        if (partition is null)
        {
            return PartitionAppend.Failed(new(error, -1, -1, -1));
        }

        try
        {
            var append = partition.AppendTxnMarkerAsLeader(producerId, producerEpoch, marker, timeout, cancellation);
            LogTxnMarkerAppended(_logger, topic, partitionIndex, producerId, producerEpoch, marker.Type, marker.CoordinatorEpoch,
                append.Outcome.Error, append.Outcome.BaseOffset);
            return append;
        }
        catch (IOException e)
        {
            LogAppendFailed(_logger, topic, partitionIndex, e.Message);
            return PartitionAppend.Failed(new(ErrorCode.KafkaStorageError, -1, -1, -1, e.Message));
        }
        catch (ObjectDisposedException)
        {
            return PartitionAppend.Failed(new(ErrorCode.NotLeaderOrFollower, -1, -1, -1, "The partition was deleted while appending."));
        }
    }

    [LoggerMessage(EventId = 920, EventName = "TxnMarkerAppended", Level = LogLevel.Debug,
        Message = "Transaction marker {MarkerType} for producer {ProducerId} epoch {ProducerEpoch} (coordinator epoch {CoordinatorEpoch}) on {Topic}-{Partition}: {Error} at offset {Offset}")]
    private static partial void LogTxnMarkerAppended(ILogger logger, string topic, int partition, long producerId, short producerEpoch,
        ControlRecordType markerType, int coordinatorEpoch, ErrorCode error, long offset);
}
