using Microsoft.Extensions.Logging;
using Tributary.Metadata.Records;

namespace Tributary.Metadata;

/// <summary>When a node writes a metadata snapshot (Kafka's metadata.log.* keys, KIP-630).</summary>
public sealed record MetadataSnapshotOptions
{
    /// <summary>metadata.log.max.record.bytes.between.snapshots: record bytes applied since the last snapshot that make
    /// the next one due (Kafka's default, 20 MiB).</summary>
    public long MaxBytesBetweenSnapshots { get; init; } = 20L * 1024 * 1024;

    /// <summary>metadata.log.max.snapshot.interval.ms: a snapshot is also due this long after the last one when anything
    /// was applied since (Kafka's default, 1 hour); zero or less: no time-based snapshots.</summary>
    public TimeSpan MaxInterval { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>Writes a snapshot of the image (<see cref="MetadataImage.ToRecords"/>) to the metadata log every so many record
/// bytes or so much time (Kafka's SnapshotGenerator): every node runs one on its loader, so every node's log can be
/// truncated below its latest snapshot and restarts replay the snapshot plus the tail, not the whole history.</summary>
/// <remarks>The write runs off the publishing task (the image is immutable), one at a time; updates that arrive while
/// one runs are counted toward the next. A failed write is logged and retried at the next update.</remarks>
public sealed partial class MetadataSnapshotGenerator : IMetadataPublisher
{
    private readonly IMetadataLog _log;
    private readonly MetadataSnapshotOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;
    private long _bytesSinceSnapshot;
    private long _lastSnapshotAt;
    private Task _writing = Task.CompletedTask;

    public MetadataSnapshotGenerator(IMetadataLog log, MetadataSnapshotOptions options, TimeProvider time, ILogger logger,
        CancellationToken stopping = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxBytesBetweenSnapshots <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxBytesBetweenSnapshots,
                "metadata.log.max.record.bytes.between.snapshots must be positive");
        }

        _log = log;
        _options = options;
        _time = time;
        _logger = logger;
        _stopping = stopping;
        _lastSnapshotAt = time.GetTimestamp();
    }

    public string Name => "SnapshotGenerator";

    /// <summary>Record bytes applied since the last snapshot (or since start).</summary>
    public long BytesSinceSnapshot => Interlocked.Read(ref _bytesSinceSnapshot);

    /// <summary>The snapshot write in progress, or the last one (completed).</summary>
    public Task Writing => Volatile.Read(ref _writing);

    public void OnMetadataUpdate(MetadataDelta delta, MetadataImage newImage)
    {
        ArgumentNullException.ThrowIfNull(delta);
        ArgumentNullException.ThrowIfNull(newImage);
        if (delta.IsSnapshot)
        {
            // The image was just rebuilt from a stored snapshot: nothing new to save yet.
            Interlocked.Exchange(ref _bytesSinceSnapshot, 0);
            _lastSnapshotAt = _time.GetTimestamp();
            return;
        }

        long bytes = 0;
        foreach (var record in delta.Records)
        {
            bytes += MetadataRecordSerde.Serialize(record).Length;
        }

        var total = Interlocked.Add(ref _bytesSinceSnapshot, bytes);
        if (total == 0 || !_writing.IsCompleted || newImage.Offset <= _log.LatestSnapshotOffset || _stopping.IsCancellationRequested)
        {
            return;
        }

        var byBytes = total >= _options.MaxBytesBetweenSnapshots;
        var byTime = _options.MaxInterval > TimeSpan.Zero && _time.GetElapsedTime(_lastSnapshotAt) >= _options.MaxInterval;
        if (!byBytes && !byTime)
        {
            return;
        }

        Interlocked.Exchange(ref _bytesSinceSnapshot, 0);
        _lastSnapshotAt = _time.GetTimestamp();
        Volatile.Write(ref _writing, Task.Run(() => WriteAsync(newImage, total, byBytes ? "bytes" : "interval"), CancellationToken.None));
    }

    private async Task WriteAsync(MetadataImage image, long bytesSince, string reason)
    {
        try
        {
            var records = image.ToRecords();
            await _log.WriteSnapshotAsync(image.Offset, records, _stopping).ConfigureAwait(false);
            LogSnapshotWritten(_logger, image.Offset, records.Count, bytesSince, reason);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception e)
        {
            // Count the bytes again so the next update retries.
            Interlocked.Add(ref _bytesSinceSnapshot, bytesSince);
            LogSnapshotFailed(_logger, image.Offset, e);
        }
    }

    [LoggerMessage(EventId = 1215, EventName = "MetadataSnapshotWritten", Level = LogLevel.Information,
        Message = "Wrote a metadata snapshot through offset {Offset} ({Records} records) after {Bytes} record bytes (due by {Reason})")]
    private static partial void LogSnapshotWritten(ILogger logger, long offset, int records, long bytes, string reason);

    [LoggerMessage(EventId = 1216, EventName = "MetadataSnapshotFailed", Level = LogLevel.Warning,
        Message = "Writing a metadata snapshot through offset {Offset} failed; retrying at the next update")]
    private static partial void LogSnapshotFailed(ILogger logger, long offset, Exception exception);
}
