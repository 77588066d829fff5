using Microsoft.Extensions.Logging;
using Tributary.Protocol;

namespace Tributary.Broker.Transactions;

/// <summary>What InitProducerId gives a transactional producer.</summary>
public readonly record struct InitProducerIdResult(ErrorCode Error, long ProducerId, short ProducerEpoch)
{
    public static InitProducerIdResult Failed(ErrorCode error) => new(error, -1, -1);
}

public sealed partial class TransactionCoordinator
{
    /// <summary>
    /// InitProducerId with a transactional id: the first call allocates a producer id (epoch 0); later calls bump the epoch,
    /// fencing older producers of the id (their requests get PRODUCER_FENCED); an exhausted epoch moves to a new producer id.
    /// An open transaction is aborted first (the caller retries on CONCURRENT_TRANSACTIONS until that is done). KIP-360: a
    /// producer passing its current id/epoch continues with the next epoch; a retry of a bump already made gets the same answer.
    /// </summary>
    public async Task<InitProducerIdResult> InitProducerIdAsync(string transactionalId, int timeoutMs, long expectedProducerId,
        short expectedEpoch, CancellationToken cancellation)
    {
        if (string.IsNullOrEmpty(transactionalId))
        {
            return InitProducerIdResult.Failed(ErrorCode.InvalidRequest);
        }

        if (timeoutMs <= 0 || timeoutMs > _options.MaxTransactionTimeoutMs)
        {
            return InitProducerIdResult.Failed(ErrorCode.InvalidTransactionTimeout);
        }

        var error = Find(transactionalId, out var txn, out var owned);
        if (error is not (ErrorCode.None or ErrorCode.InvalidProducerIdMapping))
        {
            return InitProducerIdResult.Failed(error);
        }

        if (txn is null)
        {
            var (idError, producerId) = await _producerIds.GenerateAsync(cancellation).ConfigureAwait(false);
            if (idError != ErrorCode.None)
            {
                return InitProducerIdResult.Failed(idError);
            }

            var created = new TransactionMetadata(transactionalId, owned!.Index) { ProducerId = producerId, TimeoutMs = timeoutMs, LastUpdateTimestampMs = NowMs };
            lock (owned)
            {
                if (owned.Unloaded)
                {
                    return InitProducerIdResult.Failed(ErrorCode.NotCoordinator);
                }

                txn = _transactions.GetOrAdd(transactionalId, created);
            }
        }

        var hasExpected = expectedProducerId >= 0;
        TransactionRecord target;
        var abortFirst = false;
        var rotate = false;
        lock (txn)
        {
            if (txn.Removed)
            {
                return InitProducerIdResult.Failed(ErrorCode.ConcurrentTransactions);
            }

            if (txn.Pending is not null)
            {
                return InitProducerIdResult.Failed(ErrorCode.ConcurrentTransactions);
            }

            // Kafka's isValidProducerId: a fresh id (epoch -1), the current id, or the previous id with an exhausted epoch (a
            // retry of the rotation whose answer was lost).
            if (hasExpected && !(txn.ProducerEpoch < 0 || expectedProducerId == txn.ProducerId
                    || (expectedProducerId == txn.LastProducerId && TransactionMetadata.IsEpochExhausted(expectedEpoch))))
            {
                return InitProducerIdResult.Failed(ErrorCode.ProducerFenced);
            }

            switch (txn.State)
            {
                case TransactionState.PrepareCommit or TransactionState.PrepareAbort or TransactionState.PrepareEpochFence or TransactionState.Dead:
                    return InitProducerIdResult.Failed(ErrorCode.ConcurrentTransactions);
                case TransactionState.Ongoing:
                    // Fence the producer of the open transaction and abort it with the bumped epoch (Kafka's
                    // prepareFenceProducerEpoch + abort); the caller retries and then gets the next epoch.
                    abortFirst = true;
                    break;
            }

            var now = NowMs;
            if (abortFirst)
            {
                target = FencedAbortRecord(txn, now);
                txn.Pending = TransactionState.PrepareAbort;
            }
            else if (hasExpected && txn.ProducerEpoch >= 0 && expectedProducerId == txn.LastProducerId && expectedProducerId != txn.ProducerId)
            {
                // A retry of a rotation already made: the same answer again.
                return new InitProducerIdResult(ErrorCode.None, txn.ProducerId, txn.ProducerEpoch);
            }
            else if (TransactionMetadata.IsEpochExhausted(txn.ProducerEpoch))
            {
                rotate = true;
                target = txn.ToRecord();
                txn.Pending = TransactionState.Empty;
            }
            else
            {
                short newEpoch;
                short lastEpoch;
                if (!hasExpected)
                {
                    (newEpoch, lastEpoch) = ((short)(txn.ProducerEpoch + 1), -1);
                }
                else if (expectedEpoch < 0 || expectedEpoch == txn.ProducerEpoch || txn.ProducerEpoch < 0)
                {
                    (newEpoch, lastEpoch) = ((short)(txn.ProducerEpoch + 1), txn.ProducerEpoch);
                }
                else if (expectedEpoch == txn.LastProducerEpoch)
                {
                    // A retry of a bump already made (its answer was lost).
                    return new InitProducerIdResult(ErrorCode.None, txn.ProducerId, txn.ProducerEpoch);
                }
                else
                {
                    return InitProducerIdResult.Failed(ErrorCode.ProducerFenced);
                }

                target = new TransactionRecord(txn.ProducerId, newEpoch, txn.LastProducerId, lastEpoch, timeoutMs, TransactionState.Empty,
                    [], -1, now);
                txn.Pending = TransactionState.Empty;
            }
        }

        if (rotate)
        {
            var (idError, newProducerId) = await _producerIds.GenerateAsync(cancellation).ConfigureAwait(false);
            if (idError != ErrorCode.None)
            {
                lock (txn)
                {
                    txn.Pending = null;
                }

                return InitProducerIdResult.Failed(idError);
            }

            target = new TransactionRecord(newProducerId, 0, txn.ProducerId, hasExpected ? txn.ProducerEpoch : (short)-1, timeoutMs,
                TransactionState.Empty, [], -1, NowMs);
            LogProducerIdRotated(_logger, transactionalId, txn.ProducerId, newProducerId);
        }

        var written = await PersistAsync(txn, owned!, target, cancellation).ConfigureAwait(false);
        if (written != ErrorCode.None)
        {
            return InitProducerIdResult.Failed(written);
        }

        if (abortFirst)
        {
            LogFencedOpenTransaction(_logger, transactionalId, target.ProducerId, target.ProducerEpoch);
            lock (txn)
            {
                StartCompletion(txn, owned!);
            }

            return InitProducerIdResult.Failed(ErrorCode.ConcurrentTransactions);
        }

        LogInitialized(_logger, transactionalId, target.ProducerId, target.ProducerEpoch);
        return new InitProducerIdResult(ErrorCode.None, target.ProducerId, target.ProducerEpoch);
    }

