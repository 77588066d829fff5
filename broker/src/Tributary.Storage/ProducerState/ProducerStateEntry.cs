namespace Tributary.Storage;

/// <summary>
/// One producer's state in one partition: its latest epoch and the metadata of its latest batches of that epoch, enough to
/// recognise a retried batch among the up to five a producer may have in flight (max.in.flight.requests.per.connection ≤ 5 is
/// what idempotence requires of clients).
/// </summary>
internal sealed class ProducerStateEntry
{
    private readonly ProducerBatchMetadata[] _batches = new ProducerBatchMetadata[ProducerStateTable.RetainedBatchesPerProducer];
    private int _first;
    private int _count;

    public ProducerStateEntry(long producerId, short epoch)
    {
        ProducerId = producerId;
        Epoch = epoch;
    }

    public long ProducerId { get; }

    public short Epoch { get; private set; }

    /// <summary>maxTimestamp of the latest batch; -1 before the first.</summary>
    public long LastTimestamp { get; set; } = -1;

    /// <summary>Offset of the first batch of the producer's open transaction in this partition; -1 when none is open.</summary>
    public long CurrentTxnFirstOffset { get; set; } = -1;

    /// <summary>Coordinator epoch of the latest transaction marker written for this producer; -1 before any.</summary>
    public int CoordinatorEpoch { get; set; } = -1;

    /// <summary>The producer has a transaction open in this partition (its data is not yet stable).</summary>
    public bool HasOngoingTransaction => CurrentTxnFirstOffset >= 0;

    public int BatchCount => _count;

    /// <summary>Last sequence of the latest batch, -1 when no batch of the current epoch is known.</summary>
    public int LastSequence => _count == 0 ? -1 : Batch(_count - 1).LastSequence;

    /// <summary>The <paramref name="index"/>-th retained batch, oldest first.</summary>
    public ProducerBatchMetadata Batch(int index) => _batches[(_first + index) % _batches.Length];

    /// <summary>A retained batch with exactly this sequence range: the batch being retried.</summary>
    public bool TryFindBatch(int firstSequence, int lastSequence, out ProducerBatchMetadata batch)
    {
        for (int i = 0; i < _count; i++)
        {
            ProducerBatchMetadata candidate = Batch(i);
            if (candidate.FirstSequence == firstSequence && candidate.LastSequence == lastSequence)
            {
                batch = candidate;
                return true;
            }
        }

        batch = default;
        return false;
    }

    /// <summary>Records a batch of <paramref name="epoch"/>; a new epoch forgets the batches of the previous one (Kafka does the same).</summary>
    public void Add(short epoch, ProducerBatchMetadata batch)
    {
        if (epoch != Epoch)
        {
            Epoch = epoch;
            _first = 0;
            _count = 0;
        }

        if (_count == _batches.Length)
        {
            _batches[_first] = batch;
            _first = (_first + 1) % _batches.Length;
        }
        else
        {
            _batches[(_first + _count) % _batches.Length] = batch;
            _count++;
        }

        LastTimestamp = batch.Timestamp;
    }

    /// <summary>
    /// A transaction marker of <paramref name="epoch"/> was written: a newer epoch (the coordinator bumped it, KIP-890 / fencing)
    /// replaces the current one and forgets its batches, so a batch of the older epoch is fenced from now on.
    /// </summary>
    public void AdvanceEpoch(short epoch)
    {
        if (epoch > Epoch)
        {
            Epoch = epoch;
            _first = 0;
            _count = 0;
        }
    }

    public ProducerStateView ToView()
    {
        var batches = new ProducerBatchMetadata[_count];
        for (int i = 0; i < _count; i++)
        {
            batches[i] = Batch(i);
        }

        return new ProducerStateView(ProducerId, Epoch, LastTimestamp, batches, CoordinatorEpoch, CurrentTxnFirstOffset);
    }
}
