using System.Buffers.Binary;
using System.Globalization;
using Tributary.Protocol.IO;
using Tributary.Protocol.Records;

namespace Tributary.Raft.Log;

/// <summary>One entry of the Raft log: the epoch (term) it was appended in and the serialized record batch.</summary>
/// <remarks>An empty payload is the marker a new leader appends at the start of its epoch: Raft may only count
/// replicas for entries of the current term, so the marker is what lets a new leader commit its predecessors' tail.
/// Markers are handed to readers as batches without records.</remarks>
internal readonly record struct QuorumEntry(long Term, byte[] Payload)
{
    public bool IsEpochMarker => Payload.Length == 0;
}

/// <summary>The durable Raft log of one node: the entries after its latest snapshot, in one append-only file of
/// CRC-checked entries, held in memory.</summary>
/// <remarks>
/// <para>Indexes are 1-based as in the Raft paper (offset = index − 1). Everything through <see cref="SnapshotIndex"/>
/// lives in a snapshot (see <see cref="SnapshotStore"/>); the log holds <see cref="StartIndex"/> (= SnapshotIndex + 1)
/// to <see cref="LastIndex"/>. Index <see cref="SnapshotIndex"/> keeps its term (<see cref="TermAt"/>) for Raft's
/// consistency check; earlier indexes are gone.</para>
/// <para>File: <c>quorum-&lt;StartIndex, 20 digits&gt;.log</c> in the quorum directory (the log before snapshots,
/// <c>metadata-quorum.log</c>, is read as starting at 1); per entry <c>int32 bodyLength, uint32 crc32c(body),
/// body = int64 term + payload</c>. Entries are fsynced before this node acknowledges them (as follower) or counts
/// itself (as leader). A torn or corrupt tail (a crash mid-write) is cut off on open. Dropping the entries below a new
/// snapshot writes the remaining tail to a new file (temp, fsync, rename, directory fsync) and then deletes the old one,
/// so a crash at any point leaves one complete log that fits the latest snapshot.</para>
/// </remarks>
internal sealed class RaftLog : IDisposable
{
    private const int HeaderBytes = 8;
    private const int TermBytes = 8;
    private const string LegacyFileName = "metadata-quorum.log";
    private const string FilePrefix = "quorum-";
    private const string FileSuffix = ".log";

    private readonly List<QuorumEntry> _entries = [];
    private readonly List<long> _filePositions = [];
    private readonly string? _directory;
    private readonly int _maxPayloadBytes;
    private FileStream? _file;
    private long _snapshotIndex;
    private long _snapshotTerm;

    private RaftLog(string? directory, int maxPayloadBytes, long snapshotIndex, long snapshotTerm)
    {
        _directory = directory;
        _maxPayloadBytes = maxPayloadBytes;
        _snapshotIndex = snapshotIndex;
        _snapshotTerm = snapshotTerm;
    }

    /// <summary>Last index covered by the snapshot the log starts after (0: none).</summary>
    public long SnapshotIndex => _snapshotIndex;

    /// <summary>First index the log holds (it may hold none: then <see cref="LastIndex"/> = StartIndex − 1).</summary>
    public long StartIndex => _snapshotIndex + 1;

    public long LastIndex => _snapshotIndex + _entries.Count;

    public long LastTerm => TermAt(LastIndex);

    /// <summary>Bytes cut off the end of the file on open because they did not form whole, intact entries.</summary>
    public long TruncatedTailBytes { get; private set; }

    /// <summary>The path of the current log file (null in memory).</summary>
    public string? FilePath => _file?.Name;

    /// <summary>Opens the log in <paramref name="directory"/> that continues the snapshot through
    /// <paramref name="snapshotIndex"/> (0: none). Entries at or below it are dropped (rewriting the file).</summary>
    public static RaftLog Open(string directory, int maxPayloadBytes, long snapshotIndex, long snapshotTerm)
    {
        var log = new RaftLog(directory, maxPayloadBytes, snapshotIndex, snapshotTerm);
        try
        {
            log.Load();
        }
        catch
        {
            log.Dispose();
            throw;
        }

        return log;
    }

    /// <summary>A log held only in memory: an observer's copy of the committed prefix, re-read after a restart.</summary>
    public static RaftLog InMemory(int maxPayloadBytes, long snapshotIndex = 0, long snapshotTerm = 0) =>
        new(null, maxPayloadBytes, snapshotIndex, snapshotTerm);