    /// <summary>Kafka's prepareFenceProducerEpoch + PrepareAbort in one record: the bumped epoch fences the producer of the open transaction.</summary>
    private static TransactionRecord FencedAbortRecord(TransactionMetadata txn, long now)
    {
        // An exhausted epoch can't be bumped; the abort then goes out with the current epoch (Kafka does the same).
        var epoch = TransactionMetadata.IsEpochExhausted(txn.ProducerEpoch) ? txn.ProducerEpoch : (short)(txn.ProducerEpoch + 1);
        return new TransactionRecord(txn.ProducerId, epoch, txn.LastProducerId, -1, txn.TimeoutMs, TransactionState.PrepareAbort,
            txn.Partitions.ToList(), txn.StartTimestampMs, now);
    }

    /// <summary>Kafka's checks of a producer's id and epoch against the coordinator's.</summary>
    private static ErrorCode CheckProducer(TransactionMetadata txn, long producerId, short producerEpoch)
    {
        if (txn.Removed)
        {
            return ErrorCode.NotCoordinator;
        }

        if (producerId != txn.ProducerId)
        {
            return ErrorCode.InvalidProducerIdMapping;
        }

        if (producerEpoch != txn.ProducerEpoch)
        {
            return ErrorCode.ProducerFenced;
        }

        return ErrorCode.None;
    }

