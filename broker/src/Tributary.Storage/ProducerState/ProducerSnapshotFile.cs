using System.Buffers.Binary;
using Tributary.Protocol.Records;

namespace Tributary.Storage;

/// <summary>
/// The <c>&lt;20-digit offset&gt;.snapshot</c> file of a partition: the producer state after every batch below the offset in its
/// name. Our own format (big-endian), versioned and covered by a CRC-32C so a torn or stale file is detected and ignored:
/// <code>
/// int16 version (2) | uint32 crc32c of everything after it | int32 producerCount
/// producerCount × { int64 producerId | int16 epoch | int64 lastTimestamp | int32 coordinatorEpoch | int64 currentTxnFirstOffset
///                   | int32 batchCount (≤ 5)
///                   batchCount × { int32 firstSequence | int32 lastSequence | int64 firstOffset | int64 lastOffset | int64 timestamp } }
/// </code>
/// Version 2 added the transaction fields (coordinator epoch of the last marker, first offset of the open transaction or -1), so
/// a restart knows which transactions are still open without replaying the log from their start; version 1 files (no such
/// fields) are still read, as producers with no transaction.
/// Unlike Kafka's snapshot (which keeps only each producer's last batch) all five retained batches are kept, so duplicate detection
/// is as good after a restart as before it.
/// </summary>
internal static class ProducerSnapshotFile
{
    public const string Suffix = ".snapshot";
    public const short CurrentVersion = 2;
    private const short VersionWithoutTransactions = 1;

    /// <summary>Largest snapshot read back; about 1.5 million producers, far beyond what expiry lets a partition accumulate.</summary>
    public const int MaxFileBytes = 256 * 1024 * 1024;

    private const int HeaderSize = 2 + 4 + 4;
    private const int CrcOffset = 2;
    private const int ProducerHeaderSizeV1 = 8 + 2 + 8 + 4;
    private const int ProducerHeaderSize = 8 + 2 + 8 + 4 + 8 + 4;
    private const int BatchSize = 4 + 4 + 8 + 8 + 8;

    public static string PathFor(string directory, long offset) => LogSegment.FilePath(directory, offset, Suffix);

    /// <summary>Serializes the table; the caller decides where and how durably the bytes go.</summary>
    public static byte[] Serialize(ProducerStateTable table)
    {
        long size = HeaderSize;
        foreach (ProducerStateEntry entry in table.Entries)
        {
            size += ProducerHeaderSize + ((long)entry.BatchCount * BatchSize);
        }

        if (size > MaxFileBytes)
        {
            throw new InvalidOperationException($"A producer snapshot of {table.Count} producers would exceed {MaxFileBytes} bytes.");
        }

        var bytes = new byte[size];
        Span<byte> span = bytes;
        BinaryPrimitives.WriteInt16BigEndian(span, CurrentVersion);
        BinaryPrimitives.WriteInt32BigEndian(span[(CrcOffset + 4)..], table.Count);
        int position = HeaderSize;
        foreach (ProducerStateEntry entry in table.Entries)
        {
            BinaryPrimitives.WriteInt64BigEndian(span[position..], entry.ProducerId);
            BinaryPrimitives.WriteInt16BigEndian(span[(position + 8)..], entry.Epoch);
            BinaryPrimitives.WriteInt64BigEndian(span[(position + 10)..], entry.LastTimestamp);
            BinaryPrimitives.WriteInt32BigEndian(span[(position + 18)..], entry.CoordinatorEpoch);
            BinaryPrimitives.WriteInt64BigEndian(span[(position + 22)..], entry.CurrentTxnFirstOffset);
            BinaryPrimitives.WriteInt32BigEndian(span[(position + 30)..], entry.BatchCount);
            position += ProducerHeaderSize;
            for (int i = 0; i < entry.BatchCount; i++)
            {
                ProducerBatchMetadata batch = entry.Batch(i);
                BinaryPrimitives.WriteInt32BigEndian(span[position..], batch.FirstSequence);
                BinaryPrimitives.WriteInt32BigEndian(span[(position + 4)..], batch.LastSequence);
                BinaryPrimitives.WriteInt64BigEndian(span[(position + 8)..], batch.FirstOffset);
                BinaryPrimitives.WriteInt64BigEndian(span[(position + 16)..], batch.LastOffset);
                BinaryPrimitives.WriteInt64BigEndian(span[(position + 24)..], batch.Timestamp);
                position += BatchSize;
            }
        }

        BinaryPrimitives.WriteUInt32BigEndian(span[CrcOffset..], Crc32C.Compute(span[(CrcOffset + 4)..]));
        return bytes;
    }

