using System.Buffers.Binary;

namespace Tributary.Streams.Windows;

/// <summary>One window of one key in the store: its start, a second time (session end, or a sliding window's latest
/// record timestamp) and the serialized aggregate.</summary>
internal readonly record struct WindowEntry(long Start, long Time, byte[]? Aggregate);

/// <summary>
/// The stored form of one key's windows, the value of one changelog record: version byte 1, a big-endian int32 count,
/// then per window start (int64), time (int64), aggregate length (int32, −1 for null) and the aggregate bytes. Reads
/// are bounded by the buffer: a count or length that does not fit is a clear error, never an over-read.
/// </summary>
internal static class WindowEntries
{
    private const byte Version = 1;
    private const int HeaderSize = 1 + 4;
    private const int EntryHeaderSize = 8 + 8 + 4;

    public static byte[] Encode(IReadOnlyList<WindowEntry> entries)
    {
        var size = HeaderSize;
        foreach (var entry in entries)
        {
            size += EntryHeaderSize + (entry.Aggregate?.Length ?? 0);
        }

        var buffer = new byte[size];
        buffer[0] = Version;
        BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(1), entries.Count);
        var position = HeaderSize;
        foreach (var entry in entries)
        {
            BinaryPrimitives.WriteInt64BigEndian(buffer.AsSpan(position), entry.Start);
            BinaryPrimitives.WriteInt64BigEndian(buffer.AsSpan(position + 8), entry.Time);
            BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(position + 16), entry.Aggregate?.Length ?? -1);
            position += EntryHeaderSize;
            if (entry.Aggregate is { } aggregate)
            {
                aggregate.CopyTo(buffer.AsSpan(position));
                position += aggregate.Length;
            }
        }

        return buffer;
    }

    /// <summary>Decodes a stored value, in start order as written.</summary>
    /// <exception cref="InvalidDataException">the bytes are not a window list of this version.</exception>
    public static List<WindowEntry> Decode(byte[]? stored)
    {
        if (stored is null)
        {
            return [];
        }

        var span = stored.AsSpan();
        if (span.Length < HeaderSize || span[0] != Version)
        {
            throw new InvalidDataException($"Stored windows: expected version {Version} and a count, got {span.Length} bytes.");
        }

        var count = BinaryPrimitives.ReadInt32BigEndian(span[1..]);
        if (count < 0 || count > (span.Length - HeaderSize) / EntryHeaderSize)
        {
            throw new InvalidDataException($"Stored windows: count {count} does not fit in {span.Length} bytes.");
        }

        var entries = new List<WindowEntry>(count);
        var position = HeaderSize;
        for (var i = 0; i < count; i++)
        {
            if (span.Length - position < EntryHeaderSize)
            {
                throw new InvalidDataException($"Stored windows: window {i} of {count} is cut off at byte {position}.");
            }

            var start = BinaryPrimitives.ReadInt64BigEndian(span[position..]);
            var time = BinaryPrimitives.ReadInt64BigEndian(span[(position + 8)..]);
            var length = BinaryPrimitives.ReadInt32BigEndian(span[(position + 16)..]);
            position += EntryHeaderSize;
            byte[]? aggregate = null;
            if (length >= 0)
            {
                if (length > span.Length - position)
                {
                    throw new InvalidDataException($"Stored windows: aggregate of {length} bytes for window {i} exceeds the {span.Length - position} left.");
                }

                aggregate = span.Slice(position, length).ToArray();
                position += length;
            }
            else if (length != -1)
            {
                throw new InvalidDataException($"Stored windows: aggregate length {length} for window {i}.");
            }

            entries.Add(new WindowEntry(start, time, aggregate));
        }

        return position == span.Length
            ? entries
            : throw new InvalidDataException($"Stored windows: {span.Length - position} bytes left after {count} windows.");
    }
}
