using System.Globalization;
using Microsoft.Extensions.Logging;
using Tributary.Protocol.IO;
using Tributary.Protocol.Records;
using Tributary.Storage.Cleaner;
using Tributary.Storage.Retention;

namespace Tributary.Storage;

/// <summary>Retention (time and size) and the segment replacement the log cleaner commits through.</summary>
/// <remarks>
/// Hook for producer state (helper P): <see cref="OnLogStartOffsetAdvanced"/> runs under the append lock after whole segments
/// were deleted and the log start offset moved (retention, DeleteRecords); implement it in the producer-state partial to drop
/// producers whose last batch is now below the log start offset.
/// </remarks>
public sealed partial class PartitionLog
{
    private readonly List<(LogSegment Segment, long CloseAtMs)> _retiredSegments = [];
    private long _cleanerCheckpoint;
    private long _earliestDeleteHorizonMs = UnknownDeleteHorizon;

    /// <summary>Marks <see cref="EarliestDeleteHorizonMs"/> as not yet computed (after open): the cleaner scans batch headers once.</summary>
    internal const long UnknownDeleteHorizon = long.MinValue;

    /// <summary>Called under the append lock once the log start offset moved forward and the segments below it are gone.</summary>
    partial void OnLogStartOffsetAdvanced(long logStartOffset);

    /// <summary>First offset not yet compacted (Kafka's cleaner checkpoint); the cleaner builds its key map from here on.</summary>
    public long CleanerCheckpoint
    {
        get => Volatile.Read(ref _cleanerCheckpoint);
        internal set => Volatile.Write(ref _cleanerCheckpoint, value);
    }

    /// <summary>Earliest KIP-534 delete horizon of a retained tombstone batch; long.MaxValue if none.</summary>
    internal long EarliestDeleteHorizonMs
    {
        get => Volatile.Read(ref _earliestDeleteHorizonMs);
        set => Volatile.Write(ref _earliestDeleteHorizonMs, value);
    }

    /// <summary>The segments, oldest first; the last one is active. For the cleaner, which treats all others as immutable.</summary>
    internal LogSegment[] CurrentSegments => _segments;

    internal ILogger Logger => _logger;

    /// <summary>
    /// Deletes whole segments past retention.ms (newest timestamp older than now − retention.ms) and then, oldest first, segments
    /// while the log stays above retention.bytes, moving the log start offset to the first kept segment. Only for logs with the
    /// delete cleanup policy. The active segment is deleted too when it qualifies (it is rolled first, as Kafka does), so an idle
    /// partition empties out. Returns the number of segments deleted.
    /// </summary>
    /// <remarks>
    /// As in Kafka, a segment is deleted only if everything up to the next segment's base offset (the log end offset for the active
    /// one) is below the high watermark: uncommitted records may still be needed by a follower or a new leader, and the new log start
    /// offset never passes the high watermark.
    /// </remarks>
    public int DeleteSegmentsPastRetention(long nowMs)
    {
        LogConfig config = _config;
        if ((config.CleanupPolicy & CleanupPolicy.Delete) == 0 || (config.RetentionMs < 0 && config.RetentionBytes < 0))
        {
            return 0;
        }

        var deleted = new List<(long BaseOffset, long Size, string Reason)>();
        long newStart;
        lock (_appendLock)
        {
            ThrowIfClosed();
            LogSegment[] segments = _segments;
            long highWatermark = _highWatermark;
            int count = 0;
            if (config.RetentionMs >= 0)
            {
                while (count < segments.Length && IsDeletable(segments, count) && UpperBoundOf(segments, count) <= highWatermark
                       && nowMs - LargestTimestampOf(segments[count]) > config.RetentionMs)
                {
                    deleted.Add((segments[count].BaseOffset, segments[count].Size, "retention.ms"));
                    count++;
                }
            }

            if (config.RetentionBytes >= 0)
            {
                long excess = SizeInBytes - config.RetentionBytes;
                for (int i = 0; i < count; i++)
                {
                    excess -= segments[i].Size;
                }

                while (count < segments.Length && IsDeletable(segments, count) && UpperBoundOf(segments, count) <= highWatermark
                       && excess - segments[count].Size >= 0)
                {
                    excess -= segments[count].Size;
                    deleted.Add((segments[count].BaseOffset, segments[count].Size, "retention.bytes"));
                    count++;
                }
            }

            if (count == 0)
            {
                return 0;
            }

            if (count == segments.Length)
            {
                // Kafka rolls an expired active segment so that it can be deleted like the others.
                Roll(_logEndOffset, nowMs, "retention deletes the active segment");
            }

            newStart = Math.Max(_logStartOffset, count < segments.Length ? segments[count].BaseOffset : _logEndOffset);
            Volatile.Write(ref _logStartOffset, newStart);
            DeleteSegmentsBelowStartOffset();
            TruncateEpochsFromStart(newStart);
            OnLogStartOffsetAdvanced(newStart);
        }

        _checkpointSink?.CheckpointLogStartOffsets();
        foreach ((long baseOffset, long size, string reason) in deleted)
        {
            _logger.SegmentDeletedByRetention(TopicPartition, baseOffset, size, reason);
        }

        _logger.LogStartOffsetAdvanced(TopicPartition, newStart, deleted.Count);
        return deleted.Count;
    }