    /// <summary>The term of the entry at <paramref name="index"/>; 0 for index 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index lies below the snapshot (gone) or beyond the log.</exception>
    public long TermAt(long index)
    {
        if (index == _snapshotIndex)
        {
            return _snapshotTerm;
        }

        if (index < _snapshotIndex || index > LastIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Log holds {_snapshotIndex} to {LastIndex}");
        }

        return _entries[checked((int)(index - StartIndex))].Term;
    }

    public QuorumEntry EntryAt(long index) => _entries[checked((int)(index - StartIndex))];

    /// <summary>Entries from <paramref name="fromIndex"/> (≥ <see cref="StartIndex"/>) on, at most <paramref name="maxCount"/>.</summary>
    public List<QuorumEntry> EntriesFrom(long fromIndex, int maxCount)
    {
        int start = checked((int)(fromIndex - StartIndex));
        int count = Math.Min(maxCount, _entries.Count - start);
        return count <= 0 ? [] : _entries.GetRange(start, count);
    }

    /// <summary>Appends and fsyncs; returns only once the entries are durable.</summary>
    public void Append(IReadOnlyList<QuorumEntry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        if (_file is null)
        {
            _entries.AddRange(entries);
            return;
        }

        _file.Seek(0, SeekOrigin.End);
        foreach (var entry in entries)
        {
            if (entry.Payload.Length > _maxPayloadBytes)
            {
                throw new ArgumentException($"Quorum entry of {entry.Payload.Length} bytes exceeds {_maxPayloadBytes}", nameof(entries));
            }

            long position = _file.Position;
            _file.Write(Frame(entry));
            _entries.Add(entry);
            _filePositions.Add(position);
        }

        _file.Flush(flushToDisk: true);
    }

    /// <summary>Drops <paramref name="fromIndex"/> and everything after it (a follower's uncommitted, conflicting tail).</summary>
    public void TruncateFrom(long fromIndex)
    {
        if (fromIndex > LastIndex)
        {
            return;
        }

        if (fromIndex <= _snapshotIndex)
        {
            throw new InvalidOperationException($"Cannot truncate from {fromIndex}: everything through {_snapshotIndex} is in a snapshot");
        }

        int start = checked((int)(fromIndex - StartIndex));
        if (_file is not null)
        {
            _file.SetLength(_filePositions[start]);
            _file.Flush(flushToDisk: true);
            _filePositions.RemoveRange(start, _filePositions.Count - start);
        }

        _entries.RemoveRange(start, _entries.Count - start);
    }