    /// <summary>
    /// AddPartitionsToTxn / AddOffsetsToTxn: adds <paramref name="partitions"/> to the producer's transaction (opening it if
    /// none is open) and answers once that is written. Partitions already in the open transaction are answered at once.
    /// </summary>
    public async Task<ErrorCode> AddPartitionsAsync(string transactionalId, long producerId, short producerEpoch,
        IReadOnlyCollection<TopicPartitionKey> partitions, CancellationToken cancellation)
    {
        if (string.IsNullOrEmpty(transactionalId))
        {
            return ErrorCode.InvalidRequest;
        }

        var error = Find(transactionalId, out var txn, out var owned);
        if (error != ErrorCode.None)
        {
            return error;
        }

        TransactionRecord target;
        lock (txn!)
        {
            error = CheckProducer(txn, producerId, producerEpoch);
            if (error != ErrorCode.None)
            {
                return error;
            }

            if (txn.Pending is not null || txn.State is TransactionState.PrepareCommit or TransactionState.PrepareAbort
                    or TransactionState.PrepareEpochFence or TransactionState.Dead)
            {
                return ErrorCode.ConcurrentTransactions;
            }

            if (txn.State == TransactionState.Ongoing && partitions.All(txn.Partitions.Contains))
            {
                return ErrorCode.None;
            }

            var all = new SortedSet<TopicPartitionKey>(txn.Partitions);
            all.UnionWith(partitions);
            if (all.Count > TransactionStateRecords.MaxTopics)
            {
                return ErrorCode.InvalidRequest;
            }

            var now = NowMs;
            var start = txn.State == TransactionState.Ongoing ? txn.StartTimestampMs : now;
            target = new TransactionRecord(txn.ProducerId, txn.ProducerEpoch, txn.LastProducerId, txn.LastProducerEpoch, txn.TimeoutMs,
                TransactionState.Ongoing, all.ToList(), start, now);
            txn.Pending = TransactionState.Ongoing;
        }

        return await PersistAsync(txn, owned!, target, cancellation).ConfigureAwait(false);
    }

    /// <summary>
    /// KIP-890 part 1 (AddPartitionsToTxn v4+ verify-only): whether each partition is in the producer's open transaction,
    /// without changing anything. NONE per partition that is; INVALID_TXN_STATE per partition that is not.
    /// </summary>
    public (ErrorCode Error, IReadOnlyDictionary<TopicPartitionKey, ErrorCode> Partitions) VerifyPartitions(string transactionalId,
        long producerId, short producerEpoch, IReadOnlyCollection<TopicPartitionKey> partitions)
    {
        var results = new Dictionary<TopicPartitionKey, ErrorCode>();
        var error = Find(transactionalId, out var txn, out _);
        if (error == ErrorCode.None)
        {
            lock (txn!)
            {
                error = CheckProducer(txn, producerId, producerEpoch);
                if (error == ErrorCode.None && (txn.Pending is not null || txn.State is TransactionState.PrepareCommit or TransactionState.PrepareAbort))
                {
                    error = ErrorCode.ConcurrentTransactions;
                }

                if (error == ErrorCode.None)
                {
                    foreach (var partition in partitions)
                    {
                        results[partition] = txn.State == TransactionState.Ongoing && txn.Partitions.Contains(partition)
                            ? ErrorCode.None
                            : ErrorCode.InvalidTxnState;
                    }

                    return (ErrorCode.None, results);
                }
            }
        }

        foreach (var partition in partitions)
        {
            results[partition] = error;
        }

        return (error, results);
    }

