using Microsoft.Extensions.Logging;

namespace Tributary.Streams.Diagnostics;

/// <summary>Log events of the Streams library (ids 2200-2299, docs/log-events.md).</summary>
internal static partial class StreamsLog
{
    [LoggerMessage(EventId = 2201, EventName = "SessionRecordExpired", Level = LogLevel.Warning,
        Message = "Skipping record for expired session window: store {Store}, task {Task}, timestamp {Timestamp}, session [{Start},{End}], close time {CloseTime}, stream time {StreamTime}")]
    public static partial void SessionRecordExpired(ILogger logger, string store, string task, long timestamp, long start, long end, long closeTime, long streamTime);

    [LoggerMessage(EventId = 2202, EventName = "SlidingWindowExpired", Level = LogLevel.Warning,
        Message = "Skipping record for expired sliding window: store {Store}, task {Task}, timestamp {Timestamp}, window [{Start},{End}], close time {CloseTime}, stream time {StreamTime}")]
    public static partial void SlidingWindowExpired(ILogger logger, string store, string task, long timestamp, long start, long end, long closeTime, long streamTime);

    [LoggerMessage(EventId = 2203, EventName = "NullKeySkipped", Level = LogLevel.Warning,
        Message = "Skipping record with a null key: store {Store}, task {Task}, topic {Topic}, partition {Partition}, offset {Offset}")]
    public static partial void NullKeySkipped(ILogger logger, string store, string task, string topic, int partition, long offset);

    [LoggerMessage(EventId = 2204, EventName = "ExpiredWindowsRemoved", Level = LogLevel.Debug,
        Message = "Removed {Windows} windows past retention from store {Store} (task {Task}, stream time {StreamTime})")]
    public static partial void ExpiredWindowsRemoved(ILogger logger, int windows, string store, string task, long streamTime);
}