    /// <summary>Closes the active segment now if it holds data (Kafka's Log.roll), so it becomes eligible for cleaning and retention.</summary>
    public void ForceRoll(long nowMs)
    {
        lock (_appendLock)
        {
            ThrowIfClosed();
            if (Active.Size > 0)
            {
                Roll(_logEndOffset, nowMs, "forced");
            }
        }
    }

    /// <summary>
    /// segment.ms as the roll check applies it: minus this segment's share of segment.jitter.ms, and capped by
    /// max.compaction.lag.ms on compacted logs (Kafka's LogConfig.maxSegmentMs), so dirty records become cleanable in time.
    /// </summary>
    internal static long RollIntervalMs(LogConfig config, long segmentBaseOffset)
    {
        long interval = config.SegmentMs;
        if ((config.CleanupPolicy & CleanupPolicy.Compact) != 0 && config.MaxCompactionLagMs > 0)
        {
            interval = Math.Min(interval, config.MaxCompactionLagMs);
        }

        if (config.SegmentJitterMs > 0)
        {
            // Kafka draws the jitter at random per segment; a hash of the base offset spreads rolls the same way without state.
            long jitter = (long)((ulong)HashCode.Combine(segmentBaseOffset) % (ulong)Math.Min(config.SegmentJitterMs, interval));
            interval -= jitter;
        }

        return Math.Max(1, interval);
    }

    /// <summary>
    /// Commits a cleaned replacement for <paramref name="group"/> (consecutive closed segments, replaced by one segment with the
    /// first one's base offset) through the swap protocol: <c>.cleaned</c> (complete and fsynced by the cleaner) is renamed to
    /// <c>&lt;base&gt;.log.&lt;end&gt;.swap</c> (the commit point), the old segments are deleted, and the swap file is renamed to
    /// <c>&lt;base&gt;.log</c>; the directory is fsynced after each step. <see cref="CompleteInterruptedCleaning"/> finishes or
    /// discards whatever a crash left. False (nothing changed, the cleaned file is deleted) if the segments changed meanwhile.
    /// </summary>
    internal bool TryReplaceSegments(LogSegment[] group, long[] expectedSizes, long groupEnd, string cleanedPath,
        IReadOnlyList<AbortedTransaction> groupAbortedIndex, Action<CleanerStep>? crashPoint)
    {
        lock (_appendLock)
        {
            lock (_flushLock)
            {
                LogSegment[] segments = _segments;
                int first = Array.IndexOf(segments, group[0]);
                bool unchanged = !_closed && _offlineCause is null && first >= 0 && first + group.Length < segments.Length
                    && segments[first + group.Length].BaseOffset == groupEnd;
                for (int i = 0; unchanged && i < group.Length; i++)
                {
                    unchanged = ReferenceEquals(segments[first + i], group[i]) && !group[i].IsDeleted && group[i].Size == expectedSizes[i];
                }

                if (!unchanged)
                {
                    File.Delete(cleanedPath);
                    File.Delete(CleanedTransactionIndexPath(Directory, group[0].BaseOffset));
                    return false;
                }

                long baseOffset = group[0].BaseOffset;
                string swapPath = SwapPath(Directory, baseOffset, groupEnd);
                string cleanedIndexPath = CleanedTransactionIndexPath(Directory, baseOffset);
                try
                {
                    // The group's new aborted index is written before the swap commits, so recovery installs it with the segment:
                    // entries of transactions whose data and marker the cleaning removed must not outlive them.
                    TransactionIndexFile.Write(cleanedIndexPath, groupAbortedIndex);
                    crashPoint?.Invoke(CleanerStep.BeforeSwapRename);
                    File.Move(cleanedPath, swapPath);
                    DirectorySync.TrySync(Directory);
                    crashPoint?.Invoke(CleanerStep.SwapCommitted);
                    for (int i = 0; i < group.Length; i++)
                    {
                        // Readers do not take the log's locks: the replaced segments stay readable until the new list is published.
                        group[i].DeleteFilesKeepingReadersOpen();
                        if (i == 0)
                        {
                            crashPoint?.Invoke(CleanerStep.OldSegmentsPartlyDeleted);
                        }
                    }

                    DirectorySync.TrySync(Directory);
                    crashPoint?.Invoke(CleanerStep.OldSegmentsDeleted);
                    InstallCleanedTransactionIndex(Directory, baseOffset, groupEnd);
                    File.Move(swapPath, LogSegment.FilePath(Directory, baseOffset, LogSegment.LogSuffix));
                    DirectorySync.TrySync(Directory);
                    crashPoint?.Invoke(CleanerStep.SwapRenamed);
                    LogConfig config = _config;
                    LogSegment cleaned = LogSegment.OpenExisting(Directory, baseOffset, config, _time.GetUtcNow().ToUnixTimeMilliseconds());
                    cleaned.Scan(verifyCrc: false, baseOffset, config.IndexIntervalBytes);
                    cleaned.SealTimeIndex();
                    cleaned.Flush();
                    _segments = [.. segments[..first], cleaned, .. segments[(first + group.Length)..]];
                    RetireReplacedSegments(group, config.FileDeleteDelayMs);
                    ReplaceAbortedTransactions(baseOffset, groupEnd, groupAbortedIndex);
                    SyncTransactionIndexFiles();
                    return true;
                }
                catch (IOException exception)
                {
                    // Half-way through the swap the segment list no longer matches the files: go offline, reopening recovers.
                    _offlineCause = exception;
                    throw;
                }
            }
        }
    }

