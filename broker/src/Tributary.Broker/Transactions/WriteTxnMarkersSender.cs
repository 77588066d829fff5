using Microsoft.Extensions.Logging;
using Tributary.Broker.Network.Client;
using Tributary.Metadata;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Transactions;

/// <summary>
/// Sends transaction markers as WriteTxnMarkers (27) requests to each partition's current leader over the broker's internal
/// client — to this broker's own listener too, so every marker takes the same path. Partitions whose leader moved, is
/// unknown, or answered a retriable error are asked again (after a short backoff) at their leader of the newest metadata;
/// a partition of a deleted topic counts as done (Kafka drops such markers). A few connections per broker let markers of
/// different transactions overlap.
/// </summary>
public sealed partial class WriteTxnMarkersSender : ITransactionMarkerSender, IAsyncDisposable
{
    private const short RequestVersion = 1;
    private const int ConnectionsPerBroker = 4;

    private readonly int _nodeId;
    private readonly Func<MetadataImage> _image;
    private readonly int _maxResponseBytes;
    private readonly TimeSpan _requestTimeout;
    private readonly TimeSpan _retryBackoff;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<(int Node, int Slot), Slot> _connections = [];

    public WriteTxnMarkersSender(int nodeId, Func<MetadataImage> image, int maxResponseBytes, TimeSpan requestTimeout, TimeSpan retryBackoff,
        TimeProvider time, ILogger logger)
    {
        _nodeId = nodeId;
        _image = image;
        _maxResponseBytes = maxResponseBytes;
        _requestTimeout = requestTimeout;
        _retryBackoff = retryBackoff;
        _time = time;
        _logger = logger;
    }

    public async Task<ErrorCode> SendAsync(TransactionMarkerRequest request, CancellationToken cancellation)
    {
        var pending = new HashSet<TopicPartitionKey>(request.Partitions);
        var slot = (int)((uint)request.TransactionalId.GetHashCode(StringComparison.Ordinal) % ConnectionsPerBroker);
        var rounds = 0;
        while (pending.Count > 0)
        {
            cancellation.ThrowIfCancellationRequested();
            if (rounds++ > 0)
            {
                await Task.Delay(_retryBackoff, _time, cancellation).ConfigureAwait(false);
            }

            var image = _image();
            var byLeader = new Dictionary<int, List<TopicPartitionKey>>();
            foreach (var partition in pending.ToList())
            {
                if (!image.Topics.TryGetValue(partition.Topic, out var topic) || partition.Partition >= topic.Partitions.Length)
                {
                    // Deleted since it joined the transaction: nothing left to mark.
                    LogPartitionGone(_logger, request.TransactionalId, partition.Topic, partition.Partition);
                    pending.Remove(partition);
                    continue;
                }

                var leader = topic.Partitions[partition.Partition].Leader;
                if (leader >= 0)
                {
                    if (!byLeader.TryGetValue(leader, out var list))
                    {
                        byLeader[leader] = list = [];
                    }

                    list.Add(partition);
                }
            }

            var sends = byLeader.Select(pair => SendToLeaderAsync(image, pair.Key, slot, request, pair.Value, cancellation)).ToList();
            foreach (var (done, fatal) in await Task.WhenAll(sends).ConfigureAwait(false))
            {
                if (fatal != ErrorCode.None)
                {
                    return fatal;
                }

                pending.ExceptWith(done);
            }
        }

        return ErrorCode.None;
    }

