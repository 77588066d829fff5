using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Protocol.IO;

namespace Tributary.Storage;

/// <summary>
/// Owns every partition log of this broker across its log directories: loading (with crash recovery) at start-up, creation,
/// deletion, the background flusher and the per-directory checkpoint files and clean-shutdown marker.
/// </summary>
public sealed partial class LogManager : IDisposable
{
    private readonly Lock _lifecycleLock = new();
    private readonly LogManagerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly LogDirectory[] _directories;
    private readonly List<Task> _pendingDeletions = [];
    private readonly CancellationTokenSource _stopping = new();
    private Task _background = Task.CompletedTask;
    private bool _closed;

    private LogManager(LogManagerOptions options, ILoggerFactory loggerFactory, TimeProvider time)
    {
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<LogManager>();
        _time = time;
        _directories = [.. options.LogDirs.Select(path => new LogDirectory(path, _logger))];
    }

    public IReadOnlyList<string> LogDirs => [.. _directories.Select(directory => directory.Path)];

    /// <summary>Snapshot of all open logs.</summary>
    public IReadOnlyList<PartitionLog> AllLogs => [.. _directories.SelectMany(directory => directory.Logs.Values)];

    /// <summary>
    /// Opens every log under the configured directories, recovering those not cleanly shut down, removes the clean-shutdown
    /// markers and starts the background flusher.
    /// </summary>
    public static LogManager Open(LogManagerOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.LogDirs.Count == 0)
        {
            throw new ArgumentException("At least one log directory is required.", nameof(options));
        }

        var manager = new LogManager(options, loggerFactory ?? NullLoggerFactory.Instance, time ?? TimeProvider.System);
        try
        {
            foreach (LogDirectory directory in manager._directories)
            {
                manager.LoadDirectory(directory);
            }
        }
        catch
        {
            manager.CloseLogsWithoutFlush();
            throw;
        }

