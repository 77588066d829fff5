using Microsoft.Extensions.Logging;
using Tributary.Storage.Cleaner;
using Tributary.Storage.Retention;

namespace Tributary.Storage;

/// <summary>Retention checks on log.retention.check.interval.ms and the log cleaner's lifecycle and checkpoint.</summary>
public sealed partial class LogManager
{
    /// <summary>Per log directory: first offset not yet compacted, per partition (Kafka's cleaner-offset-checkpoint).</summary>
    internal const string CleanerCheckpointFileName = "cleaner-offset-checkpoint";

    private readonly Lock _cleanerCheckpointLock = new();
    private LogCleaner? _cleaner;
    private long _lastRetentionCheckMs;

    /// <summary>The log cleaner (null until the manager is open); compacts logs with cleanup.policy=compact in the background.</summary>
    public LogCleaner? Cleaner => _cleaner;

    /// <summary>Runs time and size retention over every log now; returns the number of segments deleted.</summary>
    public int EnforceRetention()
    {
        long nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        int deleted = 0;
        foreach (PartitionLog log in AllLogs)
        {
            try
            {
                deleted += log.DeleteSegmentsPastRetention(nowMs);
            }
            catch (Exception exception) when (exception is IOException or ObjectDisposedException or UnauthorizedAccessException)
            {
                // A log closed or deleted meanwhile, or an I/O fault (the log went offline): the others still get their retention.
                _logger.RetentionFailed(exception, log.TopicPartition);
            }
        }

        return deleted;
    }

    /// <summary>Writes cleaner-offset-checkpoint in every directory.</summary>
    public void CheckpointCleanerOffsets()
    {
        lock (_cleanerCheckpointLock)
        {
            foreach (LogDirectory directory in _directories)
            {
                WriteCleanerCheckpoint(directory);
            }
        }
    }

    private static void WriteCleanerCheckpoint(LogDirectory directory)
    {
        var entries = directory.Logs.Select(entry => new KeyValuePair<TopicPartition, long>(entry.Key, entry.Value.CleanerCheckpoint))
            .Where(entry => entry.Value > 0)
            .OrderBy(entry => entry.Key.Topic, StringComparer.Ordinal).ThenBy(entry => entry.Key.Partition)
            .ToList();
        OffsetCheckpointFile.Write(Path.Combine(directory.Path, CleanerCheckpointFileName), entries);
    }

    /// <summary>At open, after the logs are loaded: restores cleaner checkpoints and starts the cleaner.</summary>
    private void StartRetentionAndCleaner()
    {
        foreach (LogDirectory directory in _directories)
        {
            string path = Path.Combine(directory.Path, CleanerCheckpointFileName);
            Dictionary<TopicPartition, long> checkpoints;
            try
            {
                checkpoints = OffsetCheckpointFile.Read(path);
            }
            catch (Exception exception) when (exception is InvalidDataException or IOException)
            {
                _logger.CleanerCheckpointUnreadable(exception, path);
                continue;
            }

            foreach ((TopicPartition topicPartition, long offset) in checkpoints)
            {
                if (directory.Logs.TryGetValue(topicPartition, out PartitionLog? log))
                {
                    log.CleanerCheckpoint = offset;
                }
            }
        }

        _lastRetentionCheckMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        // Like Kafka, the checkpoint is written after every cleaning: a crash then costs at most the cleaning in progress.
        _cleaner = new LogCleaner(_options.Cleaner, () => AllLogs, _time, _loggerFactory.CreateLogger<LogCleaner>(),
            () => RunQuietly("cleaner checkpoint", CheckpointCleanerOffsets));
        _cleaner.Start();
    }

    /// <summary>Background tick: retention every log.retention.check.interval.ms, and the cleaner checkpoint with it.</summary>
    private void RunRetentionIfDue(long nowMs)
    {
        if (nowMs - _lastRetentionCheckMs < _options.RetentionCheckIntervalMs)
        {
            return;
        }

        _lastRetentionCheckMs = nowMs;
        EnforceRetention();
        CheckpointCleanerOffsets();
    }

    /// <summary>Stops the cleaner before logs close; with <paramref name="checkpoint"/> its progress is persisted.</summary>
    private void StopCleaner(bool checkpoint)
    {
        _cleaner?.Dispose();
        if (checkpoint && _cleaner is not null)
        {
            RunQuietly("cleaner checkpoint", CheckpointCleanerOffsets);
        }
    }
}
