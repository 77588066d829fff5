using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Metadata;
using Tributary.Broker.Metrics;
using Tributary.Broker.Producers;
using Tributary.Protocol;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Broker.Replication;

/// <summary>Result of appending one partition's records for a Produce request.</summary>
/// <param name="NextOffset">One past the last appended offset: what acks=all waits for the high watermark to reach.</param>
/// <param name="ProducerStatus">What the idempotent-producer check made of the batch (a duplicate is acknowledged without an append).</param>
/// <param name="RecordErrors">KIP-467: the indexes within the batch of the records that made it fail, each with the same
/// <paramref name="RecordErrorMessage"/>; null when no single record is to blame.</param>
public readonly record struct AppendOutcome(ErrorCode Error, long BaseOffset, long LogAppendTimeMs, long LogStartOffset,
    string? Message = null, int RecordCount = 0, int Bytes = 0, long NextOffset = -1,
    IReadOnlyList<int>? RecordErrors = null, string? RecordErrorMessage = null,
    ProducerAppendStatus ProducerStatus = ProducerAppendStatus.Appended);

/// <summary>Result of reading one partition for a Fetch request.</summary>
/// <param name="DivergingEpoch">For a follower whose last fetched epoch ends before its fetch offset on the leader: the
/// epoch and end offset it must truncate to (KIP-320 / KIP-595 diverging epoch); -1 otherwise.</param>
/// <param name="AbortedTransactions">For a read_committed read: the aborted transactions whose data may lie in
/// <paramref name="Records"/> (Kafka's Fetch <c>aborted_transactions</c>); null for read_uncommitted reads.</param>
public readonly record struct ReadOutcome(ErrorCode Error, ReadOnlyMemory<byte> Records, long HighWatermark,
    long LastStableOffset, long LogStartOffset, int DivergingEpoch = -1, long DivergingEndOffset = -1,
    IReadOnlyList<AbortedTransaction>? AbortedTransactions = null)
{
    public static ReadOutcome Failed(ErrorCode error) => new(error, ReadOnlyMemory<byte>.Empty, -1, -1, -1);

    /// <summary>Errors and diverging epochs (the follower must truncate first) are answered at once, not long-polled.</summary>
    public bool MustAnswerNow => Error != ErrorCode.None || DivergingEpoch >= 0 || DivergingEndOffset >= 0;

    /// <summary>No records were returned although the log has some past the fetch offset (the byte budget ran out).</summary>
    public bool HasMore { get; init; }
}

/// <summary>Who fetches and how long a Fetch may wait (the request-level fields of Kafka's FetchParams).</summary>
/// <param name="ReplicaId">The fetching follower's broker id; -1 for a consumer.</param>
/// <param name="ReplicaEpoch">The follower's broker epoch (KIP-903), -1 when not sent.</param>
/// <param name="MaxBytes">Bytes for the whole response (the request's max_bytes within the broker's fetch.max.bytes).</param>
/// <param name="ReadCommitted">isolation_level 1 (KIP-98): a consumer reads only below the last stable offset and gets the
/// aborted transactions of what it reads; followers always read to the log end.</param>
public readonly record struct FetchParams(int ReplicaId, long ReplicaEpoch, int MaxWaitMs, int MinBytes, int MaxBytes, bool ReadCommitted = false)
{
    public bool IsFromFollower => ReplicaId >= 0;
}

/// <summary>One partition of a Fetch. <paramref name="Topic"/> is null when the request named a topic (or id) this broker does
/// not know; <paramref name="UnknownTopicError"/> is then the answer (UNKNOWN_TOPIC_ID or UNKNOWN_TOPIC_OR_PARTITION).</summary>
public readonly record struct FetchPartitionRequest(string? Topic, int Partition, long FetchOffset, int MaxBytes, int CurrentLeaderEpoch,
    int LastFetchedEpoch, ErrorCode UnknownTopicError = ErrorCode.UnknownTopicOrPartition);