        manager.StartRetentionAndCleaner();
        manager._background = Task.Run(() => manager.RunBackgroundAsync(manager._stopping.Token));
        return manager;
    }

    /// <summary>The log of the partition, created (in the least loaded directory) if it does not exist.</summary>
    public PartitionLog GetOrCreateLog(string topic, int partition, LogConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var topicPartition = new TopicPartition(topic, partition);
        lock (_lifecycleLock)
        {
            ThrowIfClosed();
            if (TryGetLog(topic, partition, out PartitionLog? existing))
            {
                return existing;
            }

            LogDirectory target = _directories.MinBy(directory => directory.Logs.Count)!;
            string path = Path.Combine(target.Path, topicPartition.DirectoryName);
            PartitionLog log = PartitionLog.Open(path, topicPartition, config, new LogLoadState(0, 0, HadCleanShutdown: false),
                _loggerFactory.CreateLogger<PartitionLog>(), _time, target);
            log.HighWatermarkFollowsLogEnd = _options.HighWatermarkFollowsLogEnd;
            DirectorySync.TrySync(target.Path);
            target.Logs[topicPartition] = log;
            return log;
        }
    }

    public bool TryGetLog(string topic, int partition, [NotNullWhen(true)] out PartitionLog? log)
    {
        var topicPartition = new TopicPartition(topic, partition);
        foreach (LogDirectory directory in _directories)
        {
            if (directory.Logs.TryGetValue(topicPartition, out log))
            {
                return true;
            }
        }

        log = null;
        return false;
    }

    /// <summary>
    /// Removes the partition's log: closes it, renames its directory to <c>&lt;topic&gt;-&lt;partition&gt;.&lt;id&gt;-delete</c> (so a
    /// restart never loads it) and deletes the files in the background. False if there is no such log.
    /// </summary>
    public bool DeleteLog(string topic, int partition)
    {
        var topicPartition = new TopicPartition(topic, partition);
        lock (_lifecycleLock)
        {
            ThrowIfClosed();
            foreach (LogDirectory directory in _directories)
            {
                if (!directory.Logs.TryRemove(topicPartition, out PartitionLog? log))
                {
                    continue;
                }

                log.CloseWithoutFlush();
                ForgetTopicId(topicPartition);
                string renamed = Path.Combine(directory.Path, string.Create(CultureInfo.InvariantCulture,
                    $"{topicPartition.DirectoryName}.{Guid.NewGuid():N}{LogDirectory.DeletedDirectorySuffix}"));
                Directory.Move(log.Directory, renamed);
                DirectorySync.TrySync(directory.Path);
                directory.CheckpointRecoveryPoints();
                directory.CheckpointLogStartOffsets();
                directory.CheckpointHighWatermarks();
                _pendingDeletions.RemoveAll(task => task.IsCompleted);
                _pendingDeletions.Add(Task.Run(() => DeleteDirectoryQuietly(renamed)));
                _logger.LogDeleted(topicPartition, renamed);
                return true;
            }

            return false;
        }
    }

    /// <summary>Writes recovery-point-offset-checkpoint in every directory.</summary>
    public void CheckpointRecoveryPoints()
    {
        foreach (LogDirectory directory in _directories)
        {
            directory.CheckpointRecoveryPoints();
        }
    }

    /// <summary>Writes log-start-offset-checkpoint in every directory.</summary>
    public void CheckpointLogStartOffsets()
    {
        foreach (LogDirectory directory in _directories)
        {
            directory.CheckpointLogStartOffsets();
        }
    }

    /// <summary>Writes replication-offset-checkpoint (every log's high watermark) in every directory.</summary>
    public void CheckpointHighWatermarks()
    {
        foreach (LogDirectory directory in _directories)
        {
            directory.CheckpointHighWatermarks();
        }
    }

    /// <summary>Flushes every log whose last flush is older than its flush.ms; what the background flusher runs each tick.</summary>
    public void FlushDueLogs()
    {
        long nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        // Runs every second over every hosted log: the dictionaries' own enumerators, not AllLogs, which copies every log into
        // a new array each time (issue 20: with 10,000 idle partitions that copy was a sixth of what an idle broker allocated).
        foreach (LogDirectory directory in _directories)
        {
            foreach ((_, PartitionLog log) in directory.Logs)
            {
                long intervalMs = log.Config.FlushIntervalMs;
                if (intervalMs != long.MaxValue && nowMs - log.LastFlushTimeMs >= intervalMs && log.LogEndOffset > log.RecoveryPoint)
                {
                    log.Flush();
                }
            }
        }
    }

    /// <summary>Clean shutdown: stops the flusher, flushes and closes every log, writes checkpoints and the clean-shutdown markers.</summary>
    public void Close()
    {
        lock (_lifecycleLock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
        }

        _stopping.Cancel();
        WaitQuietly(_background);
        StopCleaner(checkpoint: true);
        // Logs close in parallel, num.recovery.threads.per.data.dir at a time (as Kafka shuts down): each close is mostly fsyncs.
        var parallelism = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.RecoveryThreadsPerDataDir) };
        foreach (LogDirectory directory in _directories)
        {
            int failures = 0;
            Parallel.ForEach(directory.Logs.Values, parallelism, log =>
            {
                try
                {
                    log.Close();
                }
                catch (IOException exception)
                {
                    // Without the marker the next start scans this directory's logs from their recovery points.
                    Interlocked.Increment(ref failures);
                    _logger.BackgroundFlushFailed(exception, log.TopicPartition.ToString());
                }
            });

            bool allClosedCleanly = failures == 0;

            directory.CheckpointRecoveryPoints();
            directory.CheckpointLogStartOffsets();
            directory.CheckpointHighWatermarks();
            if (allClosedCleanly)
            {
                using (File.Create(directory.CleanShutdownMarkerPath))
                {
                }

                DirectorySync.TrySync(directory.Path);
            }

            directory.ReleaseLock();
        }

        Task.WaitAll([.. _pendingDeletions]);
        _stopping.Dispose();
    }

    public void Dispose() => Close();

    /// <summary>Stops everything without flushing, checkpointing or writing the clean-shutdown marker: a simulated crash (tests).</summary>
    internal void CloseWithoutFlush()
    {
        lock (_lifecycleLock)
        {
            _closed = true;
        }

        _stopping.Cancel();
        WaitQuietly(_background);
        StopCleaner(checkpoint: false);
        CloseLogsWithoutFlush();
        Task.WaitAll([.. _pendingDeletions]);
    }

    private void LoadDirectory(LogDirectory directory)
    {
        Directory.CreateDirectory(directory.Path);
        directory.AcquireLock();
        if (!DirectorySync.TrySync(directory.Path))
        {
            _logger.DirectorySyncUnavailable();
        }

        bool cleanShutdown = File.Exists(directory.CleanShutdownMarkerPath);
        Dictionary<TopicPartition, long> recoveryPoints = directory.ReadCheckpoint(OffsetCheckpointFile.RecoveryPointFileName);
        Dictionary<TopicPartition, long> logStartOffsets = directory.ReadCheckpoint(OffsetCheckpointFile.LogStartOffsetFileName);
        Dictionary<TopicPartition, long> highWatermarks = directory.ReadCheckpoint(OffsetCheckpointFile.HighWatermarkFileName);
        var toLoad = new List<(TopicPartition, string)>();
        foreach (string path in Directory.EnumerateDirectories(directory.Path))
        {
            string name = Path.GetFileName(path);
            if (name.EndsWith(LogDirectory.DeletedDirectorySuffix, StringComparison.Ordinal))
            {
                // A deletion interrupted by a restart: finish it.
                DeleteDirectoryQuietly(path);
                continue;
            }

            if (TopicPartition.TryParseDirectoryName(name, out TopicPartition topicPartition))
            {
                toLoad.Add((topicPartition, path));
            }
        }

        var parallelism = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.RecoveryThreadsPerDataDir) };
        Parallel.ForEach(toLoad, parallelism, item =>
        {
            (TopicPartition topicPartition, string path) = item;
            LogConfig config = _options.TopicConfig?.Invoke(topicPartition.Topic) ?? _options.DefaultConfig;
            var state = new LogLoadState(
                recoveryPoints.GetValueOrDefault(topicPartition, 0),
                logStartOffsets.GetValueOrDefault(topicPartition, 0),
                cleanShutdown,
                highWatermarks.GetValueOrDefault(topicPartition, 0));
            PartitionLog log = PartitionLog.Open(path, topicPartition, config, state, _loggerFactory.CreateLogger<PartitionLog>(), _time,
                directory);
            log.HighWatermarkFollowsLogEnd = _options.HighWatermarkFollowsLogEnd;
            directory.Logs[topicPartition] = log;
        });

        // Recovery points are now the log end offsets; persist them before the marker goes, so a crash from here on scans little.
        directory.CheckpointRecoveryPoints();
        directory.CheckpointLogStartOffsets();
        directory.CheckpointHighWatermarks();
        if (cleanShutdown)
        {
            File.Delete(directory.CleanShutdownMarkerPath);
            DirectorySync.TrySync(directory.Path);
        }

        _logger.LogDirectoryOpened(directory.Path, toLoad.Count, cleanShutdown);
    }

    private async Task RunBackgroundAsync(CancellationToken cancellationToken)
    {
        long intervalMs = Math.Max(1, _options.FlushSchedulerIntervalMs);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(intervalMs), _time);
        long lastRecoveryCheckpoint = _time.GetUtcNow().ToUnixTimeMilliseconds();
        long lastStartOffsetCheckpoint = lastRecoveryCheckpoint;
        long lastHighWatermarkCheckpoint = lastRecoveryCheckpoint;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                long nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
                RunQuietly("flush", FlushDueLogs);
                if (nowMs - lastRecoveryCheckpoint >= _options.RecoveryPointCheckpointIntervalMs)
                {
                    RunQuietly("recovery-point checkpoint", CheckpointRecoveryPoints);
                    lastRecoveryCheckpoint = nowMs;
                }

                if (nowMs - lastStartOffsetCheckpoint >= _options.LogStartOffsetCheckpointIntervalMs)
                {
                    RunQuietly("log-start-offset checkpoint", CheckpointLogStartOffsets);
                    lastStartOffsetCheckpoint = nowMs;
                }

                if (nowMs - lastHighWatermarkCheckpoint >= _options.HighWatermarkCheckpointIntervalMs)
                {
                    RunQuietly("high-watermark checkpoint", CheckpointHighWatermarks);
                    lastHighWatermarkCheckpoint = nowMs;
                }

                // Retention runs here; the log cleaner has its own threads (LogManager.Retention.cs).
                RunQuietly("retention", () => RunRetentionIfDue(nowMs));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void RunQuietly(string target, Action action)
    {
        try
        {
            action();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            // Hook: Kafka takes the log directory offline on I/O errors; for now the failure is logged and retried next tick.
            _logger.BackgroundFlushFailed(exception, target);
        }
    }

    private void DeleteDirectoryQuietly(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            _logger.DeletedLogRemovalFailed(exception, path);
        }
    }

    private void CloseLogsWithoutFlush()
    {
        foreach (LogDirectory directory in _directories)
        {
            foreach (PartitionLog log in directory.Logs.Values)
            {
                log.CloseWithoutFlush();
            }

            directory.ReleaseLock();
        }
    }

    private static void WaitQuietly(Task task)
    {
        try
        {
            task.Wait();
        }
        catch (AggregateException exception) when (exception.InnerExceptions.All(inner => inner is OperationCanceledException))
        {
        }
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(_closed, this);
}