    /// <summary>
    /// EndTxn: writes PrepareCommit/PrepareAbort, answers, then has the markers written and finally CompleteCommit/CompleteAbort.
    /// A retry of an EndTxn already done answers NONE; the other outcome while one is done or under way is INVALID_TXN_STATE.
    /// </summary>
    public async Task<ErrorCode> EndTransactionAsync(string transactionalId, long producerId, short producerEpoch, bool commit,
        CancellationToken cancellation)
    {
        if (string.IsNullOrEmpty(transactionalId))
        {
            return ErrorCode.InvalidRequest;
        }

        var error = Find(transactionalId, out var txn, out var owned);
        if (error != ErrorCode.None)
        {
            return error;
        }

        TransactionRecord target;
        lock (txn!)
        {
            error = CheckProducer(txn, producerId, producerEpoch);
            if (error != ErrorCode.None)
            {
                return error;
            }

            if (txn.Pending is not null)
            {
                return ErrorCode.ConcurrentTransactions;
            }

            switch (txn.State)
            {
                case TransactionState.Ongoing:
                    break;
                case TransactionState.CompleteCommit:
                    return commit ? ErrorCode.None : ErrorCode.InvalidTxnState;
                case TransactionState.CompleteAbort:
                    return commit ? ErrorCode.InvalidTxnState : ErrorCode.None;
                case TransactionState.PrepareCommit:
                    return commit ? ErrorCode.ConcurrentTransactions : ErrorCode.InvalidTxnState;
                case TransactionState.PrepareAbort:
                    return commit ? ErrorCode.InvalidTxnState : ErrorCode.ConcurrentTransactions;
                case TransactionState.PrepareEpochFence or TransactionState.Dead:
                    return ErrorCode.ConcurrentTransactions;
                default:
                    return ErrorCode.InvalidTxnState;
            }

            var state = commit ? TransactionState.PrepareCommit : TransactionState.PrepareAbort;
            target = new TransactionRecord(txn.ProducerId, txn.ProducerEpoch, txn.LastProducerId, txn.LastProducerEpoch, txn.TimeoutMs,
                state, txn.Partitions.ToList(), txn.StartTimestampMs, NowMs);
            txn.Pending = state;
        }

        error = await PersistAsync(txn, owned!, target, cancellation).ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            return error;
        }

        LogEnding(_logger, transactionalId, commit ? "commit" : "abort", target.Partitions.Count);
        lock (txn)
        {
            StartCompletion(txn, owned!);
        }

