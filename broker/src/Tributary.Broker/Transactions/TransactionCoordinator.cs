using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Groups;
using Tributary.Broker.Producers;
using Tributary.Protocol;

namespace Tributary.Broker.Transactions;

/// <summary>
/// Kafka's transaction coordinator (KIP-98, KIP-360, KIP-890 part 1 verification) for every transactional id whose
/// <c>__transaction_state</c> partition this broker leads. Every state change is written to
/// <see cref="ITransactionStateLog"/> and applied (and answered) only once the in-sync replicas have it; a partition's ids
/// are rebuilt from its log when this broker becomes its leader, with the partition's leader epoch as the coordinator
/// epoch, and dropped when it stops leading. Markers go out through <see cref="ITransactionMarkerSender"/>.
/// </summary>
/// <remarks>
/// One lock per transactional id; a write in flight is recorded as <see cref="TransactionMetadata.Pending"/> and awaited
/// outside the lock. Timers (aborting timed-out transactions, expiring idle ids) are deadlines checked by
/// <see cref="Tick"/>, driven by a <see cref="TimeProvider"/> timer once <see cref="Start"/> is called.
/// </remarks>
public sealed partial class TransactionCoordinator : IDisposable
{
    private readonly TransactionCoordinatorOptions _options;
    private readonly ITransactionStateLog _log;
    private readonly ITransactionMarkerSender _markers;
    private readonly ProducerIdManager _producerIds;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, TransactionMetadata> _transactions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, OwnedPartition> _owned = new();
    private readonly ConcurrentDictionary<Task, byte> _completions = new();
    private readonly object _tickGate = new();
    private ITimer? _timer;
    private bool _tracking;
    private long _nextAbortCheckMs;
    private long _nextExpiryCheckMs;

