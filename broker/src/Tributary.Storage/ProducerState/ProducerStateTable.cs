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

    public int Count => _producers.Count;

    public IEnumerable<ProducerStateEntry> Entries => _producers.Values;

    public bool TryGet(long producerId, out ProducerStateEntry entry) => _producers.TryGetValue(producerId, out entry!);

    public void Clear() => _producers.Clear();

    /// <summary>Adds a producer restored from a snapshot, replacing any entry with its id.</summary>
    public void Restore(ProducerStateEntry entry) => _producers[entry.ProducerId] = entry;

    /// <summary>
    /// Judges the batches of a leader append against the state (and against earlier batches of the same append), Kafka's rules:
    /// an older epoch is fenced; a batch repeating a retained batch of the current epoch is a duplicate; a new epoch must start
    /// at sequence 0; otherwise the first sequence must follow the last one. An unknown producer may start at any sequence (its
    /// earlier batches may have been removed by retention, KIP-360).
    /// </summary>
    public ProducerAppendResult Check(ReadOnlySpan<byte> batches)
    {
        // Produce v3+ carries one batch per partition; earlier batches of a multi-batch append are tracked here.
        PendingBatch first = default;
        List<PendingBatch>? more = null;
        var enumerator = new RecordBatchEnumerator(batches);
        while (enumerator.MoveNext())
        {
            RecordBatchHeader header = enumerator.CurrentHeader;
            long producerId = header.ProducerId;
            if (producerId < 0)
            {
                continue;
            }

            short epoch = header.ProducerEpoch;
            int firstSequence = header.BaseSequence;
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

    /// <summary>Records the batches of an append whose offsets (and LogAppendTime) are final; no checks (also used for replay).</summary>
    public void Apply(ReadOnlySpan<byte> batches)
    {
        var enumerator = new RecordBatchEnumerator(batches);
        while (enumerator.MoveNext())
        {
            Apply(enumerator.CurrentHeader);
        }
    }

    /// <summary>Records one batch read from the log or just appended.</summary>
    public void Apply(in RecordBatchHeader header)
    {
        long producerId = header.ProducerId;
        if (producerId < 0 || header.IsControl)
        {
            return;
        }

        if (!_producers.TryGetValue(producerId, out ProducerStateEntry? entry))
        {
            entry = new ProducerStateEntry(producerId, header.ProducerEpoch);
            _producers.Add(producerId, entry);
        }

        int firstSequence = header.BaseSequence;
        int lastSequence = firstSequence < 0 ? firstSequence : IncrementSequence(firstSequence, header.LastOffsetDelta);
        entry.Add(header.ProducerEpoch,
            new ProducerBatchMetadata(firstSequence, lastSequence, header.BaseOffset, header.LastOffset, header.MaxTimestamp));
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
            if (nowMs - entry.LastTimestamp >= expirationMs)
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
