using System.Text;
using Tributary.Integration.Tests.Cluster;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Tributary.Protocol.Records;

namespace Tributary.Integration.Tests.TxnLog;

/// <summary>
/// Speaks the transaction side of the wire for tests that play the transaction coordinator: InitProducerId, Produce of
/// transactional batches as a transactional client frames them, WriteTxnMarkers, and ListOffsets by isolation level, each
/// sent to one chosen broker with our generated messages.
/// </summary>
internal sealed class TxnWire(string host, int port)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public async Task<(long ProducerId, short Epoch)> InitProducerIdAsync()
    {
        var response = await RawKafkaExchange.SendAsync<InitProducerIdResponse>(host, port,
            new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000 }, version: 4, Timeout);
        Assert.Equal(ErrorCode.None, (ErrorCode)response.ErrorCode);
        return (response.ProducerId, response.ProducerEpoch);
    }

    /// <summary>One transactional batch of <paramref name="values"/>; returns the partition's error and base offset.</summary>
    public async Task<(ErrorCode Error, long BaseOffset)> ProduceAsync(string topic, int partition, long producerId, short epoch, int baseSequence,
        IReadOnlyList<string> values, bool transactional = true)
    {
        var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = epoch, BaseSequence = baseSequence, IsTransactional = transactional };
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var value in values)
        {
            builder.Append(now, null, Encoding.UTF8.GetBytes(value));
        }

        var request = new ProduceRequest
        {
            TransactionalId = transactional ? "tributary-it-txn" : null,
            Acks = -1,
            TimeoutMs = 30_000,
            TopicData =
            [
                new ProduceRequest.TopicProduceData
                {
                    Name = topic,
                    PartitionData = [new ProduceRequest.PartitionProduceData { Index = partition, Records = builder.Build() }],
                },
            ],
        };
        var response = await RawKafkaExchange.SendAsync<ProduceResponse>(host, port, request, version: 9, Timeout);
        var result = response.Responses.Single().PartitionResponses.Single();
        return ((ErrorCode)result.ErrorCode, result.BaseOffset);
    }

    /// <summary>Sends one marker for the given partitions; returns each partition's error in request order.</summary>
    public async Task<IReadOnlyList<ErrorCode>> WriteMarkerAsync(string topic, IReadOnlyList<int> partitions, long producerId, short epoch, bool commit,
        int coordinatorEpoch)
    {
        var request = new WriteTxnMarkersRequest
        {
            Markers =
            [
                new WriteTxnMarkersRequest.WritableTxnMarker
                {
                    ProducerId = producerId,
                    ProducerEpoch = epoch,
                    TransactionResult = commit,
                    CoordinatorEpoch = coordinatorEpoch,
                    Topics = [new WriteTxnMarkersRequest.WritableTxnMarkerTopic { Name = topic, PartitionIndexes = [.. partitions] }],
                },
            ],
        };
        var response = await RawKafkaExchange.SendAsync<WriteTxnMarkersResponse>(host, port, request, version: 1, Timeout);
        var marker = Assert.Single(response.Markers);
        Assert.Equal(producerId, marker.ProducerId);
        return [.. Assert.Single(marker.Topics).Partitions.Select(p => (ErrorCode)p.ErrorCode)];
    }

    /// <summary>ListOffsets latest (-1) under an isolation level: the high watermark (0) or the last stable offset (1).</summary>
    public async Task<long> LatestOffsetAsync(string topic, int partition, bool readCommitted)
    {
        var request = new ListOffsetsRequest
        {
            ReplicaId = -1,
            IsolationLevel = (sbyte)(readCommitted ? 1 : 0),
            Topics = [new ListOffsetsRequest.ListOffsetsTopic { Name = topic, Partitions = [new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = partition, Timestamp = -1 }] }],
        };
        var response = await RawKafkaExchange.SendAsync<ListOffsetsResponse>(host, port, request, version: 7, Timeout);
        var result = response.Topics.Single().Partitions.Single();
        Assert.Equal(ErrorCode.None, (ErrorCode)result.ErrorCode);
        return result.Offset;
    }
}