    public TransactionCoordinator(TransactionCoordinatorOptions options, ITransactionStateLog log, ITransactionMarkerSender markers,
        ProducerIdManager producerIds, TimeProvider time, ILogger logger)
    {
        _options = options;
        _log = log;
        _markers = markers;
        _producerIds = producerIds;
        _time = time;
        _logger = logger;
        _nextAbortCheckMs = NowMs + options.AbortTimedOutTransactionsIntervalMs;
        _nextExpiryCheckMs = NowMs + options.RemoveExpiredTransactionalIdsIntervalMs;
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The <c>__transaction_state</c> partition of a transactional id (Kafka's partitioner, so tools agree).</summary>
    public int PartitionFor(string transactionalId) => OffsetsTopicPartitioner.PartitionFor(transactionalId, _log.PartitionCount);

    /// <summary>Creates <c>__transaction_state</c> if needed (the first FindCoordinator for a transactional id does this).</summary>
    public Task<ErrorCode> EnsureStateTopicAsync(CancellationToken cancellation) => _log.EnsureCreatedAsync(cancellation);

    /// <summary>Whether this broker coordinates <paramref name="partition"/>'s transactional ids and has loaded them.</summary>
    public bool IsLoaded(int partition) => _owned.TryGetValue(partition, out var owned) && owned.Loaded;

    /// <summary>Starts following leadership of the state partitions, then the timer that drives <see cref="Tick"/>.</summary>
    public void Start()
    {
        TrackLeadership();
        var interval = TimeSpan.FromMilliseconds(Math.Clamp(_options.AbortTimedOutTransactionsIntervalMs, 100, 1000));
        _timer ??= _time.CreateTimer(_ => Tick(), null, interval, interval);
    }

    /// <summary>
    /// Subscribes to leadership changes, then treats every partition already led here as newly led (subscribe first, then
    /// scan, so no event is missed; a partition seen twice loads once).
    /// </summary>
    public void TrackLeadership()
    {
        lock (_tickGate)
        {
            if (_tracking)
            {
                return;
            }

            _tracking = true;
        }

        _log.LeadershipChanged += OnLeadershipChanged;
        foreach (var partition in _log.LedPartitions())
        {
            BeginLoad(partition);
            if (!_log.Leads(partition))
            {
                Unload(partition);
            }
        }
    }

    /// <summary>Completes when every partition being loaded right now has finished loading (or failed to).</summary>
    public Task WhenLoadedAsync() => Task.WhenAll(_owned.Values.Select(o => o.Done.Task));

    /// <summary>Completes when every marker round started so far has ended (tests and shutdown).</summary>
    public Task WhenMarkersSentAsync() => Task.WhenAll(_completions.Keys.ToList());

    private void OnLeadershipChanged(int partition, bool leading)
    {
        if (leading)
        {
            BeginLoad(partition);
        }
        else
        {
            Unload(partition);
        }
    }

    private void BeginLoad(int partition)
    {
        var epoch = _log.LeaderEpoch(partition);
        var owned = new OwnedPartition(partition, epoch);
        if (!_owned.TryAdd(partition, owned))
        {
            // Still leading with a new leader epoch: the ids in memory are what the log says; markers sent from now on carry the
            // new epoch, which leaders accept (it only grows).
            if (_owned.TryGetValue(partition, out var current) && epoch > current.CoordinatorEpoch)
            {
                current.CoordinatorEpoch = epoch;
            }

            return;
        }

        LogPartitionLoading(_logger, partition, epoch);
        _ = Task.Run(() => LoadPartition(owned));
    }

    private void LoadPartition(OwnedPartition owned)
    {
        try
        {
            var started = NowMs;
            var latest = new Dictionary<string, TransactionRecord?>(StringComparer.Ordinal);
            var records = 0;
            foreach (var record in _log.Replay(owned.Index))
            {
                if (owned.Unloaded)
                {
                    return;
                }

                records++;
                var id = TransactionStateRecords.DecodeKey(record.Key, out var keyError);
                if (id is null)
                {
                    LogBadRecord(_logger, owned.Index, keyError ?? "bad key");
                    continue;
                }

                if (record.Value is null)
                {
                    latest[id] = null;
                    continue;
                }

                var value = TransactionStateRecords.DecodeValue(record.Value, out var valueError);
                if (value is null)
                {
                    LogBadRecord(_logger, owned.Index, valueError ?? "bad value");
                    continue;
                }

                latest[id] = value;
            }

            var loaded = new List<TransactionMetadata>();
            foreach (var (id, record) in latest)
            {
                if (record is null)
                {
                    continue;
                }

                var txn = new TransactionMetadata(id, owned.Index);
                txn.Apply(record);
                loaded.Add(txn);
            }

            lock (owned)
            {
                if (owned.Unloaded)
                {
                    return;
                }

                foreach (var txn in loaded)
                {
                    _transactions[txn.TransactionalId] = txn;
                }

                owned.Loaded = true;
            }

            LogLoaded(_logger, owned.Index, loaded.Count, records, NowMs - started, owned.CoordinatorEpoch);

            // Transactions that were being completed when the previous coordinator stopped: send their markers again (a
            // leader that already has a marker writes the same marker again, which readers treat as a no-op).
            foreach (var txn in loaded)
            {
                lock (txn)
                {
                    if (txn.State is TransactionState.PrepareCommit or TransactionState.PrepareAbort && txn.Pending is null)
                    {
                        StartCompletion(txn, owned);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            LogLoadFailed(_logger, owned.Index, e);
            _owned.TryRemove(new KeyValuePair<int, OwnedPartition>(owned.Index, owned));
        }
        finally
        {
            owned.Done.TrySetResult();
        }
    }

    /// <summary>
    /// This broker no longer leads <paramref name="partition"/>: drop its ids and stop sending their markers. Nothing is
    /// written; the new leader's log has every acknowledged state and the new coordinator resumes what is unfinished.
    /// </summary>
    private void Unload(int partition)
    {
        if (!_owned.TryRemove(partition, out var owned))
        {
            return;
        }

        lock (owned)
        {
            owned.Unloaded = true;
        }

        owned.Cancel();
        var unloaded = 0;
        foreach (var txn in _transactions.Values)
        {
            if (txn.StatePartition != partition)
            {
                continue;
            }

            lock (txn)
            {
                txn.Removed = true;
            }

            _transactions.TryRemove(new KeyValuePair<string, TransactionMetadata>(txn.TransactionalId, txn));
            unloaded++;
        }

        LogUnloaded(_logger, partition, unloaded);
    }

    /// <summary>NONE when this broker coordinates and has loaded the id's partition; NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS otherwise.</summary>
    private ErrorCode OwnershipError(int partition, out OwnedPartition? owned)
    {
        if (_owned.TryGetValue(partition, out owned))
        {
            return owned.Loaded ? ErrorCode.None : ErrorCode.CoordinatorLoadInProgress;
        }

        return ErrorCode.NotCoordinator;
    }

    /// <summary>
    /// The id's metadata under its own lock is re-checked by callers (<see cref="TransactionMetadata.Removed"/>); this only
    /// finds it, or says why not.
    /// </summary>
    private ErrorCode Find(string transactionalId, out TransactionMetadata? txn, out OwnedPartition? owned)
    {
        txn = null;
        var error = OwnershipError(PartitionFor(transactionalId), out owned);
        if (error != ErrorCode.None)
        {
            return error;
        }

        return _transactions.TryGetValue(transactionalId, out txn) ? ErrorCode.None : ErrorCode.InvalidProducerIdMapping;
    }

    /// <summary>
    /// Writes <paramref name="target"/> for <paramref name="txn"/> (whose <see cref="TransactionMetadata.Pending"/> the caller
    /// set under the id's lock) and applies it once the ISR has it. Kafka's mapping of log errors to coordinator errors.
    /// </summary>
    private async Task<ErrorCode> PersistAsync(TransactionMetadata txn, OwnedPartition owned, TransactionRecord? target, CancellationToken cancellation)
    {
        ErrorCode error;
        try
        {
            var record = new TransactionLogRecord(TransactionStateRecords.EncodeKey(txn.TransactionalId),
                target is null ? null : TransactionStateRecords.EncodeValue(target));
            error = await _log.AppendAsync(txn.StatePartition, record, NowMs, _options.StateWriteTimeoutMs, cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            error = ErrorCode.NotLeaderOrFollower;
        }

        lock (txn)
        {
            txn.Pending = null;
            if (error == ErrorCode.None && (owned.Unloaded || txn.Removed))
            {
                error = ErrorCode.NotCoordinator;
            }

            if (error != ErrorCode.None)
            {
                var mapped = error switch
                {
                    ErrorCode.UnknownTopicOrPartition or ErrorCode.NotEnoughReplicas or ErrorCode.NotEnoughReplicasAfterAppend
                        or ErrorCode.RequestTimedOut => ErrorCode.CoordinatorNotAvailable,
                    ErrorCode.NotLeaderOrFollower or ErrorCode.KafkaStorageError or ErrorCode.NotCoordinator => ErrorCode.NotCoordinator,
                    _ => ErrorCode.UnknownServerError,
                };
                LogWriteFailed(_logger, txn.TransactionalId, target is null ? "tombstone" : TransactionStates.Name(target.State), error.ToString());
                return mapped;
            }

            if (target is null)
            {
                txn.State = TransactionState.Dead;
                txn.Removed = true;
                _transactions.TryRemove(new KeyValuePair<string, TransactionMetadata>(txn.TransactionalId, txn));
            }
            else
            {
                txn.Apply(target);
            }

            return ErrorCode.None;
        }
    }

    /// <summary>Fires every due deadline: aborts timed-out transactions, removes expired transactional ids.</summary>
    public void Tick()
    {
        if (!Monitor.TryEnter(_tickGate))
        {
            return;
        }

        try
        {
            var now = NowMs;
            if (now >= _nextAbortCheckMs)
            {
                _nextAbortCheckMs = now + _options.AbortTimedOutTransactionsIntervalMs;
                AbortTimedOutTransactions(now);
            }

            if (now >= _nextExpiryCheckMs)
            {
                _nextExpiryCheckMs = now + _options.RemoveExpiredTransactionalIdsIntervalMs;
                RemoveExpiredTransactionalIds(now);
            }
        }
        catch (Exception e)
        {
            LogTickFailed(_logger, e);
        }
        finally
        {
            Monitor.Exit(_tickGate);
        }
    }

    public void Dispose()
    {
        _log.LeadershipChanged -= OnLeadershipChanged;
        _timer?.Dispose();
        foreach (var owned in _owned.Values)
        {
            owned.Cancel();
        }
    }

    /// <summary>A <c>__transaction_state</c> partition this broker leads: loading, then loaded, until unloaded.</summary>
    private sealed class OwnedPartition(int index, int coordinatorEpoch)
    {
        private readonly CancellationTokenSource _stopped = new();

        public int Index { get; } = index;
        public int CoordinatorEpoch { get; set; } = coordinatorEpoch;
        public volatile bool Loaded;
        public volatile bool Unloaded;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Cancelled when this broker stops coordinating the partition: marker rounds and retries end.</summary>
        public CancellationToken Stopped => _stopped.Token;

        public void Cancel()
        {
            try
            {
                _stopped.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    [LoggerMessage(EventId = 800, EventName = "TransactionPartitionLoading", Level = LogLevel.Debug, Message = "Leading __transaction_state-{Partition} (coordinator epoch {CoordinatorEpoch}): loading its transactional ids")]
    private static partial void LogPartitionLoading(ILogger logger, int partition, int coordinatorEpoch);

    [LoggerMessage(EventId = 801, EventName = "TransactionPartitionLoaded", Level = LogLevel.Information, Message = "Loaded {TransactionCount} transactional ids from {RecordCount} records of __transaction_state-{Partition} in {ElapsedMs} ms (coordinator epoch {CoordinatorEpoch})")]
    private static partial void LogLoaded(ILogger logger, int partition, int transactionCount, int recordCount, long elapsedMs, int coordinatorEpoch);

    [LoggerMessage(EventId = 802, EventName = "TransactionPartitionUnloaded", Level = LogLevel.Information, Message = "No longer leading __transaction_state-{Partition}: unloaded {TransactionCount} transactional ids")]
    private static partial void LogUnloaded(ILogger logger, int partition, int transactionCount);

    [LoggerMessage(EventId = 803, EventName = "TransactionPartitionLoadFailed", Level = LogLevel.Error, Message = "Loading __transaction_state-{Partition} failed; its transactional ids have no coordinator here")]
    private static partial void LogLoadFailed(ILogger logger, int partition, Exception exception);

    [LoggerMessage(EventId = 804, EventName = "TransactionBadRecord", Level = LogLevel.Warning, Message = "Skipped a malformed __transaction_state record in partition {Partition}: {Reason}")]
    private static partial void LogBadRecord(ILogger logger, int partition, string reason);

    [LoggerMessage(EventId = 805, EventName = "TransactionStateWriteFailed", Level = LogLevel.Warning, Message = "Writing {State} of transactional id {TransactionalId} failed: {Error}")]
    private static partial void LogWriteFailed(ILogger logger, string transactionalId, string state, string error);

    [LoggerMessage(EventId = 806, EventName = "TransactionTickFailed", Level = LogLevel.Error, Message = "Transaction coordinator timer failed")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}
