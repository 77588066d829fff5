using Microsoft.Extensions.Logging;
using Tributary.Storage.Retention;

namespace Tributary.Storage.Cleaner;

/// <summary>
/// The background log cleaner (Kafka's LogCleaner): <see cref="LogCleanerOptions.Threads"/> workers repeatedly pick the compacted
/// log most in need of cleaning (highest dirty ratio among those past min.cleanable.dirty.ratio, or any past max.compaction.lag.ms
/// or holding tombstones whose delete horizon passed), compact it, and back off when none is due. A log is cleaned by one worker
/// at a time; all workers share one I/O throttle.
/// </summary>
public sealed class LogCleaner : IDisposable
{
    private readonly LogCleanerOptions _options;
    private readonly Func<IReadOnlyList<PartitionLog>> _logs;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Action? _afterCleaning;
    private readonly Func<long> _clockMs;
    private readonly CancellationTokenSource _stopping = new();
    private readonly IoThrottler _throttler;
    private readonly HashSet<PartitionLog> _inProgress = [];
    private readonly HashSet<PartitionLog> _uncleanable = [];
    private readonly Lock _selectionLock = new();
    private readonly LastCleaningStats?[] _lastCleanings;
    private Task[] _workers = [];
    private long _lastRunMs;
    private double _maxDirtyRatio;
    private long _cleanings;
    private long _tombstonesRemoved;

