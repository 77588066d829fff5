using Tributary.Protocol.Records;

namespace Tributary.Storage.Cleaner;

/// <summary>
/// What the cleaner knows about transactions while it walks the batches of a log in offset order (the rules of Kafka's
/// CleanedTransactionMetadata, our own code): which transactional batches belong to an aborted transaction (the aborted index says
/// so by producer and first offset) and may be removed, and whether a marker may go because none of its transaction's data was met.
/// </summary>
/// <remarks>
/// Markers are removed in two passes, as Kafka does: the first pass that meets a marker whose transaction has no data left stamps a
/// delete horizon on it (and drops its aborted-index entry); a pass after that horizon removes it. Until then a read_committed
/// consumer that read the data before it was cleaned still finds out how the transaction ended.
/// </remarks>
internal sealed class TransactionTracker
{
    private readonly Queue<AbortedTransaction> _pending;
    private readonly Dictionary<long, (AbortedTransaction Entry, bool DataSeen)> _ongoingAborted = [];
    private readonly HashSet<long> _ongoingCommitted = [];
    private readonly List<AbortedTransaction> _retained = [];

    /// <param name="aborted">the aborted transactions whose data or marker may lie in the walked range (any order).</param>
    public TransactionTracker(IEnumerable<AbortedTransaction> aborted)
    {
        _pending = new Queue<AbortedTransaction>(aborted.OrderBy(entry => entry.FirstOffset));
    }

    /// <summary>Aborted-index entries whose ABORT marker was met and must stay (data of the transaction was met in this walk).</summary>
    public IReadOnlyList<AbortedTransaction> RetainedAborted => _retained;

    /// <summary>A data batch was read: true if it belongs to an aborted transaction (its records may all be removed).</summary>
    public bool OnDataBatch(in RecordBatchHeader header)
    {
        EnqueueStartedBy(header.LastOffset);
        if (!header.IsTransactional)
        {
            return false;
        }

        if (_ongoingAborted.TryGetValue(header.ProducerId, out var aborted))
        {
            _ongoingAborted[header.ProducerId] = (aborted.Entry, true);
            return true;
        }

        _ongoingCommitted.Add(header.ProducerId);
        return false;
    }

    /// <summary>
    /// A control batch was read (<paramref name="marker"/> null for an empty one, emptied by an earlier cleaning): true if no data of its transaction was met, so the marker may be removed once its delete horizon has passed.
    /// </summary>
    public bool OnControlBatch(in RecordBatchHeader header, EndTransactionMarker? marker)
    {
        EnqueueStartedBy(header.LastOffset);
        if (marker is not { } end)
        {
            return true;
        }

        if (end.Type == ControlRecordType.Abort)
        {
            if (_ongoingAborted.Remove(header.ProducerId, out var aborted) && aborted.DataSeen)
            {
                _retained.Add(aborted.Entry);
                return false;
            }

            return true;
        }

        // COMMIT: removable if none of the transaction's batches was met.
        return !_ongoingCommitted.Remove(header.ProducerId);
    }

    private void EnqueueStartedBy(long offset)
    {
        while (_pending.TryPeek(out AbortedTransaction next) && next.FirstOffset <= offset)
        {
            _pending.Dequeue();
            _ongoingAborted.TryAdd(next.ProducerId, (next, false));
        }
    }
}
