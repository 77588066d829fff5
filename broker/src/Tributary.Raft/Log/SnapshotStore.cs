using System.Buffers.Binary;
using System.Globalization;
using Tributary.Protocol.IO;
using Tributary.Protocol.Records;

namespace Tributary.Raft.Log;

/// <summary>A snapshot: the state through <see cref="LastIndex"/> (1-based log index, inclusive) whose entry was
/// appended in <see cref="LastTerm"/>, as opaque <see cref="Data"/> (the records, <see cref="RaftBatchCodec"/>).</summary>
/// <remarks>Kafka names a snapshot by its end offset (exclusive) and epoch; our 1-based last index is that end offset.</remarks>
internal sealed record RaftSnapshot(long LastIndex, long LastTerm, byte[] Data)
{
    /// <summary>The 0-based offset of the last entry the snapshot includes.</summary>
    public long LastOffset => LastIndex - 1;
}

/// <summary>The snapshots of one node (Kafka's <c>&lt;endOffset&gt;-&lt;epoch&gt;.checkpoint</c> files, KIP-630), the
/// newest <see cref="Keep"/> of them.</summary>
/// <remarks>File layout: <c>int32 magic "TRSN", int8 format (0), int64 lastIndex, int64 lastTerm, int32 dataLength,
/// uint32 crc32c(data), data</c>. Written to a temp file, fsynced, renamed, directory fsynced; older ones are deleted
/// once the new one is durable and published. On open the newest intact one is used (a corrupt newest one, e.g. from a disk fault, is
/// skipped with the next older one used, and reported). Every size read from a file is bounded by
/// <see cref="MaxBytes"/>. Without a directory (tests) snapshots live in memory only.</remarks>
internal sealed class SnapshotStore
{
    public const int Keep = 2;
    private const int Magic = 0x5452534E; // "TRSN"
    private const sbyte FormatV0 = 0;
    private const int HeaderBytes = 4 + 1 + 8 + 8 + 4 + 4;
    private const string Suffix = ".checkpoint";

    private readonly string? _directory;

    private SnapshotStore(string? directory, int maxBytes)
    {
        _directory = directory;
        MaxBytes = maxBytes;
    }

    /// <summary>Upper bound on a snapshot's data, on disk and on the wire.</summary>
    public int MaxBytes { get; }

    /// <summary>The newest snapshot, or null.</summary>
    public RaftSnapshot? Latest { get; private set; }

    /// <summary>Snapshot files found corrupt on open (skipped).</summary>
    public IReadOnlyList<string> CorruptFiles { get; private set; } = [];

    public static SnapshotStore InMemory(int maxBytes) => new(null, maxBytes);

    /// <summary>Opens the store in <paramref name="directory"/> (created if missing) and loads the newest intact snapshot.</summary>
    public static SnapshotStore Open(string directory, int maxBytes)
    {
        Directory.CreateDirectory(directory);
        var store = new SnapshotStore(directory, maxBytes);
        var corrupt = new List<string>();
        foreach (var (path, _, _) in store.Files().OrderByDescending(f => f.LastIndex))
        {
            try
            {
                store.Latest = store.Read(path);
                break;
            }
            catch (InvalidDataException)
            {
                corrupt.Add(path);
            }
        }

        store.CorruptFiles = corrupt;
        return store;
    }

    internal static string FileNameFor(long lastIndex, long lastTerm) =>
        lastIndex.ToString("D20", CultureInfo.InvariantCulture) + "-" + lastTerm.ToString("D10", CultureInfo.InvariantCulture) + Suffix;

    /// <summary>Stores <paramref name="snapshot"/> durably (<see cref="WriteFile"/>) and makes it the newest one
    /// (<see cref="Publish"/>).</summary>
    public void Save(RaftSnapshot snapshot)
    {
        WriteFile(snapshot);
        Publish(snapshot);
    }

