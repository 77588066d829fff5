namespace Tributary.Storage;

/// <summary>
/// Kafka's LeaderEpochFileCache: the partition's leader epochs with the first offset of each, oldest first, strictly increasing in
/// both epoch and start offset. Readers are lock-free (an immutable array is swapped on change); writers are serialized by the
/// owning <see cref="PartitionLog"/>'s append lock and persist with <see cref="Persist"/> before the data that depends on it.
/// </summary>
internal sealed class LeaderEpochCache
{
    /// <summary>Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET (OffsetForLeaderEpoch).</summary>
    public const int UndefinedEpoch = -1;

    public const long UndefinedEpochOffset = -1;

    private readonly string _path;
    private volatile EpochEntry[] _entries = [];

    public LeaderEpochCache(string partitionDirectory)
    {
        _path = LeaderEpochCheckpointFile.PathIn(partitionDirectory);
    }

    public string FilePath => _path;

    public IReadOnlyList<EpochEntry> Entries => _entries;

    /// <summary>The newest epoch with an entry, or <see cref="UndefinedEpoch"/>.</summary>
    public int LatestEpoch => _entries is [.., var last] ? last.Epoch : UndefinedEpoch;

    /// <summary>Replaces the entries (loaded or rebuilt at open); the caller guarantees they are strictly increasing.</summary>
    public void Reset(IEnumerable<EpochEntry> entries) => _entries = [.. entries];

    /// <summary>
    /// Records that <paramref name="epoch"/> starts at <paramref name="startOffset"/> when it is newer than the latest epoch. Kafka's
    /// assign also drops trailing entries that start at or after the new one (an epoch that was assigned but never written, e.g.
    /// a leader elected and replaced before any append). An older or equal epoch changes nothing: epochs never go backwards.
    /// </summary>
    /// <returns>true if the entries changed (the caller then persists them).</returns>
    public bool TryAssign(int epoch, long startOffset)
    {
        if (epoch < 0 || startOffset < 0)
        {
            return false;
        }

        EpochEntry[] entries = _entries;
        if (entries.Length > 0 && epoch <= entries[^1].Epoch)
        {
            return false;
        }

        int keep = entries.Length;
        while (keep > 0 && entries[keep - 1].StartOffset >= startOffset)
        {
            keep--;
        }

        _entries = [.. entries.AsSpan(0, keep), new EpochEntry(epoch, startOffset)];
        return true;
    }

    /// <summary>Drops every entry starting at or after <paramref name="endOffset"/> (Kafka's truncateFromEnd); true if any was dropped.</summary>
    public bool TruncateFromEnd(long endOffset)
    {
        EpochEntry[] entries = _entries;
        int keep = entries.Length;
        while (keep > 0 && entries[keep - 1].StartOffset >= endOffset)
        {
            keep--;
        }

        if (keep == entries.Length)
        {
            return false;
        }

        _entries = entries[..keep];
        return true;
    }

    /// <summary>
    /// The log start offset moved to <paramref name="startOffset"/> (Kafka's truncateFromStart): entries starting at or below it are
    /// dropped except the last of them, which now starts at <paramref name="startOffset"/>. True if anything changed.
    /// </summary>
    public bool TruncateFromStart(long startOffset)
    {
        EpochEntry[] entries = _entries;
        int removed = 0;
        while (removed < entries.Length && entries[removed].StartOffset <= startOffset)
        {
            removed++;
        }

        if (removed == 0 || (removed == 1 && entries[0].StartOffset == startOffset))
        {
            return false;
        }

        _entries = [new EpochEntry(entries[removed - 1].Epoch, startOffset), .. entries.AsSpan(removed)];
        return true;
    }

    /// <summary>Forgets every entry; true if there were any.</summary>
    public bool Clear()
    {
        if (_entries.Length == 0)
        {
            return false;
        }

        _entries = [];
        return true;
    }

    /// <summary>
    /// Kafka's LeaderEpochFileCache.endOffsetFor (the OffsetForLeaderEpoch answer): the largest known epoch ≤
    /// <paramref name="requestedEpoch"/> and the start offset of the next higher epoch, or <paramref name="logEndOffset"/> when the
    /// requested epoch is the latest. Edge cases, as Kafka's code has them:
    /// <list type="bullet">
    /// <item>requested = UNDEFINED_EPOCH (-1), an empty cache, or a requested epoch above every known one: (-1, -1).</item>
    /// <item>requested below the first known epoch: (requested, start offset of the first epoch). Kafka's doc comment still says
    /// UNDEFINED_EPOCH_OFFSET here, but since KAFKA-6361/KIP-279 the code answers with the first epoch's start so that a
    /// follower whose data the leader already deleted truncates to the leader's log start and replicates from there.</item>
    /// </list>
    /// </summary>
    public (int Epoch, long EndOffset) EndOffsetFor(int requestedEpoch, long logEndOffset)
    {
        EpochEntry[] entries = _entries;
        if (requestedEpoch == UndefinedEpoch || entries.Length == 0)
        {
            return (UndefinedEpoch, UndefinedEpochOffset);
        }

        if (requestedEpoch == entries[^1].Epoch)
        {
            return (requestedEpoch, logEndOffset);
        }

        // First entry with an epoch above the requested one.
        int higher = 0;
        while (higher < entries.Length && entries[higher].Epoch <= requestedEpoch)
        {
            higher++;
        }

        if (higher == entries.Length)
        {
            return (UndefinedEpoch, UndefinedEpochOffset);
        }

        return higher == 0
            ? (requestedEpoch, entries[0].StartOffset)
            : (entries[higher - 1].Epoch, entries[higher].StartOffset);
    }

    /// <summary>Writes the entries to <c>leader-epoch-checkpoint</c> (temp, fsync, rename, directory fsync).</summary>
    /// <exception cref="IOException">the write failed.</exception>
    public void Persist() => LeaderEpochCheckpointFile.Write(_path, _entries);
}
