using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Metadata;
using Tributary.Broker.Producers;
using Tributary.Protocol;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Broker.Replication;

/// <summary>Result of appending one partition's records for a Produce request.</summary>
public readonly record struct AppendOutcome(ErrorCode Error, long BaseOffset, long LogAppendTimeMs, long LogStartOffset,
    string? Message = null, int RecordCount = 0, int Bytes = 0);

/// <summary>Result of reading one partition for a Fetch request.</summary>
public readonly record struct ReadOutcome(ErrorCode Error, ReadOnlyMemory<byte> Records, long HighWatermark,
    long LastStableOffset, long LogStartOffset);

/// <summary>
/// Owns this broker's replicas: creates and deletes their logs as the metadata image changes, appends produced
/// records (validated, offsets assigned, durable per flush policy), serves reads up to the high watermark and
/// wakes long-polling fetches when data arrives. Follower fetching and ISR management arrive with the cluster
/// issue and live here too.
/// </summary>
public sealed partial class ReplicaManager : IDisposable
{
    private readonly int _nodeId;
    private readonly LogManager _logs;
    private readonly Func<TopicImage, LogConfig> _logConfigFor;
    private readonly Func<TopicImage, int> _minInsyncReplicasFor;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(string Topic, int Partition), Partition> _partitions = new();
    private readonly object _applyGate = new();
    private MetadataImage _applied = MetadataImage.Empty;

    public ReplicaManager(int nodeId, LogManager logs, Func<TopicImage, LogConfig> logConfigFor,
        Func<TopicImage, int> minInsyncReplicasFor, ILogger logger)
    {
        _nodeId = nodeId;
        _logs = logs;
        _logConfigFor = logConfigFor;
        _minInsyncReplicasFor = minInsyncReplicasFor;
        _logger = logger;
    }

    public IEnumerable<Partition> Partitions => _partitions.Values;

    public bool TryGetPartition(string topic, int partition, out Partition replica) =>
        _partitions.TryGetValue((topic, partition), out replica!);

    /// <summary>Brings the local replicas in line with a new metadata image: new logs, deleted topics, new configs.</summary>
    public void ApplyImage(MetadataImage image)
    {
        lock (_applyGate)
        {
            var previous = _applied;
            foreach (var topic in image.Topics.Values)
            {
                previous.Topics.TryGetValue(topic.Name, out var before);
                var configChanged = before is not null && !ReferenceEquals(before.Configs, topic.Configs);

                // Resolving a topic's config is not free; do it only for topics that gain replicas or change configs.
                (LogConfig Log, int MinInsyncReplicas)? resolved = null;
                (LogConfig Log, int MinInsyncReplicas) Settings() => resolved ??= (_logConfigFor(topic), _minInsyncReplicasFor(topic));
                foreach (var placement in topic.Partitions)
                {
                    if (!placement.Replicas.Contains(_nodeId))
                    {
                        continue;
                    }

                    var key = (topic.Name, placement.Partition);
                    if (_partitions.TryGetValue(key, out var existing) && existing.TopicId == topic.Id)
                    {
                        existing.Image = placement;
                        if (configChanged)
                        {
                            existing.Log.UpdateConfig(Settings().Log);
                            existing.MinInsyncReplicas = Settings().MinInsyncReplicas;
                        }

                        continue;
                    }

                    var log = _logs.GetOrCreateLog(topic.Name, placement.Partition, Settings().Log);
                    _partitions[key] = new Partition(topic.Name, topic.Id, placement.Partition, log, placement)
                    {
                        MinInsyncReplicas = Settings().MinInsyncReplicas,
                    };
                }
            }

            foreach (var ((name, index), replica) in _partitions)
            {
                if (!image.Topics.TryGetValue(name, out var topic) || topic.Id != replica.TopicId || index >= topic.Partitions.Length)
                {
                    _partitions.TryRemove((name, index), out _);
                    _logs.DeleteLog(name, index);
                    replica.SignalAppended();
                    LogReplicaDeleted(_logger, name, index);
                }
            }

            _applied = image;
        }
    }