/// <summary>
/// Owns this broker's replicas: creates and deletes their logs as the metadata image changes, starts and stops following
/// leaders, appends produced records through the leading <see cref="Partition"/> (acks=all answered from the partition's
/// purgatory when the high watermark passes), serves fetches with Kafka's long-poll policy (min bytes, max wait, per-partition
/// wake-ups) and runs the periodic ISR check. Handlers only translate requests and responses around it.
/// </summary>
public sealed partial class ReplicaManager : IDisposable
{
    private readonly int _nodeId;
    private readonly LogManager _logs;
    private readonly Func<TopicImage, LogConfig> _logConfigFor;
    private readonly Func<TopicImage, int> _minInsyncReplicasFor;
    private readonly ILogger _logger;
    private readonly ReplicaContext _context;
    private readonly IReplicaFetchControl? _fetchers;
    private readonly TopicWarningLimiter _unsatisfiableMinIsrWarnings;
    private readonly ConcurrentDictionary<(string Topic, int Partition), Partition> _partitions = new();
    private readonly ConcurrentDictionary<(string Topic, int Partition), (int Leader, int Epoch)> _following = new();
    private readonly ConcurrentDictionary<(string Topic, int Partition), int> _leading = new();
    private readonly object _applyGate = new();
    private readonly CancellationTokenSource _stopping = new();
    private TaskCompletionSource _leadershipGained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ITimer? _isrMaintenance;
    private long _followerPartitionReads;

    /// <param name="fetchers">Starts and stops the replica fetchers of followed partitions; null on a lone broker.</param>
    /// <param name="isrSender">Sends ISR changes to the active controller; null where there is none to ask (the ISR never changes).</param>
    /// <param name="lagTimeMaxMs">replica.lag.time.max.ms.</param>
    public ReplicaManager(int nodeId, LogManager logs, Func<TopicImage, LogConfig> logConfigFor,
        Func<TopicImage, int> minInsyncReplicasFor, ILogger logger, TimeProvider? time = null, IReplicaFetchControl? fetchers = null,
        IAlterPartitionSender? isrSender = null, long lagTimeMaxMs = 30_000, ProduceStageMetrics? stages = null)
    {
        time ??= TimeProvider.System;
        _unsatisfiableMinIsrWarnings = new TopicWarningLimiter(time, UnsatisfiableMinIsrWarningInterval);
        _nodeId = nodeId;
        _logs = logs;
        _logConfigFor = logConfigFor;
        _minInsyncReplicasFor = minInsyncReplicasFor;
        _logger = logger;
        _fetchers = fetchers;
        _context = new ReplicaContext(nodeId, time, isrSender, lagTimeMaxMs, logger, stages) { Stopping = _stopping.Token };
    }

    public IEnumerable<Partition> Partitions => _partitions.Values;

    /// <summary>Partition reads done for follower fetches, every long-poll pass counted (tributary_replica_fetch_partitions_read_total).</summary>
    public long FollowerPartitionReads => Interlocked.Read(ref _followerPartitionReads);

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
    public MetadataImage AppliedImage => _context.Image;

    public bool TryGetPartition(string topic, int partition, out Partition replica) =>
        _partitions.TryGetValue((topic, partition), out replica!);

    /// <summary>
    /// The one place that maps "which replica serves this request" to Kafka's errors: UNKNOWN_TOPIC_OR_PARTITION when this
    /// broker hosts no replica of it, NOT_LEADER_OR_FOLLOWER when it does not lead it, FENCED_LEADER_EPOCH /
    /// UNKNOWN_LEADER_EPOCH when the client's leader epoch is older / newer than ours (KIP-320; -1 skips the check).
    /// </summary>
    public ErrorCode GetLeaderPartition(string topic, int partition, int currentLeaderEpoch, out Partition? leader)
    {
        leader = null;
        if (!_partitions.TryGetValue((topic, partition), out var replica))
        {
            return ErrorCode.UnknownTopicOrPartition;
        }

        if (!replica.IsLeader)
        {
            return ErrorCode.NotLeaderOrFollower;
        }

        var epochError = replica.CheckLeaderEpoch(currentLeaderEpoch);
        if (epochError != ErrorCode.None)
        {
            return epochError;
        }

        leader = replica;
        return ErrorCode.None;
    }