    /// <summary>
    /// Under the flush lock, once the segments replacing <paramref name="replaced"/> are published: their files are already gone,
    /// but a fetch that took them from the old list may still be writing a region of one into a response. Like Kafka's
    /// file.delete.delay.ms, their handles close only after that grace (at a later swap, or when the log closes).
    /// </summary>
    private void RetireReplacedSegments(LogSegment[] replaced, long graceMs)
    {
        long nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        _retiredSegments.RemoveAll(retired =>
        {
            bool due = retired.CloseAtMs <= nowMs;
            if (due)
            {
                retired.Segment.Dispose();
            }

            return due;
        });
        foreach (LogSegment segment in replaced)
        {
            _retiredSegments.Add((segment, nowMs + graceMs));
        }
    }

    /// <summary>Closes every retired segment now (the log is closing).</summary>
    private void DisposeRetiredSegments()
    {
        foreach ((LogSegment segment, _) in _retiredSegments)
        {
            segment.Dispose();
        }

        _retiredSegments.Clear();
    }

    /// <summary>
    /// Run at open, before segments are listed: deletes <c>.cleaned</c> files (cleaning not committed) and completes every swap
    /// (committed): segment files in the swap's offset range are deleted, then the swap file becomes the segment.
    /// </summary>
    internal static void CompleteInterruptedCleaning(string directory, TopicPartition topicPartition, ILogger logger)
    {
        bool changed = false;
        var committedSwapBases = new HashSet<long>();
        foreach (string path in System.IO.Directory.EnumerateFiles(directory, "*" + SwapSuffix))
        {
            if (TryParseSwapName(Path.GetFileName(path), out long swapBase, out _))
            {
                committedSwapBases.Add(swapBase);
            }
        }

        foreach (string path in System.IO.Directory.EnumerateFiles(directory, "*" + CleanedSuffix))
        {
            string name = Path.GetFileName(path);
            if (name.EndsWith(TransactionIndexFile.Suffix + CleanedSuffix, StringComparison.Ordinal)
                && TryParseBaseOffset(name[..^CleanedSuffix.Length], TransactionIndexFile.Suffix, out long indexBase)
                && committedSwapBases.Contains(indexBase))
            {
                // The aborted index of a committed swap: installed with it below.
                continue;
            }

            File.Delete(path);
            logger.CleaningDiscarded(topicPartition, path);
            changed = true;
        }

        foreach (string path in System.IO.Directory.EnumerateFiles(directory, "*" + SwapSuffix))
        {
            if (!TryParseSwapName(Path.GetFileName(path), out long baseOffset, out long endOffset))
            {
                continue;
            }

            foreach (string segmentPath in System.IO.Directory.EnumerateFiles(directory, "*" + LogSegment.LogSuffix))
            {
                if (TryParseBaseOffset(Path.GetFileName(segmentPath), LogSegment.LogSuffix, out long segmentBase)
                    && segmentBase >= baseOffset && segmentBase < endOffset)
                {
                    File.Delete(segmentPath);
                }
            }

            foreach (string suffix in new[] { LogSegment.OffsetIndexSuffix, LogSegment.TimeIndexSuffix })
            {
                foreach (string indexPath in System.IO.Directory.EnumerateFiles(directory, "*" + suffix))
                {
                    if (TryParseBaseOffset(Path.GetFileName(indexPath), suffix, out long indexBase) && indexBase >= baseOffset && indexBase < endOffset)
                    {
                        File.Delete(indexPath);
                    }
                }
            }

            DirectorySync.TrySync(directory);
            InstallCleanedTransactionIndex(directory, baseOffset, endOffset);
            File.Move(path, LogSegment.FilePath(directory, baseOffset, LogSegment.LogSuffix));
            logger.CleaningCompletedAtOpen(topicPartition, baseOffset, endOffset);
            changed = true;
        }

        if (changed)
        {
            DirectorySync.TrySync(directory);
        }
    }

