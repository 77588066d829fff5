using System.Buffers.Binary;

namespace Tributary.Storage;

/// <summary>One aborted transaction of a partition (a row of Kafka's Fetch <c>aborted_transactions</c> and of the index).</summary>
/// <param name="ProducerId">the producer whose transaction was aborted.</param>
/// <param name="FirstOffset">offset of the transaction's first batch in this partition.</param>
/// <param name="LastOffset">offset of the ABORT marker.</param>
/// <param name="LastStableOffset">the LSO once the transaction ended (Kafka keeps the same field).</param>
public readonly record struct AbortedTransaction(long ProducerId, long FirstOffset, long LastOffset, long LastStableOffset);

/// <summary>
/// The <c>&lt;20-digit base offset&gt;.txnindex</c> file of a segment: the transactions aborted by a marker in that segment, in
/// marker order. Our own file, with the content Kafka's transaction index holds: fixed 34-byte big-endian entries
/// <code>int16 version (0) | int64 producerId | int64 firstOffset | int64 lastOffset | int64 lastStableOffset</code>
/// A partial entry at the end (a torn append) is ignored; an entry that cannot be right (wrong version, offsets out of order or
/// outside the segment) makes the whole file unusable, and the log is replayed instead.
/// </summary>
internal static class TransactionIndexFile
{
    public const string Suffix = ".txnindex";
    public const int EntrySize = 2 + 8 + 8 + 8 + 8;
    private const short CurrentVersion = 0;

    /// <summary>Largest file read back: far more aborted transactions than one segment can hold markers for (one per offset).</summary>
    public const long MaxFileBytes = 64L * 1024 * 1024;

    public static string PathFor(string directory, long segmentBaseOffset) => LogSegment.FilePath(directory, segmentBaseOffset, Suffix);

    /// <summary>Appends one entry (the file is created if absent).</summary>
    public static void Append(string path, in AbortedTransaction entry)
    {
        Span<byte> bytes = stackalloc byte[EntrySize];
        Encode(entry, bytes);
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 1);
        stream.Write(bytes);
    }

    /// <summary>fsyncs the file's appended entries; false if the file no longer exists (rewritten files are fsynced already).</summary>
    public static bool Sync(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
            stream.Flush(flushToDisk: true);
            return true;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Replaces the file with exactly <paramref name="entries"/> (through a temp file and a rename).</summary>
    public static void Write(string path, IReadOnlyList<AbortedTransaction> entries)
    {
        var bytes = new byte[entries.Count * EntrySize];
        for (int i = 0; i < entries.Count; i++)
        {
            Encode(entries[i], bytes.AsSpan(i * EntrySize, EntrySize));
        }

        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Adds the file's entries to <paramref name="into"/>; null on success, else why the file is unusable.</summary>
    public static string? Read(string path, long segmentBaseOffset, List<AbortedTransaction> into)
    {
        byte[] bytes;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1))
        {
            if (stream.Length > MaxFileBytes)
            {
                return $"file is {stream.Length} bytes, more than the {MaxFileBytes} allowed";
            }

            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }

        long previousLast = -1;
        for (int position = 0; position + EntrySize <= bytes.Length; position += EntrySize)
        {
            ReadOnlySpan<byte> span = bytes.AsSpan(position, EntrySize);
            short version = BinaryPrimitives.ReadInt16BigEndian(span);
            var entry = new AbortedTransaction(BinaryPrimitives.ReadInt64BigEndian(span[2..]), BinaryPrimitives.ReadInt64BigEndian(span[10..]),
                BinaryPrimitives.ReadInt64BigEndian(span[18..]), BinaryPrimitives.ReadInt64BigEndian(span[26..]));
            if (version != CurrentVersion)
            {
                return $"entry {position / EntrySize} has unknown version {version}";
            }

            if (entry.ProducerId < 0 || entry.FirstOffset < 0 || entry.FirstOffset > entry.LastOffset
                || entry.LastOffset < segmentBaseOffset || entry.LastOffset <= previousLast)
            {
                return $"entry {position / EntrySize} is impossible ({entry})";
            }

            previousLast = entry.LastOffset;
            into.Add(entry);
        }

        return null;
    }

    private static void Encode(in AbortedTransaction entry, Span<byte> destination)
    {
        BinaryPrimitives.WriteInt16BigEndian(destination, CurrentVersion);
        BinaryPrimitives.WriteInt64BigEndian(destination[2..], entry.ProducerId);
        BinaryPrimitives.WriteInt64BigEndian(destination[10..], entry.FirstOffset);
        BinaryPrimitives.WriteInt64BigEndian(destination[18..], entry.LastOffset);
        BinaryPrimitives.WriteInt64BigEndian(destination[26..], entry.LastStableOffset);
    }
}
