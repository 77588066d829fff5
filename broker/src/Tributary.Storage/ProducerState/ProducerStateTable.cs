using Tributary.Protocol.Records;

namespace Tributary.Storage;

/// <summary>
/// Per-partition producer state, Kafka's ProducerStateManager: producer id → epoch and latest batches. Rebuilt at open from the
/// newest snapshot plus the batches after it, updated by every append, checked by every leader append. Not thread-safe: the owning
/// <see cref="PartitionLog"/> reads and writes it under its append lock, so a sequence check and the append it admits are atomic.
/// </summary>
internal sealed class ProducerStateTable
{
    /// <summary>Batches remembered per producer; Kafka keeps the same five, matching the client's in-flight limit for idempotence.</summary>
    public const int RetainedBatchesPerProducer = 5;

    private readonly Dictionary<long, ProducerStateEntry> _producers = [];

    /// <summary>Open transactions by first offset: the oldest bounds the last stable offset.</summary>
    private readonly SortedSet<(long FirstOffset, long ProducerId)> _ongoing = [];

    public int Count => _producers.Count;

    /// <summary>First offset of the oldest open transaction, -1 when none is open.</summary>
    public long FirstOngoingOffset => _ongoing.Count == 0 ? -1 : _ongoing.Min.FirstOffset;

    /// <summary>Open transactions, oldest first.</summary>
    public IEnumerable<(long FirstOffset, long ProducerId)> OngoingTransactions => _ongoing;

    public IEnumerable<ProducerStateEntry> Entries => _producers.Values;

    public bool TryGet(long producerId, out ProducerStateEntry entry) => _producers.TryGetValue(producerId, out entry!);

    public void Clear()
    {
        _producers.Clear();
        _ongoing.Clear();
    }

    /// <summary>Adds a producer restored from a snapshot, replacing any entry with its id.</summary>
    public void Restore(ProducerStateEntry entry)
    {
        if (_producers.TryGetValue(entry.ProducerId, out ProducerStateEntry? previous) && previous.HasOngoingTransaction)
        {
            _ongoing.Remove((previous.CurrentTxnFirstOffset, previous.ProducerId));
        }

        _producers[entry.ProducerId] = entry;
        if (entry.HasOngoingTransaction)
        {
            _ongoing.Add((entry.CurrentTxnFirstOffset, entry.ProducerId));
        }
    }