    /// <summary>The log now continues a snapshot through <paramref name="snapshotIndex"/>: entries at or below it are
    /// dropped (their file with them). When the log does not hold that index in that term (a follower or observer that
    /// installed the leader's snapshot), every entry goes: what follows comes from the leader.</summary>
    public void StartAfterSnapshot(long snapshotIndex, long snapshotTerm)
    {
        if (snapshotIndex <= _snapshotIndex)
        {
            return;
        }

        bool matches = snapshotIndex <= LastIndex && TermAt(snapshotIndex) == snapshotTerm;
        int drop = matches ? checked((int)(snapshotIndex - _snapshotIndex)) : _entries.Count;
        _entries.RemoveRange(0, drop);
        _snapshotIndex = snapshotIndex;
        _snapshotTerm = snapshotTerm;
        if (_directory is not null)
        {
            Rewrite();
        }
    }

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
    }

    /// <summary>The log file's start index from its name, or null for a file that is not a log file.</summary>
    internal static long? StartIndexOf(string fileName)
    {
        if (fileName == LegacyFileName)
        {
            return 1;
        }

        if (fileName.StartsWith(FilePrefix, StringComparison.Ordinal) && fileName.EndsWith(FileSuffix, StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(FilePrefix.Length, fileName.Length - FilePrefix.Length - FileSuffix.Length),
                NumberStyles.None, CultureInfo.InvariantCulture, out long start) && start >= 1)
        {
            return start;
        }

        return null;
    }

    internal static string FileNameFor(long startIndex) =>
        FilePrefix + startIndex.ToString("D20", CultureInfo.InvariantCulture) + FileSuffix;

    private static byte[] Frame(QuorumEntry entry)
    {
        var frame = new byte[HeaderBytes + TermBytes + entry.Payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, TermBytes + entry.Payload.Length);
        BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(HeaderBytes), entry.Term);
        entry.Payload.CopyTo(frame.AsSpan(HeaderBytes + TermBytes));
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), Crc32C.Compute(frame.AsSpan(HeaderBytes)));
        return frame;
    }

    private void Load()
    {
        string directory = _directory!;
        Directory.CreateDirectory(directory);
        var files = Directory.EnumerateFiles(directory)
            .Select(path => (Path: path, Start: StartIndexOf(Path.GetFileName(path))))
            .Where(f => f.Start is not null)
            .Select(f => (f.Path, Start: f.Start!.Value))
            .OrderBy(f => f.Start)
            .ToList();
        // The file that continues the snapshot: the newest one starting at or before the snapshot's next index. A newer
        // file can only exist for a newer snapshot, which Open's caller would have passed.
        var chosen = files.LastOrDefault(f => f.Start <= StartIndex);
        long fileStart = StartIndex;
        if (chosen.Path is not null)
        {
            fileStart = chosen.Start;
            _file = new FileStream(chosen.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, 4096, FileOptions.None);
            ReadEntries(fileStart);
        }

        bool obsoleteFiles = files.Any(f => f.Path != chosen.Path);
        if (chosen.Path is null || fileStart != StartIndex || chosen.Path != Path.Combine(directory, FileNameFor(StartIndex)) || obsoleteFiles)
        {
            Rewrite(); // a fresh file named after the snapshot; every other log file goes
        }
    }

    /// <summary>Reads the file's entries; those at or below the snapshot are skipped (they are in it).</summary>
    private void ReadEntries(long fileStart)
    {
        var file = _file!;
        long length = file.Length;
        var header = new byte[HeaderBytes];
        long position = 0;
        long index = fileStart;
        long lastTerm = 0;
        while (position + HeaderBytes <= length)
        {
            file.Position = position;
            file.ReadExactly(header);
            int bodyLength = BinaryPrimitives.ReadInt32BigEndian(header);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            if (bodyLength < TermBytes || bodyLength > TermBytes + _maxPayloadBytes || position + HeaderBytes + bodyLength > length)
            {
                break;
            }

            var body = new byte[bodyLength];
            file.ReadExactly(body);
            if (Crc32C.Compute(body) != crc)
            {
                break;
            }

            long term = BinaryPrimitives.ReadInt64BigEndian(body);
            if (term < lastTerm)
            {
                break; // terms never decrease along a Raft log; anything after this is not ours
            }

            lastTerm = term;
            if (index == _snapshotIndex && term != _snapshotTerm)
            {
                // This entry is not the one the snapshot ends with: everything from here was replaced by the leader.
                position = length;
                _entries.Clear();
                _filePositions.Clear();
                break;
            }

            if (index > _snapshotIndex)
            {
                _entries.Add(new QuorumEntry(term, body[TermBytes..]));
                _filePositions.Add(position);
            }

            position += HeaderBytes + bodyLength;
            index++;
        }

        if (position < length)
        {
            TruncatedTailBytes = length - position;
            file.SetLength(position);
            file.Flush(flushToDisk: true);
        }
    }

    /// <summary>Writes the entries held now to <c>quorum-&lt;StartIndex&gt;.log</c> (temp, fsync, rename, directory
    /// fsync), switches to it and deletes every other log file.</summary>
    private void Rewrite()
    {
        string directory = _directory!;
        string target = Path.Combine(directory, FileNameFor(StartIndex));
        string temp = target + ".tmp";
        _filePositions.Clear();
        using (var output = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            foreach (var entry in _entries)
            {
                _filePositions.Add(output.Position);
                output.Write(Frame(entry));
            }

            output.Flush(flushToDisk: true);
        }

        _file?.Dispose();
        File.Move(temp, target, overwrite: true);
        _ = DirectorySync.TrySync(directory);
        _file = new FileStream(target, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, 4096, FileOptions.None);
        foreach (string path in Directory.EnumerateFiles(directory))
        {
            if (path != target && StartIndexOf(Path.GetFileName(path)) is not null)
            {
                File.Delete(path);
            }
        }

        _ = DirectorySync.TrySync(directory);
    }
}
