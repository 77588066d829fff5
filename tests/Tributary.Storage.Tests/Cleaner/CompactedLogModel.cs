namespace Tributary.Storage.Tests.Cleaner;

/// <summary>
/// What a compacted log must hold, from every write made to it: below the first uncleanable offset (the active segment's base once
/// the cleaner has caught up) exactly the last write of each key, a tombstone only until delete.retention.ms after the cleaning
/// that first reached it (Kafka's KIP-534 delete horizon); from there on every write as it was made.
/// </summary>
internal sealed class CompactedLogModel(long deleteRetentionMs)
{
    private readonly List<ReadRecord> _writes = [];
    private readonly Dictionary<long, long> _tombstoneReachedAtMs = [];
    private long _reachedUpTo;

    public IReadOnlyList<ReadRecord> Writes => _writes;

    public void Written(long offset, string key, string? value, long timestamp) => _writes.Add(new ReadRecord(offset, key, value, timestamp));

    /// <summary>The cleaner cleans everything below <paramref name="cleanUpTo"/> at <paramref name="nowMs"/>: tombstones there that
    /// no cleaning reached before start their delete.retention.ms now.</summary>
    public void CleanedUpTo(long cleanUpTo, long nowMs)
    {
        foreach (ReadRecord write in _writes)
        {
            if (write.Value is null && write.Offset >= _reachedUpTo && write.Offset < cleanUpTo)
            {
                _tombstoneReachedAtMs.TryAdd(write.Offset, nowMs);
            }
        }

        _reachedUpTo = Math.Max(_reachedUpTo, cleanUpTo);
    }

    /// <summary>The records, in offset order, a reader must find once the cleaner has cleaned everything below
    /// <paramref name="cleanUpTo"/> at <paramref name="nowMs"/>.</summary>
    public List<ReadRecord> Expected(long cleanUpTo, long nowMs)
    {
        var lastBelow = new Dictionary<string, ReadRecord>();
        foreach (ReadRecord write in _writes.Where(w => w.Offset < cleanUpTo))
        {
            lastBelow[write.Key!] = write;
        }

        IEnumerable<ReadRecord> cleaned = lastBelow.Values.Where(last =>
            last.Value is not null || nowMs < _tombstoneReachedAtMs[last.Offset] + deleteRetentionMs);
        return [.. cleaned.Concat(_writes.Where(w => w.Offset >= cleanUpTo)).OrderBy(r => r.Offset)];
    }

    /// <summary>Live keys and their latest values (what a consumer reading from the start ends up with).</summary>
    public Dictionary<string, string> LiveKeys() => Compaction.Latest(_writes);

    /// <summary>Keys whose last write is a tombstone.</summary>
    public HashSet<string> DeletedKeys()
    {
        var last = new Dictionary<string, string?>();
        foreach (ReadRecord write in _writes)
        {
            last[write.Key!] = write.Value;
        }

        return [.. last.Where(entry => entry.Value is null).Select(entry => entry.Key)];
    }
}
