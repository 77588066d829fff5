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
/// <param name="NextOffset">One past the last appended offset: what acks=all waits for the high watermark to reach.</param>
/// <param name="RecordErrors">KIP-467: the indexes within the batch of the records that made it fail, each with the same
/// <paramref name="RecordErrorMessage"/>; null when no single record is to blame.</param>
public readonly record struct AppendOutcome(ErrorCode Error, long BaseOffset, long LogAppendTimeMs, long LogStartOffset,
    string? Message = null, int RecordCount = 0, int Bytes = 0, long NextOffset = -1,
    IReadOnlyList<int>? RecordErrors = null, string? RecordErrorMessage = null);

/// <summary>Result of reading one partition for a Fetch request.</summary>
/// <param name="DivergingEpoch">For a follower whose last fetched epoch ends before its fetch offset on the leader: the
/// epoch and end offset it must truncate to (KIP-320 / KIP-595 diverging epoch); -1 otherwise.</param>
public readonly record struct ReadOutcome(ErrorCode Error, ReadOnlyMemory<byte> Records, long HighWatermark,
    long LastStableOffset, long LogStartOffset, int DivergingEpoch = -1, long DivergingEndOffset = -1);

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
    private readonly TopicWarningLimiter _unsatisfiableMinIsrWarnings;
    private readonly ConcurrentDictionary<(string Topic, int Partition), Partition> _partitions = new();
    private readonly ConcurrentDictionary<(string Topic, int Partition), (int Leader, int Epoch)> _following = new();
    private readonly ConcurrentDictionary<(string Topic, int Partition), int> _leading = new();
    private readonly object _applyGate = new();
    private readonly CancellationTokenSource _stopping = new();
    private MetadataImage _applied = MetadataImage.Empty;
    private TaskCompletionSource _leadershipGained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _isrMaintenance;

    public ReplicaManager(int nodeId, LogManager logs, Func<TopicImage, LogConfig> logConfigFor,
        Func<TopicImage, int> minInsyncReplicasFor, ILogger logger, TimeProvider? time = null)
    {
        _unsatisfiableMinIsrWarnings = new TopicWarningLimiter(time ?? TimeProvider.System, UnsatisfiableMinIsrWarningInterval);
        _nodeId = nodeId;
        _logs = logs;
        _logConfigFor = logConfigFor;
        _minInsyncReplicasFor = minInsyncReplicasFor;
        _logger = logger;
    }

    /// <summary>How this broker follows leaders and asks the controller for ISR changes; unset on a lone broker.</summary>
    public ReplicationHooks Hooks { get; set; } = ReplicationHooks.None;

    public IEnumerable<Partition> Partitions => _partitions.Values;

    /// <summary>
    /// Raised on the metadata thread when this broker starts leading a replica (true; also for a new leader epoch) or
    /// stops leading it (false; also when it is deleted). The group coordinator loads and unloads its groups on it.
    /// </summary>
    public event Action<Partition, bool>? LeadershipChanged;

    /// <summary>
    /// Completes the next time this broker starts leading replicas (new partitions, new epochs). Followers' long polls
    /// wait on it too: a fetch parked for other partitions returns, so the follower's next fetch includes the new ones
    /// instead of waiting out replica.fetch.wait.max.ms (acks=all on a fresh partition waits for that first fetch).
    /// </summary>
    public Task NextLeadershipGained => Volatile.Read(ref _leadershipGained).Task;

    /// <summary>The metadata image the replicas were last brought in line with.</summary>
    public MetadataImage AppliedImage => Volatile.Read(ref _applied);

    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public bool TryGetPartition(string topic, int partition, out Partition replica) =>
        _partitions.TryGetValue((topic, partition), out replica!);

    /// <summary>
    /// Brings the local replicas in line with a new metadata image: new logs, deleted topics, new configs, and role
    /// changes — a replica that now leads records its epoch start and starts counting its followers; one that now
    /// follows starts fetching from its leader (truncating a divergent tail first, through the fetcher).
    /// </summary>
    public void ApplyImage(MetadataImage image)
    {
        lock (_applyGate)
        {
            var previous = _applied;
            var now = NowMs;
            // Three phases: decide (and stop fetchers) in order; apply placements and create replicas in parallel — each
            // touches only its own partition and log, and a new leader epoch means an fsynced leader-epoch checkpoint, so
            // 10,000 leaderships moving at once are thousands of fsyncs; then roles (fetchers, leadership events) in order.
            var ordered = new List<(string Topic, int Partition)>();
            var changed = new List<(Partition Replica, PartitionImage Placement)>();
            var toCreate = new List<(TopicImage Topic, PartitionImage Placement, LogConfig Log, int MinInsyncReplicas)>();
            // Dynamic broker configs (KIP-226) are the defaults of every topic without an override: re-resolve them all.
            var brokerConfigsChanged = !ReferenceEquals(previous.BrokerConfigs, image.BrokerConfigs);
            foreach (var topic in image.Topics.Values)
            {
                previous.Topics.TryGetValue(topic.Name, out var before);
                var configChanged = before is not null && (brokerConfigsChanged || !ReferenceEquals(before.Configs, topic.Configs));

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
                    ordered.Add(key);
                    if (_partitions.TryGetValue(key, out var existing) && existing.TopicId == topic.Id)
                    {
                        if (configChanged)
                        {
                            existing.Log.UpdateConfig(Settings().Log);
                            existing.MinInsyncReplicas = Settings().MinInsyncReplicas;
                        }

                        if (!ReferenceEquals(existing.Image, placement))
                        {
                            if (placement.Leader != existing.Image.Leader || placement.LeaderEpoch != existing.Image.LeaderEpoch)
                            {
                                // Stop the fetcher first: once Remove returns it applies nothing more, so no batch from the
                                // old leader can land after this replica starts its new epoch (it would carry the old epoch
                                // past the new epoch's start offset). UpdateRole below follows the new leader if needed.
                                StopFollowing(existing);
                            }

                            changed.Add((existing, placement));
                        }

                        continue;
                    }

                    toCreate.Add((topic, placement, Settings().Log, Settings().MinInsyncReplicas));
                }
            }

            var parallelism = new ParallelOptions { MaxDegreeOfParallelism = changed.Count + toCreate.Count > 16 ? ApplyParallelism : 1 };
            Parallel.ForEach(changed, parallelism, c => c.Replica.ApplyImage(c.Placement, now));
            var created = new Partition[toCreate.Count];
            Parallel.For(0, toCreate.Count, parallelism, i =>
            {
                var (topic, placement, logConfig, minInsyncReplicas) = toCreate[i];
                var log = _logs.GetOrCreateLog(topic.Name, placement.Partition, logConfig, topic.Id);
                created[i] = new Partition(topic.Name, topic.Id, placement.Partition, log, placement, _nodeId, now)
                {
                    MinInsyncReplicas = minInsyncReplicas,
                };
            });

            foreach (var replica in created)
            {
                _partitions[(replica.Topic, replica.Index)] = replica;
            }

            foreach (var key in ordered)
            {
                UpdateRole(_partitions[key], image);
            }

            foreach (var ((name, index), replica) in _partitions)
            {
                if (!image.Topics.TryGetValue(name, out var topic) || topic.Id != replica.TopicId || index >= topic.Partitions.Length
                    || !topic.Partitions[index].Replicas.Contains(_nodeId))
                {
                    StopFollowing(replica);
                    if (_leading.TryRemove((name, index), out _))
                    {
                        RaiseLeadershipChanged(replica, false);
                    }

                    _partitions.TryRemove((name, index), out _);
                    _unsatisfiableMinIsrWarnings.Forget(name);
                    _logs.DeleteLog(name, index);
                    replica.SignalAppended();
                    replica.SignalChanged();
                    LogReplicaDeleted(_logger, name, index);
                }
            }

            Volatile.Write(ref _applied, image);
        }
    }

    /// <summary>Partitions whose placement (and leader-epoch checkpoint) one image application handles at once.</summary>
    private const int ApplyParallelism = 8;

    private void UpdateRole(Partition partition, MetadataImage image)
    {
        var placement = partition.Image;
        var roleKey = (partition.Topic, partition.Index);
        if (placement.Leader == _nodeId)
        {
            if (!_leading.TryGetValue(roleKey, out var epoch) || epoch != placement.LeaderEpoch)
            {
                _leading[roleKey] = placement.LeaderEpoch;
                RaiseLeadershipChanged(partition, true);
                Interlocked.Exchange(ref _leadershipGained, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))
                    .TrySetResult();
            }
        }
        else if (_leading.TryRemove(roleKey, out _))
        {
            RaiseLeadershipChanged(partition, false);
        }

        if (placement.Leader == _nodeId || placement.Leader < 0)
        {
            StopFollowing(partition);
            return;
        }

        var key = (partition.Topic, partition.Index);
        if (_following.TryGetValue(key, out var current) && current == (placement.Leader, placement.LeaderEpoch))
        {
            return;
        }

        if (!image.Brokers.TryGetValue(placement.Leader, out var leader))
        {
            return;
        }

        _following[key] = (placement.Leader, placement.LeaderEpoch);
        Hooks.FollowLeader(partition, leader);
    }

    private void RaiseLeadershipChanged(Partition partition, bool leading)
    {
        try
        {
            LeadershipChanged?.Invoke(partition, leading);
        }
        catch (Exception e)
        {
            LogLeadershipHandlerFailed(_logger, partition.Topic, partition.Index, e);
        }
    }

    private void StopFollowing(Partition partition)
    {
        if (_following.TryRemove((partition.Topic, partition.Index), out _))
        {
            Hooks.StopFollowing(partition);
        }
    }

    /// <summary>Starts the periodic ISR check (Kafka's isr-expiration task, every replica.lag.time.max.ms / 2).</summary>
    public void StartIsrMaintenance(long lagTimeMaxMs)
    {
        _isrMaintenance ??= Task.Run(async () =>
        {
            var period = TimeSpan.FromMilliseconds(Math.Clamp(lagTimeMaxMs / 2, 50, 5_000));
            using var timer = new PeriodicTimer(period);
            try
            {
                while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
                {
                    foreach (var partition in _partitions.Values)
                    {
                        MaybeChangeIsr(partition, lagTimeMaxMs);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    /// <summary>Asks the controller for an ISR change when the leader's view calls for one (one request in flight).</summary>
    internal void MaybeChangeIsr(Partition partition, long lagTimeMaxMs)
    {
        if (!partition.IsLeader || Hooks.AlterPartition is not { } alter)
        {
            return;
        }

        var image = AppliedImage;
        var proposal = partition.ProposeIsrChange(NowMs, lagTimeMaxMs, image.IsActiveBroker,
            id => image.Brokers.TryGetValue(id, out var broker) ? broker.Epoch : -1);
        if (proposal is not { } isr)
        {
            return;
        }

        var placement = partition.Image;
        LogIsrChangeProposed(_logger, partition.Topic, partition.Index, string.Join(",", placement.Isr), string.Join(",", isr));
        var command = new AlterPartitionCommand(_nodeId, Hooks.BrokerEpoch(), partition.TopicId, partition.Index,
            placement.LeaderEpoch, placement.PartitionEpoch, isr);
        _ = Task.Run(async () =>
        {
            try
            {
                var reply = await alter(command, _stopping.Token).ConfigureAwait(false);
                if (!reply.IsOk)
                {
                    LogIsrChangeRefused(_logger, partition.Topic, partition.Index, reply.Error, reply.Message ?? "");
                    partition.ClearPendingIsr();
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                partition.ClearPendingIsr();
            }
        });
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
            // Fewer replicas than min.insync.replicas: no ISR can ever be large enough, and clients retry this error silently.
            if (partition.Image.Replicas.Length < partition.MinInsyncReplicas
                && _unsatisfiableMinIsrWarnings.ShouldWarn(topic.Name, out var heldBack))
            {
                if (heldBack == 0)
                {
                    LogUnsatisfiableMinIsrProduce(_logger, topic.Name, partition.Image.Replicas.Length, partition.MinInsyncReplicas);
                }
                else
                {
                    LogUnsatisfiableMinIsrProduceAgain(_logger, topic.Name, partition.Image.Replicas.Length, partition.MinInsyncReplicas, heldBack);
                }
            }

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

        if ((config.CleanupPolicy & CleanupPolicy.Compact) != 0 && RefuseKeylessRecords(topic.Name, partitionIndex, payload.Span, config,
                partition.Log.LogStartOffset) is { } keylessRefusal)
        {
            return keylessRefusal;
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
            // The leader lock (read side) keeps the role and epoch fixed during the append: a leadership change waits for
            // it, so no batch is stamped with an epoch that has already ended (Kafka's leaderIsrUpdateLock).
            partition.LeaderLock.EnterReadLock();
            try
            {
                var placement = partition.Image;
                if (placement.Leader != _nodeId)
                {
                    return new(ErrorCode.NotLeaderOrFollower, -1, -1, -1, "This server is no longer the leader for that topic-partition.");
                }

                info = partition.Log.AppendAsLeader(writable, result.RecordCount, placement.LeaderEpoch, nowMs, logAppendTime,
                    out producerResult);
            }
            finally
            {
                partition.LeaderLock.ExitReadLock();
            }
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
        partition.MaybeAdvanceHighWatermark();
        return new(ErrorCode.None, info.FirstOffset, info.LogAppendTimeMs, info.LogStartOffset, null, info.RecordCount, info.SizeInBytes,
            info.LastOffset + 1);
    }

    /// <summary>At most one "acks=all can never succeed on this topic" warning per topic per interval.</summary>
    private static readonly TimeSpan UnsatisfiableMinIsrWarningInterval = TimeSpan.FromMinutes(1);

    /// <summary>Decompressed size bound for the key scan of a compressed batch on a compacted topic (the cleaner's bound).</summary>
    private const int MaxDecompressedBatchBytes = 256 * 1024 * 1024;

    private const string KeylessRecordMessage = "The record has no key; a compacted topic keeps records by key, so every record needs one.";

    /// <summary>
    /// A compacted topic keeps the latest record per key, so, as Kafka's log validator does, it refuses a batch holding any
    /// record with a null key: INVALID_RECORD with one record error per keyless record. The policy is read from the log's
    /// current config, so a topic switched to compact at runtime refuses the next such batch. Null when every record has a key.
    /// </summary>
    private AppendOutcome? RefuseKeylessRecords(string topic, int partitionIndex, ReadOnlySpan<byte> batch, LogConfig config, long logStartOffset)
    {
        List<int>? keyless = null;
        var scan = KeylessRecordScan.Find(batch, MaxDecompressedBatchBytes, ref keyless, out var unreadable);
        if (scan != RecordValidationError.None)
        {
            LogProduceRejected(_logger, topic, partitionIndex, unreadable ?? scan.ToString());
            return new(scan.ToErrorCode(), -1, -1, logStartOffset, unreadable);
        }

        if (keyless is null)
        {
            return null;
        }

        var reason = $"Topic {topic} is compacted (cleanup.policy={PolicyName(config.CleanupPolicy)}) and keeps records only by key: "
            + $"partition {topic}-{partitionIndex} refused the batch because {keyless.Count} of its records (first at index {keyless[0]}) have no key.";
        LogProduceRejected(_logger, topic, partitionIndex, reason);
        return new(ErrorCode.InvalidRecord, -1, -1, logStartOffset, reason, RecordErrors: keyless, RecordErrorMessage: KeylessRecordMessage);
    }

    private static string PolicyName(CleanupPolicy policy) => policy switch
    {
        CleanupPolicy.Compact => "compact",
        CleanupPolicy.Compact | CleanupPolicy.Delete => "compact,delete",
        _ => "delete",
    };

    /// <summary>
    /// Waits until everything below <paramref name="requiredOffset"/> is replicated to the ISR (the high watermark passed
    /// it), as acks=all requires. Kafka's outcomes: NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below
    /// min.insync.replicas meanwhile, NOT_LEADER_OR_FOLLOWER when leadership moved, REQUEST_TIMED_OUT at the deadline.
    /// </summary>
    public async Task<ErrorCode> WaitForCommitAsync(Partition partition, long requiredOffset, int timeoutMs, CancellationToken cancellation)
    {
        var deadline = Environment.TickCount64 + Math.Max(0, timeoutMs);
        while (true)
        {
            var changed = partition.NextChange;
            if (!partition.IsLeader || !_partitions.TryGetValue((partition.Topic, partition.Index), out var current) || !ReferenceEquals(current, partition))
            {
                return ErrorCode.NotLeaderOrFollower;
            }

            if (partition.HighWatermark >= requiredOffset)
            {
                return partition.Image.Isr.Length < partition.MinInsyncReplicas ? ErrorCode.NotEnoughReplicasAfterAppend : ErrorCode.None;
            }

            var remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
            {
                return ErrorCode.RequestTimedOut;
            }

            try
            {
                await changed.WaitAsync(TimeSpan.FromMilliseconds(remaining), cancellation).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return ErrorCode.RequestTimedOut;
            }
        }
    }

    /// <summary>
    /// Reads committed batches (below the high watermark) starting at <paramref name="fetchOffset"/>, as a region of the segment
    /// file that is copied when the response is written (<see cref="PartitionLog.ReadRegion"/>).
    /// </summary>
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
            read = log.ReadRegion(fetchOffset, maxBytes, highWatermark, minOneBatch);
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

    /// <summary>
    /// Serves a follower's fetch (Fetch with a replica id): records up to the log end offset (not the high watermark),
    /// or the diverging epoch when the follower's last fetched epoch shows it has a tail the leader doesn't. A fetch
    /// from offset N tells the leader the follower has everything below N, which may advance the high watermark and
    /// bring the follower back into the ISR.
    /// </summary>
    public ReadOutcome ReadForFollower(Partition partition, int replicaId, long fetchOffset, int maxBytes, bool minOneBatch,
        int currentLeaderEpoch, int lastFetchedEpoch, long lagTimeMaxMs, long replicaBrokerEpoch = -1)
    {
        var epochError = partition.CheckLeaderEpoch(currentLeaderEpoch);
        if (epochError != ErrorCode.None)
        {
            return new(epochError, ReadOnlyMemory<byte>.Empty, -1, -1, -1);
        }

        if (!partition.IsLeader || !partition.Image.Replicas.Contains(replicaId))
        {
            return new(ErrorCode.NotLeaderOrFollower, ReadOnlyMemory<byte>.Empty, -1, -1, -1);
        }

        var log = partition.Log;
        try
        {
            if (lastFetchedEpoch >= 0)
            {
                var (epoch, endOffset) = log.EndOffsetForEpoch(lastFetchedEpoch);
                if (epoch < lastFetchedEpoch || endOffset < fetchOffset)
                {
                    return new(ErrorCode.None, ReadOnlyMemory<byte>.Empty, partition.HighWatermark, partition.LastStableOffset,
                        log.LogStartOffset, epoch, endOffset);
                }
            }

            var end = log.LogEndOffset;
            if (fetchOffset < log.LogStartOffset || fetchOffset > end)
            {
                return new(ErrorCode.OffsetOutOfRange, ReadOnlyMemory<byte>.Empty, partition.HighWatermark, partition.LastStableOffset,
                    log.LogStartOffset);
            }

            partition.RecordFollowerFetch(replicaId, fetchOffset, NowMs, replicaBrokerEpoch);
            MaybeChangeIsr(partition, lagTimeMaxMs);
            var records = ReadOnlyMemory<byte>.Empty;
            if (fetchOffset < end && (maxBytes > 0 || minOneBatch))
            {
                var read = log.ReadRegion(fetchOffset, maxBytes, end, minOneBatch);
                if (read.Error == LogReadError.OffsetOutOfRange)
                {
                    return new(ErrorCode.OffsetOutOfRange, ReadOnlyMemory<byte>.Empty, partition.HighWatermark, partition.LastStableOffset,
                        read.LogStartOffset);
                }

                records = read.Records;
            }

            return new(ErrorCode.None, records, partition.HighWatermark, partition.LastStableOffset, log.LogStartOffset);
        }
        catch (ObjectDisposedException)
        {
            return new(ErrorCode.NotLeaderOrFollower, ReadOnlyMemory<byte>.Empty, -1, -1, -1);
        }
        catch (IOException)
        {
            return new(ErrorCode.KafkaStorageError, ReadOnlyMemory<byte>.Empty, -1, -1, -1);
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        foreach (var partition in _partitions.Values)
        {
            partition.SignalAppended();
            partition.SignalChanged();
        }

        try
        {
            _isrMaintenance?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 305, EventName = "LeadershipHandlerFailed", Level = LogLevel.Error, Message = "A leadership-change handler failed for {Topic}-{Partition}")]
    private static partial void LogLeadershipHandlerFailed(ILogger logger, string topic, int partition, Exception exception);

    [LoggerMessage(EventId = 303, EventName = "IsrChangeProposed", Level = LogLevel.Information, Message = "{Topic}-{Partition}: asking the controller to change the ISR from [{Isr}] to [{NewIsr}]")]
    private static partial void LogIsrChangeProposed(ILogger logger, string topic, int partition, string isr, string newIsr);

    [LoggerMessage(EventId = 304, EventName = "IsrChangeRefused", Level = LogLevel.Information, Message = "{Topic}-{Partition}: ISR change not made: {Error} {Reason}")]
    private static partial void LogIsrChangeRefused(ILogger logger, string topic, int partition, ErrorCode error, string reason);

    [LoggerMessage(EventId = 300, EventName = "ReplicaDeleted", Level = LogLevel.Information, Message = "Deleted replica {Topic}-{Partition}")]
    private static partial void LogReplicaDeleted(ILogger logger, string topic, int partition);

    [LoggerMessage(EventId = 302, EventName = "AppendFailed", Level = LogLevel.Error, Message = "Append to {Topic}-{Partition} failed: {Reason}")]
    private static partial void LogAppendFailed(ILogger logger, string topic, int partition, string reason);

    [LoggerMessage(EventId = 520, EventName = "ProducerBatchNotAppended", Level = LogLevel.Debug,
        Message = "Batch of producer {ProducerId} to {Topic}-{Partition} not appended: {Status}")]
    private static partial void LogProducerBatchNotAppended(ILogger logger, string topic, int partition, long producerId,
        ProducerAppendStatus status);

    [LoggerMessage(EventId = 310, EventName = "ProduceRefusedReplicationBelowMinIsr", Level = LogLevel.Warning,
        Message = "Refused an acks=all produce to topic {Topic} with NOT_ENOUGH_REPLICAS: its replication factor {ReplicationFactor} is below "
            + "min.insync.replicas {MinInsyncReplicas}, so acks=all produces to it can never succeed (clients retry until they time out). "
            + "Produce with acks=1, or lower the topic's min.insync.replicas")]
    private static partial void LogUnsatisfiableMinIsrProduce(ILogger logger, string topic, int replicationFactor, int minInsyncReplicas);

    [LoggerMessage(EventId = 311, EventName = "ProduceRefusedReplicationBelowMinIsrAgain", Level = LogLevel.Warning,
        Message = "Refused an acks=all produce to topic {Topic} with NOT_ENOUGH_REPLICAS: its replication factor {ReplicationFactor} is below "
            + "min.insync.replicas {MinInsyncReplicas}, so acks=all produces to it can never succeed (clients retry until they time out). "
            + "Produce with acks=1, or lower the topic's min.insync.replicas ({HeldBack} more such refusals since the last warning)")]
    private static partial void LogUnsatisfiableMinIsrProduceAgain(ILogger logger, string topic, int replicationFactor, int minInsyncReplicas,
        int heldBack);

    [LoggerMessage(EventId = 301, EventName = "ProduceRejected", Level = LogLevel.Warning, Message = "Rejected produce to {Topic}-{Partition}: {Reason}")]
    private static partial void LogProduceRejected(ILogger logger, string topic, int partition, string reason);
}