    /// <summary>Validates and appends one partition's produced batches as the leader.</summary>
    public AppendOutcome Append(TopicImage topic, int partitionIndex, ReadOnlyMemory<byte>? records, short acks, long nowMs)
    {
        if (!_partitions.TryGetValue((topic.Name, partitionIndex), out var partition))
        {
            return new(ErrorCode.UnknownTopicOrPartition, -1, -1, -1, "This server does not host this topic-partition.");
        }

        if (partition.Image.Leader != _nodeId)
        {
            return new(ErrorCode.NotLeaderOrFollower, -1, -1, -1, "This server is not the leader for that topic-partition.");
        }

        if (records is not { Length: > 0 } payload)
        {
            return new(ErrorCode.InvalidRecord, -1, -1, partition.Log.LogStartOffset, "Produce request carried no records.");
        }

        var config = partition.Log.Config;
        if (acks == -1 && partition.Image.Isr.Length < partition.MinInsyncReplicas)
        {
            return new(ErrorCode.NotEnoughReplicas, -1, -1, partition.Log.LogStartOffset,
                $"The size of the current ISR {partition.Image.Isr.Length} is insufficient to satisfy the min.isr requirement of {partition.MinInsyncReplicas}.");
        }

        var validation = RecordBatchValidator.ValidateProduce(payload.Span, config.MaxMessageBytes, out var result);
        if (validation == RecordValidationError.None && (result.BatchCount != 1 || result.HasControl))
        {
            // Produce v3+ carries exactly one batch per partition, and control batches are the broker's to write.
            validation = RecordValidationError.InvalidRecord;
        }

        if (validation != RecordValidationError.None)
        {
            var reason = result.ErrorMessage ?? validation.ToString();
            LogProduceRejected(_logger, topic.Name, partitionIndex, reason);
            return new(validation.ToErrorCode(), -1, -1, partition.Log.LogStartOffset, reason);
        }

        if (result.HasTransactional)
        {
            // No transaction coordinator yet, so no producer can have begun a transaction here (InitProducerId refuses
            // transactional ids); Kafka answers a transactional batch outside a transaction with INVALID_TXN_STATE, fatal for clients.
            return new(ErrorCode.InvalidTxnState, -1, -1, partition.Log.LogStartOffset, "Transactions are not supported by this broker yet.");
        }

        if (payload.Length > config.SegmentBytes)
        {
            return new(ErrorCode.RecordListTooLarge, -1, -1, partition.Log.LogStartOffset,
                $"The batch of {payload.Length} bytes is larger than the segment size {config.SegmentBytes}.");
        }

        var logAppendTime = config.MessageTimestampType == MessageTimestampType.LogAppendTime;
        var writable = MemoryMarshal.AsMemory(payload);
        LogAppendInfo info;
        ProducerAppendResult producerResult;
        try
        {
            // The log reads producer id, epoch and sequence from the batch header and checks them under its append lock.
            info = partition.Log.AppendAsLeader(writable, result.RecordCount, partition.LeaderEpoch, nowMs, logAppendTime,
                out producerResult);
        }
        catch (IOException e)
        {
            // The log went offline (disk error); Kafka answers KAFKA_STORAGE_ERROR and the client retries elsewhere.
            LogAppendFailed(_logger, topic.Name, partitionIndex, e.Message);
            return new(ErrorCode.KafkaStorageError, -1, -1, -1, e.Message);
        }
        catch (ObjectDisposedException)
        {
            return new(ErrorCode.NotLeaderOrFollower, -1, -1, -1, "The partition was deleted while appending.");
        }

        if (producerResult.Status != ProducerAppendStatus.Appended)
        {
            // A duplicate is a success carrying the offsets of the first append (nothing new to wake fetchers for).
            var producerError = producerResult.Status.ToErrorCode();
            LogProducerBatchNotAppended(_logger, topic.Name, partitionIndex, result.FirstProducerId, producerResult.Status);
            return new(producerError, producerError == ErrorCode.None ? info.FirstOffset : -1, info.LogAppendTimeMs, info.LogStartOffset,
                producerResult.Message);
        }

        partition.SignalAppended();
        return new(ErrorCode.None, info.FirstOffset, info.LogAppendTimeMs, info.LogStartOffset, null, info.RecordCount, info.SizeInBytes);
    }