    /// <summary>
    /// Judges the batches of a leader append against the state (and against earlier batches of the same append), Kafka's rules:
    /// an older epoch is fenced; a batch repeating a retained batch of the current epoch is a duplicate; a new epoch must start
    /// at sequence 0; otherwise the first sequence must follow the last one. An unknown producer may start at any sequence (its
    /// earlier batches may have been removed by retention, KIP-360).
    /// </summary>
    /// <param name="coordinatorOrigin">written by a coordinator of this broker (transactional offset commits): only the epoch is
    /// checked, as Kafka does for AppendOrigin.COORDINATOR; the batches carry no sequence.</param>
    public ProducerAppendResult Check(ReadOnlySpan<byte> batches, bool coordinatorOrigin = false)
    {
        // Produce v3+ carries one batch per partition; earlier batches of a multi-batch append are tracked here.
        PendingBatch first = default;
        List<PendingBatch>? more = null;
        var enumerator = new RecordBatchEnumerator(batches);
        while (enumerator.MoveNext())
        {
            RecordBatchHeader header = enumerator.CurrentHeader;
            long producerId = header.ProducerId;
            if (producerId < 0 || header.IsControl)
            {
                // Control batches are the broker's own (transaction markers, checked by CheckMarker); Produce refuses them.
                continue;
            }

            short epoch = header.ProducerEpoch;
            int firstSequence = header.BaseSequence;
            if (coordinatorOrigin)
            {
                if (_producers.TryGetValue(producerId, out ProducerStateEntry? known) && epoch < known.Epoch)
                {
                    return new ProducerAppendResult(ProducerAppendStatus.InvalidProducerEpoch,
                        Message: $"Epoch {epoch} of producer {producerId} is smaller than its last seen epoch {known.Epoch}.");
                }

                continue;
            }

            if (firstSequence < 0)
            {
                return new ProducerAppendResult(ProducerAppendStatus.InvalidSequence,
                    Message: $"Invalid sequence number {firstSequence} in a record batch of producer {producerId}.");
            }

            int lastSequence = IncrementSequence(firstSequence, header.LastOffsetDelta);
            short currentEpoch;
            int currentLastSequence;
            if (first.ProducerId == producerId && first.IsSet)
            {
                (currentEpoch, currentLastSequence) = (first.Epoch, first.LastSequence);
            }
            else if (FindPending(more, producerId) is { } pending)
            {
                (currentEpoch, currentLastSequence) = (pending.Epoch, pending.LastSequence);
            }
            else if (_producers.TryGetValue(producerId, out ProducerStateEntry? entry))
            {
                if (epoch == entry.Epoch && entry.TryFindBatch(firstSequence, lastSequence, out ProducerBatchMetadata duplicate))
                {
                    return new ProducerAppendResult(ProducerAppendStatus.Duplicate, duplicate);
                }

                (currentEpoch, currentLastSequence) = (entry.Epoch, entry.LastSequence);
            }
            else
            {
                (currentEpoch, currentLastSequence) = (-1, -1);
            }

            if (epoch < currentEpoch)
            {
                return new ProducerAppendResult(ProducerAppendStatus.InvalidProducerEpoch,
                    Message: $"Epoch {epoch} of producer {producerId} is smaller than its last seen epoch {currentEpoch}.");
            }

            if (!header.IsTransactional && HasOngoingTransaction(producerId))
            {
                // Kafka's ProducerAppendInfo: once a producer's transaction is open here, only transactional batches may join it.
                return new ProducerAppendResult(ProducerAppendStatus.InvalidTxnState,
                    Message: $"Expected a transactional write from producer {producerId}, which has a transaction open in this partition.");
            }

            if (currentEpoch >= 0)
            {
                if (epoch != currentEpoch && firstSequence != 0)
                {
                    return new ProducerAppendResult(ProducerAppendStatus.OutOfOrderSequence,
                        Message: $"Invalid sequence number for new epoch {epoch} of producer {producerId}: {firstSequence} (seq. number), {currentEpoch} (current producer epoch).");
                }

                if (epoch == currentEpoch && !InSequence(currentLastSequence, firstSequence))
                {
                    return new ProducerAppendResult(ProducerAppendStatus.OutOfOrderSequence,
                        Message: $"Out of order sequence number for producer {producerId}: {firstSequence} (incoming seq. number), {currentLastSequence} (current end sequence number).");
                }
            }

            var admitted = new PendingBatch(producerId, epoch, lastSequence, IsSet: true);
            if (!first.IsSet || first.ProducerId == producerId)
            {
                first = admitted;
            }
            else
            {
                (more ??= []).Add(admitted);
            }
        }

        return ProducerAppendResult.Appended;
    }

    /// <summary>
    /// Judges a transaction marker for <paramref name="producerId"/> before it is written, Kafka's rules: a marker of an epoch older
    /// than the producer's latest is INVALID_PRODUCER_EPOCH; one from a coordinator epoch older than the producer's last marker is
    /// TRANSACTION_COORDINATOR_FENCED (a deposed coordinator). A marker for a producer with no open transaction is accepted (the
    /// coordinator retries markers until every partition acknowledges, and Kafka writes them).
    /// </summary>
    public ProducerAppendResult CheckMarker(long producerId, short producerEpoch, int coordinatorEpoch)
    {
        if (!_producers.TryGetValue(producerId, out ProducerStateEntry? entry))
        {
            return ProducerAppendResult.Appended;
        }

        if (producerEpoch < entry.Epoch)
        {
            return new ProducerAppendResult(ProducerAppendStatus.InvalidProducerEpoch,
                Message: $"Marker epoch {producerEpoch} of producer {producerId} is smaller than its last seen epoch {entry.Epoch}.");
        }

        if (coordinatorEpoch < entry.CoordinatorEpoch)
        {
            return new ProducerAppendResult(ProducerAppendStatus.TransactionCoordinatorFenced,
                Message: $"Coordinator epoch {coordinatorEpoch} of the marker for producer {producerId} is older than {entry.CoordinatorEpoch}.");
        }

        return ProducerAppendResult.Appended;
    }

    /// <summary>Whether <paramref name="producerId"/> has a transaction open in this partition.</summary>
    public bool HasOngoingTransaction(long producerId) =>
        _producers.TryGetValue(producerId, out ProducerStateEntry? entry) && entry.HasOngoingTransaction;

    /// <summary>Records the batches of an append whose offsets (and LogAppendTime) are final; no checks (also used for replay).</summary>
    public void Apply(ReadOnlySpan<byte> batches) => Apply(batches, null);