        return ErrorCode.None;
    }

    /// <summary>
    /// Under the id's lock, with the id in PrepareCommit/PrepareAbort: sends the markers in the background, then writes
    /// CompleteCommit/CompleteAbort. Ends quietly when this broker stops coordinating (the next coordinator resumes).
    /// </summary>
    private void StartCompletion(TransactionMetadata txn, OwnedPartition owned)
    {
        var commit = txn.State == TransactionState.PrepareCommit;
        var request = new TransactionMarkerRequest(txn.TransactionalId, txn.ProducerId, txn.ProducerEpoch, commit, owned.CoordinatorEpoch,
            txn.Partitions.ToList());
        var task = Task.Run(() => CompleteAsync(txn, owned, request));
        _completions.TryAdd(task, 0);
        _ = task.ContinueWith(t => _completions.TryRemove(t, out _), TaskScheduler.Default);
    }

    private async Task CompleteAsync(TransactionMetadata txn, OwnedPartition owned, TransactionMarkerRequest request)
    {
        var cancellation = owned.Stopped;
        try
        {
            if (request.Partitions.Count > 0)
            {
                var sent = await _markers.SendAsync(request, cancellation).ConfigureAwait(false);
                if (sent != ErrorCode.None)
                {
                    // TRANSACTION_COORDINATOR_FENCED: a newer coordinator owns the id; it finishes the transaction.
                    LogMarkersFailed(_logger, txn.TransactionalId, sent.ToString());
                    return;
                }
            }

            while (!cancellation.IsCancellationRequested)
            {
                TransactionRecord target;
                lock (txn)
                {
                    if (txn.Removed || txn.Pending is not null || txn.ProducerEpoch != request.ProducerEpoch
                        || txn.State != (request.Commit ? TransactionState.PrepareCommit : TransactionState.PrepareAbort))
                    {
                        return;
                    }

                    var state = request.Commit ? TransactionState.CompleteCommit : TransactionState.CompleteAbort;
                    target = new TransactionRecord(txn.ProducerId, txn.ProducerEpoch, txn.LastProducerId, txn.LastProducerEpoch, txn.TimeoutMs,
                        state, [], txn.StartTimestampMs, NowMs);
                    txn.Pending = state;
                }

                var written = await PersistAsync(txn, owned, target, cancellation).ConfigureAwait(false);
                if (written == ErrorCode.None)
                {
                    LogCompleted(_logger, txn.TransactionalId, request.Commit ? "committed" : "aborted", request.Partitions.Count);
                    return;
                }

                if (written == ErrorCode.NotCoordinator)
                {
                    return;
                }

                await Task.Delay(_options.RetryBackoff, _time, cancellation).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogCompletionFailed(_logger, txn.TransactionalId, e);
        }
    }

    /// <summary>Aborts every open transaction older than its timeout, fencing its producer with a bumped epoch first (as Kafka).</summary>
    private void AbortTimedOutTransactions(long now)
    {
        foreach (var txn in _transactions.Values)
        {
            TransactionRecord target;
            OwnedPartition? owned;
            lock (txn)
            {
                if (txn.Removed || txn.Pending is not null || txn.State != TransactionState.Ongoing || txn.StartTimestampMs + txn.TimeoutMs > now
                    || OwnershipError(txn.StatePartition, out owned) != ErrorCode.None)
                {
                    continue;
                }

                target = FencedAbortRecord(txn, now);
                txn.Pending = TransactionState.PrepareAbort;
            }

            LogTimedOut(_logger, txn.TransactionalId, txn.TimeoutMs, target.ProducerEpoch);
            _ = AbortTimedOutAsync(txn, owned!, target);
        }
    }

    private async Task AbortTimedOutAsync(TransactionMetadata txn, OwnedPartition owned, TransactionRecord target)
    {
        if (await PersistAsync(txn, owned, target, owned.Stopped).ConfigureAwait(false) == ErrorCode.None)
        {
            lock (txn)
            {
                StartCompletion(txn, owned);
            }
        }
    }

    /// <summary>Removes transactional ids idle for longer than transactional.id.expiration.ms (a tombstone, then gone).</summary>
    private void RemoveExpiredTransactionalIds(long now)
    {
        foreach (var txn in _transactions.Values)
        {
            OwnedPartition? owned;
            lock (txn)
            {
                if (txn.Removed || txn.Pending is not null || !TransactionStates.IsIdle(txn.State)
                    || txn.LastUpdateTimestampMs + _options.TransactionalIdExpirationMs > now
                    || OwnershipError(txn.StatePartition, out owned) != ErrorCode.None)
                {
                    continue;
                }

                txn.Pending = TransactionState.Dead;
            }

            LogExpired(_logger, txn.TransactionalId);
            _ = PersistAsync(txn, owned!, null, owned!.Stopped);
        }
    }

    /// <summary>One id as DescribeTransactions reports it.</summary>
    public readonly record struct TransactionDescription(ErrorCode Error, string TransactionalId, string State, int TimeoutMs,
        long StartTimeMs, long ProducerId, short ProducerEpoch, IReadOnlyList<TopicPartitionKey> Partitions);

    public TransactionDescription Describe(string transactionalId)
    {
        if (string.IsNullOrEmpty(transactionalId))
        {
            return new TransactionDescription(ErrorCode.TransactionalIdNotFound, transactionalId ?? "", "", 0, -1, -1, -1, []);
        }

        var error = Find(transactionalId, out var txn, out _);
        if (error == ErrorCode.InvalidProducerIdMapping)
        {
            error = ErrorCode.TransactionalIdNotFound;
        }

        if (error != ErrorCode.None)
        {
            return new TransactionDescription(error, transactionalId, "", 0, -1, -1, -1, []);
        }

        lock (txn!)
        {
            if (txn.Removed)
            {
                return new TransactionDescription(ErrorCode.TransactionalIdNotFound, transactionalId, "", 0, -1, -1, -1, []);
            }

            return new TransactionDescription(ErrorCode.None, transactionalId, TransactionStates.Name(txn.State), txn.TimeoutMs,
                txn.StartTimestampMs, txn.ProducerId, txn.ProducerEpoch, txn.Partitions.ToList());
        }
    }

    /// <summary>One row of ListTransactions.</summary>
    public readonly record struct TransactionListing(string TransactionalId, long ProducerId, string State);

    /// <summary>
    /// The ids this broker coordinates, filtered by state names, producer ids and minimum running time (each filter empty or
    /// negative = all); COORDINATOR_LOAD_IN_PROGRESS while a partition is loading, with the ids loaded so far.
    /// </summary>
    public (ErrorCode Error, IReadOnlyList<string> UnknownStates, IReadOnlyList<TransactionListing> Transactions) List(
        IReadOnlyCollection<string> stateFilters, IReadOnlyCollection<long> producerIdFilters, long durationFilterMs)
    {
        var unknown = new List<string>();
        var states = new HashSet<TransactionState>();
        foreach (var name in stateFilters)
        {
            if (TransactionStates.Parse(name) is { } state)
            {
                states.Add(state);
            }
            else
            {
                unknown.Add(name);
            }
        }

        var error = _owned.Values.Any(o => !o.Loaded) ? ErrorCode.CoordinatorLoadInProgress : ErrorCode.None;
        var producers = producerIdFilters.ToHashSet();
        var now = NowMs;
        var listed = new List<TransactionListing>();
        foreach (var txn in _transactions.Values)
        {
            lock (txn)
            {
                if (txn.Removed
                    || (stateFilters.Count > 0 && !states.Contains(txn.State))
                    || (producers.Count > 0 && !producers.Contains(txn.ProducerId))
                    || (durationFilterMs >= 0 && (txn.StartTimestampMs < 0 || now - txn.StartTimestampMs <= durationFilterMs)))
                {
                    continue;
                }

                listed.Add(new TransactionListing(txn.TransactionalId, txn.ProducerId, TransactionStates.Name(txn.State)));
            }
        }

        return (error, unknown, listed.OrderBy(t => t.TransactionalId, StringComparer.Ordinal).ToList());
    }

    [LoggerMessage(EventId = 810, EventName = "TransactionalProducerInitialized", Level = LogLevel.Debug, Message = "Transactional id {TransactionalId} now has producer {ProducerId} epoch {ProducerEpoch}")]
    private static partial void LogInitialized(ILogger logger, string transactionalId, long producerId, short producerEpoch);

    [LoggerMessage(EventId = 811, EventName = "TransactionalProducerIdRotated", Level = LogLevel.Information, Message = "Transactional id {TransactionalId} exhausted the epochs of producer {OldProducerId}; continues as producer {NewProducerId}")]
    private static partial void LogProducerIdRotated(ILogger logger, string transactionalId, long oldProducerId, long newProducerId);

    [LoggerMessage(EventId = 812, EventName = "TransactionFencedOnInit", Level = LogLevel.Information, Message = "InitProducerId for {TransactionalId} fenced the open transaction (producer {ProducerId} now at epoch {ProducerEpoch}) and aborts it")]
    private static partial void LogFencedOpenTransaction(ILogger logger, string transactionalId, long producerId, short producerEpoch);

    [LoggerMessage(EventId = 813, EventName = "TransactionEnding", Level = LogLevel.Debug, Message = "Transactional id {TransactionalId} prepared to {Outcome} over {PartitionCount} partitions")]
    private static partial void LogEnding(ILogger logger, string transactionalId, string outcome, int partitionCount);

    [LoggerMessage(EventId = 814, EventName = "TransactionCompleted", Level = LogLevel.Debug, Message = "Transactional id {TransactionalId} {Outcome}: markers written on {PartitionCount} partitions")]
    private static partial void LogCompleted(ILogger logger, string transactionalId, string outcome, int partitionCount);

    [LoggerMessage(EventId = 815, EventName = "TransactionMarkersFailed", Level = LogLevel.Warning, Message = "Markers of transactional id {TransactionalId} were refused ({Error}); a newer coordinator completes it")]
    private static partial void LogMarkersFailed(ILogger logger, string transactionalId, string error);

    [LoggerMessage(EventId = 816, EventName = "TransactionCompletionFailed", Level = LogLevel.Error, Message = "Completing the transaction of {TransactionalId} failed")]
    private static partial void LogCompletionFailed(ILogger logger, string transactionalId, Exception exception);

    [LoggerMessage(EventId = 817, EventName = "TransactionTimedOut", Level = LogLevel.Information, Message = "Transaction of {TransactionalId} exceeded its timeout of {TimeoutMs} ms: fenced with epoch {ProducerEpoch} and aborted")]
    private static partial void LogTimedOut(ILogger logger, string transactionalId, int timeoutMs, short producerEpoch);

    [LoggerMessage(EventId = 818, EventName = "TransactionalIdExpired", Level = LogLevel.Information, Message = "Transactional id {TransactionalId} expired (idle longer than transactional.id.expiration.ms)")]
    private static partial void LogExpired(ILogger logger, string transactionalId);
}