    /// <summary>Reads committed batches (below the high watermark) starting at <paramref name="fetchOffset"/>.</summary>
    public ReadOutcome Read(Partition partition, long fetchOffset, int maxBytes, bool minOneBatch, int currentLeaderEpoch)
    {
        var log = partition.Log;
        var epochError = partition.CheckLeaderEpoch(currentLeaderEpoch);
        if (epochError != ErrorCode.None)
        {
            return new(epochError, ReadOnlyMemory<byte>.Empty, -1, -1, -1);
        }

        var highWatermark = partition.HighWatermark;
        var logStart = log.LogStartOffset;
        if (fetchOffset < logStart || fetchOffset > highWatermark)
        {
            return new(ErrorCode.OffsetOutOfRange, ReadOnlyMemory<byte>.Empty, highWatermark, partition.LastStableOffset, logStart);
        }

        if (fetchOffset == highWatermark || maxBytes <= 0 && !minOneBatch)
        {
            return new(ErrorCode.None, ReadOnlyMemory<byte>.Empty, highWatermark, partition.LastStableOffset, logStart);
        }

        LogReadResult read;
        try
        {
            read = log.Read(fetchOffset, maxBytes, highWatermark, minOneBatch);
        }
        catch (ObjectDisposedException)
        {
            // Deleted (topic deletion) between lookup and read.
            return new(ErrorCode.NotLeaderOrFollower, ReadOnlyMemory<byte>.Empty, -1, -1, -1);
        }
        catch (IOException)
        {
            return new(ErrorCode.KafkaStorageError, ReadOnlyMemory<byte>.Empty, -1, -1, -1);
        }

        if (read.Error == LogReadError.OffsetOutOfRange)
        {
            // Retention or DeleteRecords moved the log start past the offset between our check and the read.
            return new(ErrorCode.OffsetOutOfRange, ReadOnlyMemory<byte>.Empty, highWatermark, partition.LastStableOffset, read.LogStartOffset);
        }

        return new(ErrorCode.None, read.Records, highWatermark, partition.LastStableOffset, read.LogStartOffset);
    }

    public void Dispose()
    {
        foreach (var partition in _partitions.Values)
        {
            partition.SignalAppended();
        }
    }

    [LoggerMessage(EventId = 300, EventName = "ReplicaDeleted", Level = LogLevel.Information, Message = "Deleted replica {Topic}-{Partition}")]
    private static partial void LogReplicaDeleted(ILogger logger, string topic, int partition);

    [LoggerMessage(EventId = 302, EventName = "AppendFailed", Level = LogLevel.Error, Message = "Append to {Topic}-{Partition} failed: {Reason}")]
    private static partial void LogAppendFailed(ILogger logger, string topic, int partition, string reason);

    [LoggerMessage(EventId = 520, EventName = "ProducerBatchNotAppended", Level = LogLevel.Debug,
        Message = "Batch of producer {ProducerId} to {Topic}-{Partition} not appended: {Status}")]
    private static partial void LogProducerBatchNotAppended(ILogger logger, string topic, int partition, long producerId,
        ProducerAppendStatus status);

    [LoggerMessage(EventId = 301, EventName = "ProduceRejected", Level = LogLevel.Warning, Message = "Rejected produce to {Topic}-{Partition}: {Reason}")]
    private static partial void LogProduceRejected(ILogger logger, string topic, int partition, string reason);
}