    /// <summary>
    /// Brings the local replicas in line with a new metadata image: new logs, deleted topics, new configs, and role
    /// changes — a replica that now leads records its epoch start and starts counting its followers; one that now
    /// follows starts fetching from its leader (truncating a divergent tail first, through the fetcher).
    /// </summary>
    public void ApplyImage(MetadataImage image)
    {
        lock (_applyGate)
        {
            var previous = _context.Image;
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

                    if (existing is not null)
                    {
                        // Deleted and recreated within one image: the old replica goes first — its fetcher stopped, its
                        // purgatory failed, its log deleted — so nothing of the old topic lands in the new topic's log.
                        Retire(existing);
                    }

                    toCreate.Add((topic, placement, Settings().Log, Settings().MinInsyncReplicas));
                }
            }

            var parallelism = new ParallelOptions { MaxDegreeOfParallelism = changed.Count + toCreate.Count > 16 ? ApplyParallelism : 1 };
            Parallel.ForEach(changed, parallelism, c => c.Replica.ApplyImage(c.Placement));
            var created = new Partition[toCreate.Count];
            Parallel.For(0, toCreate.Count, parallelism, i =>
            {
                var (topic, placement, logConfig, minInsyncReplicas) = toCreate[i];
                var log = _logs.GetOrCreateLog(topic.Name, placement.Partition, logConfig, topic.Id);
                created[i] = new Partition(topic.Name, topic.Id, placement.Partition, log, placement, _context)
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
                    Retire(replica);
                }
            }