    /// <param name="afterCleaning">runs after each committed cleaning (the log manager persists the cleaner checkpoints there).</param>
    public LogCleaner(LogCleanerOptions options, Func<IReadOnlyList<PartitionLog>> logs, TimeProvider? time = null, ILogger? logger = null,
        Action? afterCleaning = null)
    {
        _afterCleaning = afterCleaning;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logs);
        _options = options;
        _logs = logs;
        _time = time ?? TimeProvider.System;
        _clockMs = () => _time.GetUtcNow().ToUnixTimeMilliseconds();
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _throttler = new IoThrottler(options.IoMaxBytesPerSecond, _time, _stopping.Token);
        _lastCleanings = new LastCleaningStats?[Math.Max(1, options.Threads)];
        _lastRunMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
    }

    /// <summary>Test hook: called at each step of the swap protocol; throwing there simulates a crash at that step.</summary>
    internal Action<CleanerStep>? CrashPoint { get; set; }

    /// <summary>Logs the cleaner gave up on after an unexpected failure (Kafka's uncleanable partitions); cleared by a restart.</summary>
    public int UncleanableLogCount
    {
        get
        {
            lock (_selectionLock)
            {
                _uncleanable.RemoveWhere(log => log.IsClosed);
                return _uncleanable.Count;
            }
        }
    }

    /// <summary>log.cleaner.enable: false means no worker ever runs (and Kafka registers no cleaner gauges).</summary>
    public bool IsEnabled => _options.Enabled;

    /// <summary>The figures behind Kafka's LogCleaner and LogCleanerManager gauges, as of now.</summary>
    public LogCleanerSnapshot Snapshot()
    {
        long nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        Dictionary<string, int> uncleanable;
        List<LastCleaningStats> lastCleanings;
        lock (_selectionLock)
        {
            _uncleanable.RemoveWhere(log => log.IsClosed);
            uncleanable = _uncleanable.GroupBy(log => Path.GetDirectoryName(log.Directory) ?? log.Directory)
                .ToDictionary(group => group.Key, group => group.Count());
            lastCleanings = [.. _lastCleanings.Where(stats => stats.HasValue).Select(stats => stats!.Value)];
        }

        int dead = _stopping.IsCancellationRequested ? 0 : _workers.Count(worker => worker.IsCompleted);
        return new LogCleanerSnapshot(Math.Max(0, nowMs - Interlocked.Read(ref _lastRunMs)), Volatile.Read(ref _maxDirtyRatio),
            lastCleanings, dead, uncleanable, Interlocked.Read(ref _cleanings), Interlocked.Read(ref _tombstonesRemoved));
    }

    /// <summary>Starts the worker threads (no-op when the cleaner is disabled).</summary>
    public void Start()
    {
        if (!_options.Enabled || _workers.Length > 0)
        {
            return;
        }

        _workers = [.. Enumerable.Range(0, Math.Max(1, _options.Threads))
            .Select(worker => Task.Factory.StartNew(() => RunWorker(worker), TaskCreationOptions.LongRunning))];
    }

    /// <summary>Stops the workers, waiting for a cleaning in progress to finish or abandon its uncommitted output.</summary>
    public void Stop()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        Task.WaitAll(_workers);
    }

    public void Dispose()
    {
        Stop();
        _stopping.Dispose();
    }

    /// <summary>Compacts <paramref name="log"/> now, whatever its dirty ratio (tools and tests); null if nothing is cleanable.</summary>
    public CleaningResult? Clean(PartitionLog log, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (!TryClaim(log))
        {
            return null;
        }

        try
        {
            CleaningResult? result = NewCompactor().Clean(log, () => nowMs, CrashPoint);
            Record(result, worker: 0);
            return result;
        }
        finally
        {
            Release(log);
        }
    }

    /// <summary>One worker iteration: cleans the filthiest due log, if any; returns what was done (null: nothing was due).</summary>
    public CleaningResult? CleanFilthiestLog(long nowMs) => CleanFilthiestLog(() => nowMs, worker: 0);

    /// <param name="clockMs">read for the choice of log, then again by the compactor once it has taken the segments it cleans: a
    /// time read before that (the clock may move and segments roll meanwhile) would start the delete horizon of tombstones in
    /// segments closed after it too early.</param>
    private CleaningResult? CleanFilthiestLog(Func<long> clockMs, int worker)
    {
        PartitionLog? log = ClaimFilthiest(clockMs());
        if (log is null)
        {
            return null;
        }

        try
        {
            CleaningResult? result = NewCompactor().Clean(log, clockMs, CrashPoint);
            Record(result, worker);
            if (result is { Aborted: false })
            {
                _afterCleaning?.Invoke();
            }

            return result;
        }
        catch (CorruptRecordException exception)
        {
            // Not transient: retried, this log would fail every pass and, as the dirtiest, keep every other log from being cleaned.
            _logger.LogMarkedUncleanable(exception, log.TopicPartition);
            lock (_selectionLock)
            {
                _uncleanable.Add(log);
            }

            return null;
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // A log deleted or closed under the cleaner lands here too; its uncommitted .cleaned file is discarded at the next open.
            _logger.CleaningFailed(exception, log.TopicPartition);
            return null;
        }
        catch (Exception exception)
        {
            // A bug, not an I/O fault: like Kafka, stop cleaning this log (until restart) rather than fail on it forever; the
            // old segments stay authoritative, so nothing is lost.
            _logger.LogMarkedUncleanable(exception, log.TopicPartition);
            lock (_selectionLock)
            {
                _uncleanable.Add(log);
            }

            return null;
        }
        finally
        {
            Release(log);
        }
    }

    private LogCompactor NewCompactor() => new(_options.DedupeBufferBytes / Math.Max(1, _options.Threads), _throttler);

    private void Record(CleaningResult? result, int worker)
    {
        if (result is not { } done)
        {
            return;
        }

        lock (_selectionLock)
        {
            _lastCleanings[worker % _lastCleanings.Length] = new LastCleaningStats(done.BytesIn, done.BytesOut, done.ElapsedMs,
                done.BufferUtilization);
        }

        Interlocked.Add(ref _tombstonesRemoved, done.TombstonesRemoved);
        if (!done.Aborted)
        {
            Interlocked.Increment(ref _cleanings);
        }
    }

    private void RunWorker(int worker)
    {
        CancellationToken token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            CleaningResult? result;
            try
            {
                result = CleanFilthiestLog(_clockMs, worker);
            }
            catch (Exception exception)
            {
                // Whatever went wrong, a worker that dies stops compaction of every log on this broker for good: log and go on.
                _logger.CleanerPassFailed(exception);
                result = null;
            }

            if (result is null)
            {
                token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(Math.Max(1, _options.BackoffMs)));
            }
        }
    }

    private PartitionLog? ClaimFilthiest(long nowMs)
    {
        lock (_selectionLock)
        {
            Interlocked.Exchange(ref _lastRunMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
            PartitionLog? best = null;
            double bestRatio = -1;
            double maxDirtyRatio = 0;
            foreach (PartitionLog log in _logs())
            {
                LogConfig config = log.Config;
                if ((config.CleanupPolicy & CleanupPolicy.Compact) == 0 || log.IsClosed || log.IsOffline || _inProgress.Contains(log)
                    || _uncleanable.Contains(log))
                {
                    continue;
                }

                CleanableRange range;
                try
                {
                    LogSegment[] segments = log.CurrentSegments;
                    LogCompactor.EnsureDeleteHorizonKnown(log, segments);
                    range = CleanableRange.Compute(segments, config, log.CleanerCheckpoint, log.LogStartOffset, log.LastStableOffset,
                        log.EarliestDeleteHorizonMs, nowMs);
                }
                catch (Exception exception) when (exception is IOException or ObjectDisposedException)
                {
                    // Closed, deleted or truncated while we looked: the next round sees its new state.
                    continue;
                }
                catch (Exception exception)
                {
                    // Kafka's LogCleaningException: this log cannot even be assessed; stop trying it (until restart), not all logs.
                    _logger.LogMarkedUncleanable(exception, log.TopicPartition);
                    _uncleanable.Add(log);
                    continue;
                }

                maxDirtyRatio = Math.Max(maxDirtyRatio, range.DirtyRatio);
                if (!range.IsDue(config))
                {
                    if (_logger.IsEnabled(LogLevel.Debug))
                    {
                        _logger.CleanerSkipsLog(log.TopicPartition, log.CleanerCheckpoint, log.HighWatermark, log.CurrentSegments.Length,
                            range.EndIndex, range.FirstDirtyIndex, range.CleanBytes, range.DirtyBytes, range.DirtyRatio,
                            config.MinCleanableDirtyRatio, log.EarliestDeleteHorizonMs);
                    }

                    continue;
                }

                double ratio = range.MustClean ? double.MaxValue : range.DirtyRatio;
                if (ratio > bestRatio)
                {
                    best = log;
                    bestRatio = ratio;
                }
            }

            Volatile.Write(ref _maxDirtyRatio, maxDirtyRatio);
            if (best is not null)
            {
                _inProgress.Add(best);
            }

            return best;
        }
    }

    private bool TryClaim(PartitionLog log)
    {
        lock (_selectionLock)
        {
            return _inProgress.Add(log);
        }
    }

    private void Release(PartitionLog log)
    {
        lock (_selectionLock)
        {
            _inProgress.Remove(log);
        }
    }
}
