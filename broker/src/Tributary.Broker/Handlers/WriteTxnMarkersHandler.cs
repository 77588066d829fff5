using Tributary.Broker.Replication;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Tributary.Protocol.Records;

namespace Tributary.Broker.Handlers;

/// <summary>
/// WriteTxnMarkers (27): a transaction coordinator asks this broker, as the leader of the transaction's partitions, to append a
/// COMMIT or ABORT marker for each producer. Each marker is written through the leader append path and answered only once the ISR
/// has it (acks=all, min.insync.replicas enforced), partition by partition with Kafka's errors; a refused marker writes nothing.
/// </summary>
public sealed class WriteTxnMarkersHandler(BrokerContext broker)
{
    /// <summary>How long a marker waits for the ISR: Kafka uses the broker's request.timeout.ms, 30 s by default.</summary>
    private static readonly TimeSpan MarkerCommitTimeout = TimeSpan.FromSeconds(30);

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, WriteTxnMarkersRequest request, CancellationToken cancellation)
    {
        var response = new WriteTxnMarkersResponse();
        List<(WriteTxnMarkersResponse.WritableTxnMarkerPartitionResult Result, PartitionAppend Append, string Topic, TxnMarkerWritten Marker)>? pending = null;
        var image = broker.Image;
        foreach (var marker in request.Markers)
        {
            var markerResult = new WriteTxnMarkersResponse.WritableTxnMarkerResult { ProducerId = marker.ProducerId };
            response.Markers.Add(markerResult);
            var end = new EndTransactionMarker(marker.TransactionResult ? ControlRecordType.Commit : ControlRecordType.Abort, marker.CoordinatorEpoch);
            foreach (var topic in marker.Topics)
            {
                var topicResult = new WriteTxnMarkersResponse.WritableTxnMarkerTopicResult { Name = topic.Name };
                markerResult.Topics.Add(topicResult);
                foreach (var partitionIndex in topic.PartitionIndexes)
                {
                    var result = new WriteTxnMarkersResponse.WritableTxnMarkerPartitionResult { PartitionIndex = partitionIndex };
                    topicResult.Partitions.Add(result);
                    if (!image.Topics.TryGetValue(topic.Name, out var topicImage) || partitionIndex < 0 || partitionIndex >= topicImage.Partitions.Length)
                    {
                        result.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                        continue;
                    }

                    if (marker.ProducerId < 0)
                    {
                        // A marker must name the producer whose transaction it ends; Kafka's coordinator never sends -1.
                        result.ErrorCode = (short)ErrorCode.InvalidProducerIdMapping;
                        continue;
                    }

                    var append = broker.Replicas.AppendTxnMarker(topic.Name, partitionIndex, marker.ProducerId, marker.ProducerEpoch, end,
                        MarkerCommitTimeout, cancellation);
                    var error = append.Outcome.Error;
                    if (error == ErrorCode.UnknownTopicOrPartition)
                    {
                        // The partition exists (the metadata has it) but has no replica here: this broker is not its leader.
                        error = ErrorCode.NotLeaderOrFollower;
                    }

                    result.ErrorCode = (short)error;
                    if (error == ErrorCode.None)
                    {
                        var written = new TxnMarkerWritten(topic.Name, partitionIndex, marker.ProducerId, marker.ProducerEpoch, end,
                            append.Outcome.BaseOffset);
                        (pending ??= []).Add((result, append, topic.Name, written));
                    }
                }
            }
        }

        // Every marker is appended (or refused); the wait for the ISR need not hold back the connection's next request.
        context.CompleteOrderedPart();
        if (pending is not null)
        {
            await Task.WhenAll(pending.Select(p => p.Append.Committed)).ConfigureAwait(false);
            foreach (var (result, append, topic, written) in pending)
            {
                result.ErrorCode = (short)append.Committed.Result;
                if (append.Committed.Result == ErrorCode.None && topic == Groups.OffsetsTopic.Name)
                {
                    // The group coordinator resolves the producer's pending transactional offsets (Kafka's onTransactionCompleted).
                    broker.Groups.CompleteTransaction(written.Partition, written.ProducerId, written.Marker.IsCommit);
                }
            }
        }

        return response;
    }
}

/// <summary>A transaction marker this broker wrote as a partition's leader, with where it landed.</summary>
public readonly record struct TxnMarkerWritten(string Topic, int Partition, long ProducerId, short ProducerEpoch, EndTransactionMarker Marker,
    long Offset);
