using System.Globalization;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Config;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Records;

namespace Tributary.Broker.Groups;

/// <summary>
/// The internal compacted topic <c>__consumer_offsets</c> as the coordinator's record log: created on first use with
/// Kafka's settings (offsets.topic.num.partitions, offsets.topic.replication.factor, cleanup.policy=compact,
/// segment.bytes=offsets.topic.segment.bytes), written through the replica manager with acks=all, replayed at start.
/// </summary>
public sealed partial class OffsetsTopic : IGroupRecordLog
{
    /// <summary>Kafka's name for the topic.</summary>
    public const string Name = "__consumer_offsets";

    private const int ReplayReadBytes = 1 << 20;

    private readonly BrokerConfig _config;
    private readonly ClusterController _controller;
    private readonly ReplicaManager _replicas;
    private readonly ILogger _logger;
    private readonly object _createGate = new();
    private bool _warnedTooFewBrokers;

    public OffsetsTopic(BrokerConfig config, ClusterController controller, ReplicaManager replicas, ILogger logger)
    {
        _config = config;
        _controller = controller;
        _replicas = replicas;
        _logger = logger;
    }

    public int PartitionCount =>
        _controller.Current.Topics.TryGetValue(Name, out var topic) ? topic.Partitions.Length : _config.OffsetsTopicNumPartitions;

    public bool Exists => _controller.Current.Topics.ContainsKey(Name);

    public ErrorCode EnsureCreated()
    {
        if (Exists)
        {
            return ErrorCode.None;
        }

        lock (_createGate)
        {
            if (Exists)
            {
                return ErrorCode.None;
            }

            // Like Kafka, never create the offsets topic with fewer replicas than configured: a topic created early
            // with RF 1 would stay under-replicated for good. Until enough brokers are registered there is no
            // coordinator (COORDINATOR_NOT_AVAILABLE, which clients retry). A single-broker setup sets
            // offsets.topic.replication.factor=1, as config/server.properties does.
            var brokers = _controller.Current.Brokers.Count;
            var replicationFactor = _config.OffsetsTopicReplicationFactor;
            if (replicationFactor > brokers)
            {
                if (!_warnedTooFewBrokers)
                {
                    _warnedTooFewBrokers = true;
                    LogTooFewBrokers(_logger, replicationFactor, brokers);
                }

                return ErrorCode.CoordinatorNotAvailable;
            }

            var configs = new Dictionary<string, string?>
            {
                ["cleanup.policy"] = "compact",
                ["compression.type"] = "producer",
                ["segment.bytes"] = _config.OffsetsTopicSegmentBytes.ToString(CultureInfo.InvariantCulture),
            };
            var outcome = _controller.CreateTopic(new NewTopic(Name, _config.OffsetsTopicNumPartitions, replicationFactor, null, configs),
                validateOnly: false, out _);
            if (outcome.IsOk || outcome.Error == ErrorCode.TopicAlreadyExists)
            {
                return ErrorCode.None;
            }

            LogCreateFailed(_logger, outcome.Error.ToString(), outcome.Message ?? "");
            return ErrorCode.CoordinatorNotAvailable;
        }
    }

    public ErrorCode Append(int partition, IReadOnlyList<GroupRecord> records, long nowMs)
    {
        if (records.Count == 0)
        {
            return ErrorCode.None;
        }

        if (!_controller.Current.Topics.TryGetValue(Name, out var topic))
        {
            return ErrorCode.UnknownTopicOrPartition;
        }

        var batch = GroupCoordinator.BuildBatch(records, nowMs);
        var outcome = _replicas.Append(topic, partition, batch, acks: -1, nowMs);
        return outcome.Error;
    }

    public IEnumerable<GroupRecord> Replay(int partition)
    {
        if (!_replicas.TryGetPartition(Name, partition, out var replica))
        {
            yield break;
        }

        var offset = replica.Log.LogStartOffset;
        var end = replica.HighWatermark;
        while (offset < end)
        {
            var read = replica.Log.Read(offset, ReplayReadBytes, end, minOneBatch: true);
            if (read.Records.IsEmpty)
            {
                break;
            }

            var decoded = new List<GroupRecord>();
            var next = Decode(read.Records, decoded, partition);
            foreach (var record in decoded)
            {
                yield return record;
            }

            if (next <= offset)
            {
                break;
            }

            offset = next;
        }
    }

    /// <summary>Copies the records of the batches in <paramref name="batches"/>; returns the offset after the last batch.</summary>
    private long Decode(ReadOnlyMemory<byte> batches, List<GroupRecord> into, int partition)
    {
        long next = -1;
        var batchesOf = new RecordBatchEnumerator(batches.Span);
        while (batchesOf.MoveNext())
        {
            var batch = batchesOf.Current;
            var parsed = batchesOf.CurrentHeader;
            next = parsed.NextOffset;
            if (parsed.IsControl)
            {
                continue;
            }

            if (parsed.Compression != CompressionType.None)
            {
                LogCompressedSkipped(_logger, partition, parsed.BaseOffset);
                continue;
            }

            var reader = new RecordReader(batch);
            while (reader.TryReadNext(out var record))
            {
                if (record.HasKey)
                {
                    into.Add(new GroupRecord(record.Key.ToArray(), record.HasValue ? record.Value.ToArray() : null));
                }
            }
        }

        return next;
    }

    [LoggerMessage(EventId = 420, EventName = "OffsetsTopicTooFewBrokers", Level = LogLevel.Warning, Message = "Not creating __consumer_offsets yet: offsets.topic.replication.factor={Configured} but only {Brokers} broker(s) registered; consumer groups have no coordinator until then")]
    private static partial void LogTooFewBrokers(ILogger logger, short configured, int brokers);

    [LoggerMessage(EventId = 421, EventName = "OffsetsTopicCreateFailed", Level = LogLevel.Warning, Message = "Creating __consumer_offsets failed: {Error} {Message}")]
    private static partial void LogCreateFailed(ILogger logger, string error, string message);

    [LoggerMessage(EventId = 422, EventName = "OffsetsTopicCompressedBatchSkipped", Level = LogLevel.Warning, Message = "Skipped a compressed batch at offset {Offset} of __consumer_offsets-{Partition} while loading")]
    private static partial void LogCompressedSkipped(ILogger logger, int partition, long offset);
}
