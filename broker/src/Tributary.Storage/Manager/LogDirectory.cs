using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Tributary.Storage;

/// <summary>One entry of log.dirs: its partition logs, checkpoint files and clean-shutdown marker.</summary>
internal sealed class LogDirectory : ILogCheckpointSink
{
    public const string CleanShutdownMarker = ".clean-shutdown";
    public const string DeletedDirectorySuffix = "-delete";
    public const string LockFileName = ".lock";

    private readonly Lock _checkpointLock = new();
    private readonly ILogger _logger;
    private FileStream? _lock;

    public LogDirectory(string path, ILogger logger)
    {
        Path = System.IO.Path.GetFullPath(path);
        _logger = logger;
    }

    public string Path { get; }

    public ConcurrentDictionary<TopicPartition, PartitionLog> Logs { get; } = new();

    public string CleanShutdownMarkerPath => System.IO.Path.Combine(Path, CleanShutdownMarker);

    /// <summary>
    /// Takes an exclusive lock on <c>.lock</c> so two brokers (or two managers) never share a directory; .NET maps FileShare.None
    /// to an advisory flock on Unix, released when the handle closes or the process dies.
    /// </summary>
    public void AcquireLock()
    {
        try
        {
            _lock = new FileStream(System.IO.Path.Combine(Path, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException exception)
        {
            throw new IOException($"Log directory {Path} is in use by another broker or log manager.", exception);
        }
    }

    public void ReleaseLock()
    {
        _lock?.Dispose();
        _lock = null;
    }

    public void CheckpointRecoveryPoints() => WriteCheckpoint(OffsetCheckpointFile.RecoveryPointFileName, log => log.RecoveryPoint);

    public void CheckpointLogStartOffsets() => WriteCheckpoint(OffsetCheckpointFile.LogStartOffsetFileName, log => log.LogStartOffset);

    public void CheckpointHighWatermarks() => WriteCheckpoint(OffsetCheckpointFile.HighWatermarkFileName, log => log.HighWatermark);

    /// <summary>Reads a checkpoint file of this directory; an unreadable one is logged and treated as empty (recovery scans more).</summary>
    public Dictionary<TopicPartition, long> ReadCheckpoint(string fileName)
    {
        string path = System.IO.Path.Combine(Path, fileName);
        try
        {
            return OffsetCheckpointFile.Read(path);
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException)
        {
            _logger.CheckpointUnreadable(path, exception.Message);
            return [];
        }
    }

    private void WriteCheckpoint(string fileName, Func<PartitionLog, long> offsetOf)
    {
        lock (_checkpointLock)
        {
            var entries = new List<KeyValuePair<TopicPartition, long>>();
            foreach (KeyValuePair<TopicPartition, PartitionLog> entry in Logs)
            {
                entries.Add(new(entry.Key, offsetOf(entry.Value)));
            }

            entries.Sort((a, b) => a.Key.Topic == b.Key.Topic
                ? a.Key.Partition.CompareTo(b.Key.Partition)
                : string.CompareOrdinal(a.Key.Topic, b.Key.Topic));
            OffsetCheckpointFile.Write(System.IO.Path.Combine(Path, fileName), entries);
        }
    }
}