    /// <summary>
    /// Part of a committed swap of [<paramref name="baseOffset"/>, <paramref name="endOffset"/>): the index files of the replaced
    /// segments other than the first go, then the group's cleaned index (if not installed yet) replaces the first one's. Every step
    /// can be repeated after a crash: once the cleaned file is gone, the base file is the installed one.
    /// </summary>
    private static void InstallCleanedTransactionIndex(string directory, long baseOffset, long endOffset)
    {
        foreach (string indexPath in System.IO.Directory.EnumerateFiles(directory, "*" + TransactionIndexFile.Suffix))
        {
            if (TryParseBaseOffset(Path.GetFileName(indexPath), TransactionIndexFile.Suffix, out long indexBase)
                && indexBase > baseOffset && indexBase < endOffset)
            {
                File.Delete(indexPath);
            }
        }

        string cleanedIndex = CleanedTransactionIndexPath(directory, baseOffset);
        if (File.Exists(cleanedIndex))
        {
            File.Move(cleanedIndex, TransactionIndexFile.PathFor(directory, baseOffset), overwrite: true);
        }

        DirectorySync.TrySync(directory);
    }

    internal static string CleanedTransactionIndexPath(string directory, long baseOffset) =>
        TransactionIndexFile.PathFor(directory, baseOffset) + CleanedSuffix;

    internal const string CleanedSuffix = ".cleaned";
    internal const string SwapSuffix = ".swap";

    internal static string CleanedPath(string directory, long baseOffset) =>
        LogSegment.FilePath(directory, baseOffset, LogSegment.LogSuffix + CleanedSuffix);

    internal static string SwapPath(string directory, long baseOffset, long endOffset) =>
        LogSegment.FilePath(directory, baseOffset,
            LogSegment.LogSuffix + "." + endOffset.ToString("D20", CultureInfo.InvariantCulture) + SwapSuffix);

    private static bool TryParseSwapName(string fileName, out long baseOffset, out long endOffset)
    {
        // <20 digits>.log.<20 digits>.swap
        endOffset = -1;
        int expected = 20 + LogSegment.LogSuffix.Length + 1 + 20 + SwapSuffix.Length;
        if (fileName.Length != expected || !TryParseBaseOffset(fileName[..(20 + LogSegment.LogSuffix.Length)], LogSegment.LogSuffix, out baseOffset))
        {
            baseOffset = -1;
            return false;
        }

        return long.TryParse(fileName.AsSpan(20 + LogSegment.LogSuffix.Length + 1, 20), NumberStyles.None, CultureInfo.InvariantCulture,
            out endOffset) && endOffset > baseOffset;
    }

    /// <summary>Under the append lock: the offset the log would start at if segment <paramref name="index"/> and those before it went.</summary>
    private long UpperBoundOf(LogSegment[] segments, int index) =>
        index + 1 < segments.Length ? segments[index + 1].BaseOffset : _logEndOffset;

    /// <summary>A segment is deletable if it is not the empty active segment (Kafka's isLastSegmentAndEmpty rule).</summary>
    private static bool IsDeletable(LogSegment[] segments, int index) => index < segments.Length - 1 || segments[index].Size > 0;

    /// <summary>The newest record timestamp of a segment; the file's modification time when no batch carries one (Kafka's rule).</summary>
    private static long LargestTimestampOf(LogSegment segment)
    {
        long timestamp = segment.MaxTimestampAndOffset.Timestamp;
        return timestamp >= 0 ? timestamp : new DateTimeOffset(File.GetLastWriteTimeUtc(segment.LogPath)).ToUnixTimeMilliseconds();
    }
}