    /// <summary>The partitions the leader acknowledged, or the error that ends this round of markers (a newer coordinator exists).</summary>
    private async Task<(List<TopicPartitionKey> Done, ErrorCode Fatal)> SendToLeaderAsync(MetadataImage image, int leader, int slot,
        TransactionMarkerRequest request, List<TopicPartitionKey> partitions, CancellationToken cancellation)
    {
        var done = new List<TopicPartitionKey>();
        if (!image.Brokers.TryGetValue(leader, out var broker))
        {
            return (done, ErrorCode.None);
        }

        var marker = new WriteTxnMarkersRequest.WritableTxnMarker
        {
            ProducerId = request.ProducerId,
            ProducerEpoch = request.ProducerEpoch,
            TransactionResult = request.Commit,
            CoordinatorEpoch = request.CoordinatorEpoch,
        };
        foreach (var topic in partitions.GroupBy(p => p.Topic, StringComparer.Ordinal))
        {
            marker.Topics.Add(new WriteTxnMarkersRequest.WritableTxnMarkerTopic
            {
                Name = topic.Key,
                PartitionIndexes = topic.Select(p => p.Partition).ToList(),
            });
        }

        var wire = new WriteTxnMarkersRequest();
        wire.Markers.Add(marker);
        var gate = GetSlot(leader, slot);
        await gate.Gate.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            if (gate.Connection is not { IsConnected: true } || gate.Host != broker.Host || gate.Port != broker.Port)
            {
                if (gate.Connection is not null)
                {
                    await gate.Connection.DisposeAsync().ConfigureAwait(false);
                }

                gate.Connection = new KafkaClientConnection(_maxResponseBytes, _requestTimeout);
                gate.Host = broker.Host;
                gate.Port = broker.Port;
                await gate.Connection.ConnectAsync(broker.Host, broker.Port, $"broker-{_nodeId}-txn-markers", cancellation).ConfigureAwait(false);
            }

            var response = await gate.Connection.SendAsync<WriteTxnMarkersResponse>(wire, RequestVersion, cancellation).ConfigureAwait(false);
            var asked = partitions.ToHashSet();
            foreach (var result in response.Markers)
            {
                foreach (var topic in result.Topics)
                {
                    foreach (var partition in topic.Partitions)
                    {
                        var key = new TopicPartitionKey(topic.Name, partition.PartitionIndex);
                        if (!asked.Contains(key))
                        {
                            continue;
                        }

                        var error = (ErrorCode)partition.ErrorCode;
                        switch (error)
                        {
                            case ErrorCode.None:
                                done.Add(key);
                                break;
                            case ErrorCode.TransactionCoordinatorFenced or ErrorCode.InvalidProducerEpoch:
                                // Kafka's marker channel stops here: a newer coordinator (or epoch) owns the transaction.
                                LogMarkerRefused(_logger, request.TransactionalId, topic.Name, partition.PartitionIndex, leader, error.ToString());
                                return (done, error);
                            default:
                                // NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION (metadata not yet there), NOT_ENOUGH_REPLICAS,
                                // REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR…: ask again, at the leader of the newest metadata.
                                LogMarkerRetry(_logger, request.TransactionalId, topic.Name, partition.PartitionIndex, leader, error.ToString());
                                break;
                        }
                    }
                }
            }
        }
        catch (KafkaConnectionException e)
        {
            LogLeaderUnreachable(_logger, leader, e.Message);
        }
        finally
        {
            gate.Gate.Release();
        }

        return (done, ErrorCode.None);
    }

    private Slot GetSlot(int node, int slot)
    {
        lock (_connections)
        {
            if (!_connections.TryGetValue((node, slot), out var entry))
            {
                _connections[(node, slot)] = entry = new Slot();
            }

            return entry;
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<Slot> slots;
        lock (_connections)
        {
            slots = _connections.Values.ToList();
            _connections.Clear();
        }

        foreach (var slot in slots)
        {
            if (slot.Connection is not null)
            {
                await slot.Connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>One connection to a broker, used by one marker request at a time.</summary>
    private sealed class Slot
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public KafkaClientConnection? Connection { get; set; }
        public string Host { get; set; } = "";
        public int Port { get; set; }
    }

    [LoggerMessage(EventId = 840, EventName = "TransactionMarkerRetry", Level = LogLevel.Debug, Message = "Marker of {TransactionalId} on {Topic}-{Partition} at leader {Leader}: {Error}; retrying")]
    private static partial void LogMarkerRetry(ILogger logger, string transactionalId, string topic, int partition, int leader, string error);

    [LoggerMessage(EventId = 841, EventName = "TransactionMarkerRefused", Level = LogLevel.Warning, Message = "Marker of {TransactionalId} on {Topic}-{Partition} refused by leader {Leader}: {Error}")]
    private static partial void LogMarkerRefused(ILogger logger, string transactionalId, string topic, int partition, int leader, string error);

    [LoggerMessage(EventId = 842, EventName = "TransactionMarkerLeaderUnreachable", Level = LogLevel.Debug, Message = "Sending markers to leader {Leader} failed: {Error}; retrying")]
    private static partial void LogLeaderUnreachable(ILogger logger, int leader, string error);

    [LoggerMessage(EventId = 843, EventName = "TransactionMarkerPartitionGone", Level = LogLevel.Information, Message = "Marker of {TransactionalId} for {Topic}-{Partition} dropped: the partition no longer exists")]
    private static partial void LogPartitionGone(ILogger logger, string transactionalId, string topic, int partition);
}
