namespace Tributary.Storage;

/// <summary>Outcome of an append: the offsets assigned and what the produce response needs.</summary>
/// <param name="FirstOffset">offset of the first record appended.</param>
/// <param name="LastOffset">offset of the last record appended.</param>
/// <param name="MaxTimestamp">largest batch maxTimestamp of the appended batches (-1 if none).</param>
/// <param name="OffsetOfMaxTimestamp">base offset of the batch holding <paramref name="MaxTimestamp"/>.</param>
/// <param name="LogAppendTimeMs">the broker time stamped into the batches, or -1 under CreateTime (produce response field).</param>
/// <param name="LogStartOffset">log start offset after the append (produce response field).</param>
/// <param name="RecordCount">records appended (offsets consumed).</param>
/// <param name="SizeInBytes">bytes written.</param>
public readonly record struct LogAppendInfo(
    long FirstOffset,
    long LastOffset,
    long MaxTimestamp,
    long OffsetOfMaxTimestamp,
    long LogAppendTimeMs,
    long LogStartOffset,
    int RecordCount,
    int SizeInBytes);

/// <summary>Expected failures of <see cref="PartitionLog.Read"/>, mapped by the broker onto Kafka error codes.</summary>
public enum LogReadError
{
    None,

    /// <summary>The requested offset is below the log start offset or above the log end offset.</summary>
    OffsetOutOfRange,
}

/// <summary>Whole batches read from a partition log.</summary>
/// <param name="Error">None, or OffsetOutOfRange (then <paramref name="Records"/> is empty).</param>
/// <param name="Records">
/// Concatenated whole batches, empty when nothing is readable. From <see cref="PartitionLog.Read"/> an array that belongs to the
/// caller (nothing to return or dispose; the log never touches it again). From <see cref="PartitionLog.ReadRegion"/> memory backed
/// by a region of the segment file (<see cref="Tributary.Protocol.DeferredBytes"/>), read when written or first touched.
/// </param>
/// <param name="FirstOffset">baseOffset of the first returned batch (may be below the requested offset), -1 if empty.</param>
/// <param name="NextOffset">offset after the last returned batch, or the requested offset when empty.</param>
/// <param name="LogStartOffset">log start offset when the read was served.</param>
/// <param name="LogEndOffset">log end offset when the read was served.</param>
public readonly record struct LogReadResult(
    LogReadError Error,
    ReadOnlyMemory<byte> Records,
    long FirstOffset,
    long NextOffset,
    long LogStartOffset,
    long LogEndOffset);

/// <summary>A read-only view of one segment.</summary>
/// <param name="BaseOffset">first offset the segment may hold (its file name).</param>
/// <param name="SizeInBytes">bytes of complete batches.</param>
/// <param name="MaxTimestamp">largest batch maxTimestamp known for the segment, -1 if none.</param>
/// <param name="IsActive">true for the last segment, the only one appended to.</param>
public readonly record struct LogSegmentInfo(long BaseOffset, long SizeInBytes, long MaxTimestamp, bool IsActive);

/// <summary>Storage found records on disk it refuses to use (bad CRC, impossible length) outside of recovery.</summary>
public sealed class CorruptRecordException(string message) : IOException(message);

/// <summary>A follower append whose offsets do not continue the log.</summary>
public sealed class UnexpectedAppendOffsetException(string message, long expectedOffset, long actualOffset)
    : InvalidOperationException(message)
{
    public long ExpectedOffset { get; } = expectedOffset;
    public long ActualOffset { get; } = actualOffset;
}
