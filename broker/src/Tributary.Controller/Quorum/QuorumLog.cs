using System.Buffers.Binary;
using Tributary.Protocol.Records;

namespace Tributary.Controller.Quorum;

/// <summary>One entry of the Raft log: the epoch (term) it was appended in and the serialized record.</summary>
/// <remarks>An empty payload is the marker a new leader appends at the start of its epoch: Raft may only count
/// replicas for entries of the current term, so the marker is what lets a new leader commit its predecessors' tail.
/// Markers are never handed to appliers.</remarks>
internal readonly record struct QuorumEntry(long Term, byte[] Payload)
{
    public bool IsEpochMarker => Payload.Length == 0;
}

/// <summary>The durable Raft log of one voter: an append-only file of CRC-checked entries, fully held in memory.</summary>
/// <remarks>File layout per entry: <c>int32 bodyLength, uint32 crc32c(body), body = int64 term + payload</c>.
/// Entries are fsynced before this node acknowledges them (as follower) or counts itself (as leader), so a kill -9
/// cannot lose an entry the quorum committed. A torn or corrupt tail (a crash mid-write) is cut off on open.
/// TODO(issue 6): snapshots/compaction; until then the whole metadata log is replayed on start and kept in memory.
/// Indexes are 1-based as in the Raft paper; index 0 is the empty prefix with term 0.</remarks>
internal sealed class QuorumLog : IDisposable
{
    private const int HeaderBytes = 8;
    private const int TermBytes = 8;

    private readonly List<QuorumEntry> _entries = [];
    private readonly List<long> _filePositions = [];
    private readonly FileStream? _file;
    private readonly int _maxPayloadBytes;

    private QuorumLog(FileStream? file, int maxPayloadBytes)
    {
        _file = file;
        _maxPayloadBytes = maxPayloadBytes;
    }

    public long LastIndex => _entries.Count;

    public long LastTerm => TermAt(LastIndex);

    /// <summary>Bytes cut off the end of the file on open because they did not form whole, intact entries.</summary>
    public long TruncatedTailBytes { get; private set; }

    public static QuorumLog Open(string path, int maxPayloadBytes)
    {
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 4096, FileOptions.None);
        var log = new QuorumLog(file, maxPayloadBytes);
        try
        {
            log.Load();
        }
        catch
        {
            file.Dispose();
            throw;
        }

        return log;
    }

    /// <summary>A log held only in memory: an observer's copy of the committed prefix, re-read after a restart.</summary>
    public static QuorumLog InMemory(int maxPayloadBytes) => new(null, maxPayloadBytes);

    public long TermAt(long index) => index == 0 ? 0 : _entries[checked((int)index - 1)].Term;

    public QuorumEntry EntryAt(long index) => _entries[checked((int)index - 1)];

    /// <summary>Entries from <paramref name="fromIndex"/> on, at most <paramref name="maxCount"/>.</summary>
    public List<QuorumEntry> EntriesFrom(long fromIndex, int maxCount)
    {
        int start = checked((int)fromIndex - 1);
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
            foreach (var entry in entries)
            {
                _entries.Add(entry);
            }

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
            var frame = new byte[HeaderBytes + TermBytes + entry.Payload.Length];
            BinaryPrimitives.WriteInt32BigEndian(frame, TermBytes + entry.Payload.Length);
            BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(HeaderBytes), entry.Term);
            entry.Payload.CopyTo(frame.AsSpan(HeaderBytes + TermBytes));
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), Crc32C.Compute(frame.AsSpan(HeaderBytes)));
            _file.Write(frame);
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

        int start = checked((int)fromIndex - 1);
        if (_file is not null)
        {
            _file.SetLength(_filePositions[start]);
            _file.Flush(flushToDisk: true);
            _filePositions.RemoveRange(start, _filePositions.Count - start);
        }

        _entries.RemoveRange(start, _entries.Count - start);
    }

    public void Dispose() => _file?.Dispose();

    private void Load()
    {
        if (_file is null)
        {
            return;
        }

        long length = _file.Length;
        var header = new byte[HeaderBytes];
        long position = 0;
        while (position + HeaderBytes <= length)
        {
            _file.Position = position;
            _file.ReadExactly(header);
            int bodyLength = BinaryPrimitives.ReadInt32BigEndian(header);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            if (bodyLength < TermBytes || bodyLength > TermBytes + _maxPayloadBytes || position + HeaderBytes + bodyLength > length)
            {
                break;
            }

            var body = new byte[bodyLength];
            _file.ReadExactly(body);
            if (Crc32C.Compute(body) != crc)
            {
                break;
            }

            long term = BinaryPrimitives.ReadInt64BigEndian(body);
            if (term < LastTerm)
            {
                break; // terms never decrease along a Raft log; anything after this is not ours
            }

            _entries.Add(new QuorumEntry(term, body[TermBytes..]));
            _filePositions.Add(position);
            position += HeaderBytes + bodyLength;
        }

        if (position < length)
        {
            TruncatedTailBytes = length - position;
            _file.SetLength(position);
            _file.Flush(flushToDisk: true);
        }
    }
}