    /// <summary>Writes the snapshot's file durably (temp, fsync, rename, directory fsync) without making it the latest:
    /// callers may do this off their lock, then <see cref="Publish"/> under it.</summary>
    /// <exception cref="ArgumentException">The data exceeds <see cref="MaxBytes"/>.</exception>
    public void WriteFile(RaftSnapshot snapshot)
    {
        if (snapshot.Data.Length > MaxBytes)
        {
            throw new ArgumentException($"Snapshot of {snapshot.Data.Length} bytes exceeds {MaxBytes}", nameof(snapshot));
        }

        if (_directory is null)
        {
            return;
        }

        string target = Path.Combine(_directory, FileNameFor(snapshot.LastIndex, snapshot.LastTerm));
        string temp = target + "." + Guid.NewGuid().ToString("N") + ".tmp";
        var header = new byte[HeaderBytes];
        BinaryPrimitives.WriteInt32BigEndian(header, Magic);
        header[4] = (byte)FormatV0;
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(5), snapshot.LastIndex);
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(13), snapshot.LastTerm);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(21), snapshot.Data.Length);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(25), Crc32C.Compute(snapshot.Data));
        using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            output.Write(header);
            output.Write(snapshot.Data);
            output.Flush(flushToDisk: true);
        }

        File.Move(temp, target, overwrite: true);
        _ = DirectorySync.TrySync(_directory);
    }

    /// <summary>Makes a snapshot whose file is written the newest one, and deletes all files but the newest
    /// <see cref="Keep"/>; a snapshot not newer than <see cref="Latest"/> is ignored (false).</summary>
    public bool Publish(RaftSnapshot snapshot)
    {
        if (Latest is not null && snapshot.LastIndex <= Latest.LastIndex)
        {
            return false;
        }

        Latest = snapshot;
        if (_directory is not null)
        {
            foreach (var (path, _, _) in Files().OrderByDescending(f => f.LastIndex).Skip(Keep))
            {
                File.Delete(path);
            }

            _ = DirectorySync.TrySync(_directory);
        }

        return true;
    }

    private IEnumerable<(string Path, long LastIndex, long LastTerm)> Files()
    {
        foreach (string path in Directory.EnumerateFiles(_directory!, "*" + Suffix))
        {
            string name = Path.GetFileName(path);
            int dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0
                && long.TryParse(name.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out long lastIndex)
                && long.TryParse(name.AsSpan(dash + 1, name.Length - dash - 1 - Suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long lastTerm))
            {
                yield return (path, lastIndex, lastTerm);
            }
        }
    }

    /// <exception cref="InvalidDataException">Not a whole, intact snapshot file of a size within bounds.</exception>
    private RaftSnapshot Read(string path)
    {
        using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var header = new byte[HeaderBytes];
        if (input.Length < HeaderBytes || input.Read(header) != HeaderBytes || BinaryPrimitives.ReadInt32BigEndian(header) != Magic
            || (sbyte)header[4] != FormatV0)
        {
            throw new InvalidDataException($"Snapshot {path} has no valid header");
        }

        long lastIndex = BinaryPrimitives.ReadInt64BigEndian(header.AsSpan(5));
        long lastTerm = BinaryPrimitives.ReadInt64BigEndian(header.AsSpan(13));
        int length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(21));
        uint crc = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(25));
        if (length < 0 || length > MaxBytes || input.Length != HeaderBytes + (long)length || lastIndex < 1 || lastTerm < 0)
        {
            throw new InvalidDataException($"Snapshot {path} claims {length} bytes through index {lastIndex} (file {input.Length} bytes, at most {MaxBytes})");
        }

        var data = new byte[length];
        input.ReadExactly(data);
        if (Crc32C.Compute(data) != crc)
        {
            throw new InvalidDataException($"Snapshot {path} fails its checksum");
        }

        return new RaftSnapshot(lastIndex, lastTerm, data);
    }
}