            _context.Image = image;
        }
    }

    /// <summary>
    /// Removes a replica this broker no longer hosts (its topic deleted, recreated under another id, or the replica
    /// moved away). The order matters: the fetcher is stopped before the log is deleted, so no fetched batch is applied
    /// to a closed log; the partition is closed last, failing its parked acks=all produces and waking its long polls.
    /// </summary>
    private void Retire(Partition replica)
    {
        var key = (replica.Topic, replica.Index);
        StopFollowing(replica);
        if (_leading.TryRemove(key, out _))
        {
            RaiseLeadershipChanged(replica, false);
        }

        _partitions.TryRemove(new KeyValuePair<(string, int), Partition>(key, replica));
        _unsatisfiableMinIsrWarnings.Forget(replica.Topic);
        _logs.DeleteLog(replica.Topic, replica.Index);
        replica.Close();
        LogReplicaDeleted(_logger, replica.Topic, replica.Index);
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
        _fetchers?.StartFetching(partition, leader);
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
            _fetchers?.StopFetching(partition);
        }
    }

    /// <summary>Starts the periodic ISR check (Kafka's isr-expiration task, every replica.lag.time.max.ms / 2).</summary>
    public void StartIsrMaintenance()
    {
        if (_isrMaintenance is not null)
        {
            return;
        }

        var period = TimeSpan.FromMilliseconds(Math.Clamp(_context.LagTimeMaxMs / 2, 50, 5_000));
        _isrMaintenance = _context.Time.CreateTimer(static state => ((ReplicaManager)state!).CheckIsrs(), this, period, period);
    }

    /// <summary>One pass of the ISR check: every led partition proposes the ISR its followers' progress calls for.</summary>
    internal void CheckIsrs()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        // The dictionary's own enumerator, not .Values: Values copies every hosted partition into a new list on each pass.
        foreach (var (_, partition) in _partitions)
        {
            if (partition.IsLeader)
            {
                partition.MaybeChangeIsr();
            }
        }
    }

    /// <summary>
    /// Validates and appends one partition's produced batch as its leader. Returns at once with where the records landed;
    /// for acks=all, <see cref="PartitionAppend.Committed"/> completes when the in-sync replicas have them (the partition's
    /// purgatory, completed by whichever fetch advances the high watermark) or at <paramref name="timeoutMs"/>.
    /// </summary>
    /// <param name="coordinatorOrigin">a coordinator's own write (the group coordinator's transactional offset commits): the
    /// producer epoch is checked, not the sequence.</param>
    public PartitionAppend Append(TopicImage topic, int partitionIndex, ReadOnlyMemory<byte>? records, short acks, int timeoutMs,
        CancellationToken cancellation, bool coordinatorOrigin = false)
    {
        var error = GetLeaderPartition(topic.Name, partitionIndex, -1, out var partition);
        if (partition is null)
        {
            return PartitionAppend.Failed(new(error, -1, -1, -1, error == ErrorCode.NotLeaderOrFollower
                ? "This server is not the leader for that topic-partition." : "This server does not host this topic-partition."));
        }

        if (Validate(topic.Name, partition, records, acks, out var result) is { } refusal)
        {
            return PartitionAppend.Failed(refusal);
        }

        try
        {
            var logAppendTime = partition.Log.Config.MessageTimestampType == MessageTimestampType.LogAppendTime;
            var append = partition.AppendAsLeader(records!.Value, result.RecordCount, logAppendTime, acks, TimeSpan.FromMilliseconds(timeoutMs),
                cancellation, coordinatorOrigin);
            if (append.Outcome.ProducerStatus != ProducerAppendStatus.Appended)
            {
                LogProducerBatchNotAppended(_logger, topic.Name, partitionIndex, result.FirstProducerId, append.Outcome.ProducerStatus);
            }

            return append;
        }
        catch (IOException e)
        {
            // The log went offline (disk error); Kafka answers KAFKA_STORAGE_ERROR and the client retries elsewhere.
            LogAppendFailed(_logger, topic.Name, partitionIndex, e.Message);
            return PartitionAppend.Failed(new(ErrorCode.KafkaStorageError, -1, -1, -1, e.Message));
        }
        catch (ObjectDisposedException)
        {
            return PartitionAppend.Failed(new(ErrorCode.NotLeaderOrFollower, -1, -1, -1, "The partition was deleted while appending."));
        }
    }

    /// <summary>Kafka's produce checks before an append: records present, min.insync.replicas for acks=all, the batch itself,
    /// transactions, keys on compacted topics, segment size. Null when the batch may be appended.</summary>
    private AppendOutcome? Validate(string topic, Partition partition, ReadOnlyMemory<byte>? records, short acks, out ProduceValidation result)
    {
        result = default;
        if (records is not { Length: > 0 } payload)
        {
            return new(ErrorCode.InvalidRecord, -1, -1, partition.Log.LogStartOffset, "Produce request carried no records.");
        }

        var config = partition.Log.Config;
        if (acks == -1 && partition.Image.Isr.Length < partition.MinInsyncReplicas)
        {
            // Fewer replicas than min.insync.replicas: no ISR can ever be large enough, and clients retry this error silently.
            if (partition.Image.Replicas.Length < partition.MinInsyncReplicas
                && _unsatisfiableMinIsrWarnings.ShouldWarn(topic, out var heldBack))
            {
                if (heldBack == 0)
                {
                    LogUnsatisfiableMinIsrProduce(_logger, topic, partition.Image.Replicas.Length, partition.MinInsyncReplicas);
                }
                else
                {
                    LogUnsatisfiableMinIsrProduceAgain(_logger, topic, partition.Image.Replicas.Length, partition.MinInsyncReplicas, heldBack);
                }
            }

            return new(ErrorCode.NotEnoughReplicas, -1, -1, partition.Log.LogStartOffset,
                $"The size of the current ISR {partition.Image.Isr.Length} is insufficient to satisfy the min.isr requirement of {partition.MinInsyncReplicas}.");
        }

        var validation = RecordBatchValidator.ValidateProduce(payload.Span, config.MaxMessageBytes, out result);
        if (validation == RecordValidationError.None && (result.BatchCount != 1 || result.HasControl))
        {
            // Produce v3+ carries exactly one batch per partition, and control batches are the broker's to write.
            validation = RecordValidationError.InvalidRecord;
        }

        if (validation != RecordValidationError.None)
        {
            var reason = result.ErrorMessage ?? validation.ToString();
            LogProduceRejected(_logger, topic, partition.Index, reason);
            return new(validation.ToErrorCode(), -1, -1, partition.Log.LogStartOffset, reason);
        }

        if (result.HasTransactional && result.FirstProducerId < 0)
        {
            // A transaction belongs to a producer id: Kafka's validator refuses a transactional batch without one.
            return new(ErrorCode.InvalidRecord, -1, -1, partition.Log.LogStartOffset, "A transactional batch needs a producer id.");
        }

        if ((config.CleanupPolicy & CleanupPolicy.Compact) != 0 && RefuseKeylessRecords(topic, partition.Index, payload.Span, config,
                partition.Log.LogStartOffset) is { } keylessRefusal)
        {
            return keylessRefusal;
        }

        if (payload.Length > config.SegmentBytes)
        {
            return new(ErrorCode.RecordListTooLarge, -1, -1, partition.Log.LogStartOffset,
                $"The batch of {payload.Length} bytes is larger than the segment size {config.SegmentBytes}.");
        }

        return null;
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
    /// Serves a Fetch with Kafka's long-poll policy: reads every partition (consumers below the high watermark, followers up
    /// to the log end, recording their progress), and unless <see cref="FetchParams.MinBytes"/> are there, an error or a
    /// diverging epoch must be answered, or the wait is over, parks on exactly the partitions asked for until one of them
    /// changes (an append for a follower's fetch, a high-watermark move for a consumer's) or MaxWaitMs passes. A follower's
    /// fetch also returns when this broker starts leading more partitions, so its next fetch includes them. Results are in
    /// request order; the response byte budget gives the first partition with data at least one whole batch (KIP-74).
    /// </summary>
    public async Task<ReadOutcome[]> FetchAsync(FetchParams fetch, IReadOnlyList<FetchPartitionRequest> partitions, CancellationToken cancellation)
    {
        var time = _context.Time;
        var started = time.GetTimestamp();
        var maxWait = TimeSpan.FromMilliseconds(Math.Max(0, fetch.MaxWaitMs));
        while (true)
        {
            // Watch before reading, so a change between the read and the wait still wakes this fetch.
            var delayed = new DelayedFetch(wakesOnAppend: fetch.IsFromFollower);
            var leadershipGained = fetch.IsFromFollower ? NextLeadershipGained : null;
            var (results, bytes, mustAnswer) = ReadAll(fetch, partitions, delayed);
            var remaining = maxWait - time.GetElapsedTime(started);
            if (bytes >= fetch.MinBytes || mustAnswer || remaining <= TimeSpan.Zero || !delayed.IsWatching)
            {
                delayed.Release();
                return results;
            }

            delayed.ArmTimer(time, remaining);
            try
            {
                var woken = delayed.Woken;
                await (leadershipGained is null ? woken : Task.WhenAny(woken, leadershipGained)).WaitAsync(cancellation).ConfigureAwait(false);
            }
            finally
            {
                delayed.Release();
            }

            if (delayed.WokenBy is { } partition && fetch.IsFromFollower)
            {
                RecordFollowerWakeup(partition);
            }

            // Read again without watching: a wake-up nearly always brings what the fetch waits for. Only when it did not (min bytes
            // not reached yet) does the next round watch the partitions again.
            var (reread, rereadBytes, mustAnswerNow) = ReadAll(fetch, partitions, watcher: null);
            if (delayed.WokenBy is null || leadershipGained is { IsCompleted: true } || rereadBytes >= fetch.MinBytes || mustAnswerNow)
            {
                // Enough data, an error to report, the full MaxWaitMs waited, or this broker leads more partitions now.
                return reread;
            }
        }
    }

    /// <summary>The clock of replication (long-poll waits measure against it).</summary>
    internal TimeProvider Time => _context.Time;

    /// <summary>A follower's parked fetch woke for an append to <paramref name="partition"/>: the follower wake-up stage.</summary>
    internal void RecordFollowerWakeup(Partition partition)
    {
        var time = _context.Time;
        if (partition.LastAppendTimestamp is var appended and > 0)
        {
            _context.Stages?.Record(ProduceStage.FollowerWakeup, time, appended, time.GetTimestamp());
        }
    }

    private (ReadOutcome[] Results, long Bytes, bool MustAnswer) ReadAll(FetchParams fetch, IReadOnlyList<FetchPartitionRequest> partitions,
        DelayedFetch? watcher)
    {
        var results = new ReadOutcome[partitions.Count];
        if (fetch.IsFromFollower)
        {
            Interlocked.Add(ref _followerPartitionReads, partitions.Count);
        }

        var budget = fetch.MaxBytes;
        long total = 0;
        var mustAnswer = false;
        for (var i = 0; i < partitions.Count; i++)
        {
            var outcome = ReadOne(fetch, partitions[i], budget, minOneBatch: total == 0, watcher, session: null, out _);
            results[i] = outcome;
            mustAnswer |= outcome.MustAnswerNow;
            total += outcome.Records.Length;
            budget = (int)Math.Max(0, budget - outcome.Records.Length);
        }

        return (results, total, mustAnswer);
    }

    /// <summary>
    /// One pass over the partitions an incremental fetch session picked (issue 20), without waiting or watching: the session
    /// watches its partitions itself (<see cref="IPartitionChangeListener"/>) and long-polls on them. <paramref name="hosted"/>[i] is this broker's replica of partition i when it hosts one (the session listens to
    /// it even while it is not the leader, so a new leadership wakes the session); <paramref name="sessions"/>[i] is the follower
    /// session's link for partition i (follower fetches only).
    /// </summary>
    internal (ReadOutcome[] Results, long Bytes, bool MustAnswer) ReadForSession(FetchParams fetch, IReadOnlyList<FetchPartitionRequest> partitions,
        IReadOnlyList<IFollowerSessionLink>? sessions, Partition?[] hosted)
    {
        var results = new ReadOutcome[partitions.Count];
        if (fetch.IsFromFollower)
        {
            Interlocked.Add(ref _followerPartitionReads, partitions.Count);
        }

        var budget = fetch.MaxBytes;
        long total = 0;
        var mustAnswer = false;
        for (var i = 0; i < partitions.Count; i++)
        {
            var p = partitions[i];
            var outcome = ReadOne(fetch, p, budget, minOneBatch: total == 0, watcher: null, sessions?[i], out var leader);
            hosted[i] = leader ?? (p.Topic is not null && _partitions.TryGetValue((p.Topic, p.Partition), out var replica) ? replica : null);
            results[i] = outcome;
            mustAnswer |= outcome.MustAnswerNow;
            total += outcome.Records.Length;
            budget = (int)Math.Max(0, budget - outcome.Records.Length);
        }

        return (results, total, mustAnswer);
    }

    private ReadOutcome ReadOne(FetchParams fetch, in FetchPartitionRequest p, int budget, bool minOneBatch, DelayedFetch? watcher,
        IFollowerSessionLink? session, out Partition? partition)
    {
        partition = null;
        var error = p.Topic is null ? p.UnknownTopicError : GetLeaderPartition(p.Topic, p.Partition, p.CurrentLeaderEpoch, out partition);
        if (error != ErrorCode.None)
        {
            return ReadOutcome.Failed(error);
        }

        watcher?.Watch(partition!);
        var limit = (int)Math.Min(p.MaxBytes, budget);
        return fetch.IsFromFollower
            ? partition!.ReadForFollower(fetch.ReplicaId, fetch.ReplicaEpoch, p.FetchOffset, limit, minOneBatch, p.LastFetchedEpoch, session)
            : partition!.Read(p.FetchOffset, limit, minOneBatch, fetch.ReadCommitted);
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _isrMaintenance?.Dispose();
        foreach (var partition in _partitions.Values)
        {
            partition.Close();
        }

        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 305, EventName = "LeadershipHandlerFailed", Level = LogLevel.Error, Message = "A leadership-change handler failed for {Topic}-{Partition}")]
    private static partial void LogLeadershipHandlerFailed(ILogger logger, string topic, int partition, Exception exception);

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