    /// <summary>Writes the snapshot through a temp file and a rename, so a reader sees the old file or the whole new one.</summary>
    /// <param name="durable">fsync the file before the rename (clean close); a roll's snapshot skips it because the CRC catches a
    /// torn file after a crash and the log can always be replayed instead.</param>
    public static void Write(string path, ProducerStateTable table, bool durable)
    {
        byte[] bytes = Serialize(table);
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: durable);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads a snapshot into <paramref name="table"/> (cleared first); null on success, else why the file was refused.</summary>
    public static string? TryRead(string path, ProducerStateTable table)
    {
        table.Clear();
        byte[] bytes;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1))
        {
            if (stream.Length > MaxFileBytes)
            {
                return $"file is {stream.Length} bytes, more than the {MaxFileBytes} allowed";
            }

            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }

        string? error = Parse(bytes, table);
        if (error is not null)
        {
            table.Clear();
        }

        return error;
    }

    private static string? Parse(ReadOnlySpan<byte> span, ProducerStateTable table)
    {
        if (span.Length < HeaderSize)
        {
            return "file is shorter than its header";
        }

        short version = BinaryPrimitives.ReadInt16BigEndian(span);
        if (version is not (CurrentVersion or VersionWithoutTransactions))
        {
            return $"unknown version {version}";
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(span[CrcOffset..]) != Crc32C.Compute(span[(CrcOffset + 4)..]))
        {
            return "CRC mismatch";
        }

        int count = BinaryPrimitives.ReadInt32BigEndian(span[(CrcOffset + 4)..]);
        int producerHeaderSize = version == CurrentVersion ? ProducerHeaderSize : ProducerHeaderSizeV1;
        if (count < 0 || count > (span.Length - HeaderSize) / producerHeaderSize)
        {
            return $"impossible producer count {count}";
        }

        int position = HeaderSize;
        for (int p = 0; p < count; p++)
        {
            if (span.Length - position < producerHeaderSize)
            {
                return "truncated producer entry";
            }

            long producerId = BinaryPrimitives.ReadInt64BigEndian(span[position..]);
            short epoch = BinaryPrimitives.ReadInt16BigEndian(span[(position + 8)..]);
            long lastTimestamp = BinaryPrimitives.ReadInt64BigEndian(span[(position + 10)..]);
            int coordinatorEpoch = -1;
            long txnFirstOffset = -1;
            if (version == CurrentVersion)
            {
                coordinatorEpoch = BinaryPrimitives.ReadInt32BigEndian(span[(position + 18)..]);
                txnFirstOffset = BinaryPrimitives.ReadInt64BigEndian(span[(position + 22)..]);
            }

            int batchCount = BinaryPrimitives.ReadInt32BigEndian(span[(position + producerHeaderSize - 4)..]);
            position += producerHeaderSize;
            if (producerId < 0 || batchCount < 0 || batchCount > ProducerStateTable.RetainedBatchesPerProducer
                || span.Length - position < batchCount * BatchSize || txnFirstOffset < -1)
            {
                return $"invalid entry for producer {producerId}";
            }

            var entry = new ProducerStateEntry(producerId, epoch);
            for (int i = 0; i < batchCount; i++)
            {
                entry.Add(epoch, new ProducerBatchMetadata(
                    BinaryPrimitives.ReadInt32BigEndian(span[position..]),
                    BinaryPrimitives.ReadInt32BigEndian(span[(position + 4)..]),
                    BinaryPrimitives.ReadInt64BigEndian(span[(position + 8)..]),
                    BinaryPrimitives.ReadInt64BigEndian(span[(position + 16)..]),
                    BinaryPrimitives.ReadInt64BigEndian(span[(position + 24)..])));
                position += BatchSize;
            }

            entry.LastTimestamp = lastTimestamp;
            entry.CoordinatorEpoch = coordinatorEpoch;
            entry.CurrentTxnFirstOffset = txnFirstOffset;
            table.Restore(entry);
        }

        return position == span.Length ? null : "bytes after the last producer entry";
    }
}