    /// <summary>
    /// <see cref="Apply(ReadOnlySpan{byte})"/>, adding the transactions completed by markers among the batches to
    /// <paramref name="completed"/> when it is given.
    /// </summary>
    public void Apply(ReadOnlySpan<byte> batches, List<CompletedTransaction>? completed)
    {
        var enumerator = new RecordBatchEnumerator(batches);
        while (enumerator.MoveNext())
        {
            RecordBatchHeader header = enumerator.CurrentHeader;
            EndTransactionMarker marker = default;
            bool isMarker = header.IsControl && EndTransactionMarker.TryRead(enumerator.Current, out marker);
            if (Apply(header, isMarker ? marker : null) is { } done)
            {
                completed?.Add(done);
            }
        }
    }

    /// <summary>
    /// Records one batch read from the log or just appended; <paramref name="marker"/> is the transaction marker of a control batch
    /// (null for data batches and for control batches that are not markers). Returns the transaction a marker completed.
    /// </summary>
    public CompletedTransaction? Apply(in RecordBatchHeader header, EndTransactionMarker? marker)
    {
        long producerId = header.ProducerId;
        if (producerId < 0)
        {
            return null;
        }

        if (header.IsControl)
        {
            return marker is { } end ? CompleteTransaction(header, end) : null;
        }

        if (!_producers.TryGetValue(producerId, out ProducerStateEntry? entry))
        {
            entry = new ProducerStateEntry(producerId, header.ProducerEpoch);
            _producers.Add(producerId, entry);
        }

        if (header.IsTransactional && !entry.HasOngoingTransaction)
        {
            entry.CurrentTxnFirstOffset = header.BaseOffset;
            _ongoing.Add((header.BaseOffset, producerId));
        }

        int firstSequence = header.BaseSequence;
        int lastSequence = firstSequence < 0 ? firstSequence : IncrementSequence(firstSequence, header.LastOffsetDelta);
        entry.Add(header.ProducerEpoch,
            new ProducerBatchMetadata(firstSequence, lastSequence, header.BaseOffset, header.LastOffset, header.MaxTimestamp));
        return null;
    }

    private CompletedTransaction CompleteTransaction(in RecordBatchHeader header, EndTransactionMarker marker)
    {
        long producerId = header.ProducerId;
        if (!_producers.TryGetValue(producerId, out ProducerStateEntry? entry))
        {
            entry = new ProducerStateEntry(producerId, header.ProducerEpoch);
            _producers.Add(producerId, entry);
        }

        entry.AdvanceEpoch(header.ProducerEpoch);
        // A marker with no open transaction (a retried marker) completes an empty one at its own offset, as in Kafka.
        long firstOffset = header.BaseOffset;
        if (entry.HasOngoingTransaction)
        {
            firstOffset = entry.CurrentTxnFirstOffset;
            _ongoing.Remove((firstOffset, producerId));
        }

        entry.CurrentTxnFirstOffset = -1;
        entry.CoordinatorEpoch = marker.CoordinatorEpoch;
        entry.LastTimestamp = header.MaxTimestamp;
        return new CompletedTransaction(producerId, firstOffset, header.BaseOffset, !marker.IsCommit);
    }

    /// <summary>
    /// Forgets producers whose latest batch is at least <paramref name="expirationMs"/> older than <paramref name="nowMs"/>
    /// (producer.id.expiration.ms); a forgotten producer may resume at any sequence, like an unknown one.
    /// </summary>
    public int RemoveExpired(long nowMs, long expirationMs)
    {
        List<long>? expired = null;
        foreach (ProducerStateEntry entry in _producers.Values)
        {
            // A producer with an open transaction is kept: its first offset holds the last stable offset back (Kafka does the same).
            if (nowMs - entry.LastTimestamp >= expirationMs && !entry.HasOngoingTransaction)
            {
                (expired ??= []).Add(entry.ProducerId);
            }
        }

        if (expired is null)
        {
            return 0;
        }

        foreach (long producerId in expired)
        {
            _producers.Remove(producerId);
        }

        return expired.Count;
    }

    /// <summary>The sequence after adding <paramref name="increment"/>, wrapping past int.MaxValue to 0 as Kafka's producers do.</summary>
    public static int IncrementSequence(int sequence, int increment) =>
        sequence > int.MaxValue - increment ? increment - (int.MaxValue - sequence) - 1 : sequence + increment;

    private static PendingBatch? FindPending(List<PendingBatch>? pending, long producerId)
    {
        if (pending is not null)
        {
            for (int i = pending.Count - 1; i >= 0; i--)
            {
                if (pending[i].ProducerId == producerId)
                {
                    return pending[i];
                }
            }
        }

        return null;
    }

    private static bool InSequence(int lastSequence, int nextSequence) =>
        nextSequence == (long)lastSequence + 1 || (nextSequence == 0 && lastSequence == int.MaxValue);

    private readonly record struct PendingBatch(long ProducerId, short Epoch, int LastSequence, bool IsSet);
}
