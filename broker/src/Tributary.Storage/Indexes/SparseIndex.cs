using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Tributary.Storage;

/// <summary>Which of a segment's two sparse indexes a <see cref="SparseIndex"/> is.</summary>
internal enum IndexKind
{
    /// <summary><c>.index</c>: key = int32 offset relative to the segment base (of a batch's last offset), value = int32 file position.</summary>
    Offset,

    /// <summary><c>.timeindex</c>: key = int64 timestamp, value = int32 relative offset of the batch that first reached it.</summary>
    Time,
}

/// <summary>
/// A sparse, append-only index with strictly increasing keys and non-decreasing values, held in memory and written to its file
/// lazily (entries are persisted on flush, roll and close). A stale or torn file is harmless: recovery rebuilds it from the log.
/// </summary>
internal sealed class SparseIndex : IDisposable
{
    private readonly Lock _lock = new();
    private readonly string _path;
    private long[] _keys = new long[16];
    private int[] _values = new int[16];
    private int _count;
    private int _entriesInFile;
    private SafeFileHandle? _file;
    private bool _unsynced = true;

    public SparseIndex(string path, IndexKind kind, int maxEntries)
    {
        _path = path;
        Kind = kind;
        MaxEntries = Math.Max(1, maxEntries);
    }

    public IndexKind Kind { get; }

    public int EntrySize => Kind == IndexKind.Offset ? 8 : 12;

    public int MaxEntries { get; set; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    public bool IsFull => Count >= MaxEntries;

    public static int EntrySizeOf(IndexKind kind) => kind == IndexKind.Offset ? 8 : 12;

    /// <summary>Appends an entry; ignored unless its key is greater than the last key (time-index semantics).</summary>
    public bool TryAppend(long key, int value)
    {
        lock (_lock)
        {
            if (_count > 0 && (key <= _keys[_count - 1] || value < _values[_count - 1]))
            {
                return false;
            }

            if (_count == _keys.Length)
            {
                Array.Resize(ref _keys, _count * 2);
                Array.Resize(ref _values, _count * 2);
            }

            _keys[_count] = key;
            _values[_count] = value;
            _count++;
            return true;
        }
    }

    /// <summary>The entry with the largest key not greater than <paramref name="key"/>.</summary>
    public bool TryFindFloor(long key, out long foundKey, out int foundValue)
    {
        lock (_lock)
        {
            int index = Array.BinarySearch(_keys, 0, _count, key);
            if (index < 0)
            {
                index = ~index - 1;
            }

            if (index < 0)
            {
                foundKey = 0;
                foundValue = 0;
                return false;
            }

            foundKey = _keys[index];
            foundValue = _values[index];
            return true;
        }
    }

    /// <summary>The last entry whose value (a file position, for the offset index) is not greater than <paramref name="value"/>.</summary>
    public bool TryFindFloorByValue(long value, out long foundKey, out int foundValue)
    {
        lock (_lock)
        {
            int low = 0;
            int high = _count - 1;
            int found = -1;
            while (low <= high)
            {
                int middle = low + ((high - low) >> 1);
                if (_values[middle] <= value)
                {
                    found = middle;
                    low = middle + 1;
                }
                else
                {
                    high = middle - 1;
                }
            }

            foundKey = found < 0 ? 0 : _keys[found];
            foundValue = found < 0 ? 0 : _values[found];
            return found >= 0;
        }
    }

    public bool TryGetLast(out long key, out int value)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                key = 0;
                value = 0;
                return false;
            }

            key = _keys[_count - 1];
            value = _values[_count - 1];
            return true;
        }
    }

    /// <summary>Drops every entry whose value is at least <paramref name="value"/> (values are sorted, so a suffix).</summary>
    public void RemoveFromValue(int value)
    {
        lock (_lock)
        {
            int keep = _count;
            while (keep > 0 && _values[keep - 1] >= value)
            {
                keep--;
            }

            _count = keep;
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _count = 0;
        }
    }

    /// <summary>Writes entries not yet in the file (shrinking it first if entries were removed), optionally fsyncing.</summary>
    public void Persist(bool fsync)
    {
        lock (_lock)
        {
            SafeFileHandle file = _file ??= File.OpenHandle(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite,
                FileShare.ReadWrite | FileShare.Delete);
            int entrySize = EntrySize;
            if (_entriesInFile > _count || RandomAccess.GetLength(file) != (long)_entriesInFile * entrySize)
            {
                _entriesInFile = Math.Min(_entriesInFile, _count);
                RandomAccess.SetLength(file, (long)_entriesInFile * entrySize);
                _unsynced = true;
            }

            int pending = _count - _entriesInFile;
            if (pending > 0)
            {
                var buffer = new byte[pending * entrySize];
                for (int i = 0; i < pending; i++)
                {
                    Encode(buffer.AsSpan(i * entrySize, entrySize), _keys[_entriesInFile + i], _values[_entriesInFile + i]);
                }

                RandomAccess.Write(file, buffer, (long)_entriesInFile * entrySize);
                _entriesInFile = _count;
                _unsynced = true;
            }

            // With flush.messages=1 this runs on every append; most appends add no index entry, so skip the no-op fsync.
            if (fsync && _unsynced)
            {
                RandomAccess.FlushToDisk(file);
                _unsynced = false;
            }
        }
    }

    /// <summary>
    /// Loads the file; returns false (leaving the index empty, file to be rewritten) if its size is not a whole number of entries
    /// or the entries are not ordered or fail <paramref name="isPlausible"/>.
    /// </summary>
    public bool TryLoad(Func<long, int, bool> isPlausible)
    {
        lock (_lock)
        {
            _count = 0;
            _entriesInFile = 0;
            if (!File.Exists(_path))
            {
                return false;
            }

            byte[] content = File.ReadAllBytes(_path);
            int entrySize = EntrySize;
            if (content.Length % entrySize != 0 || content.Length / entrySize > MaxEntries)
            {
                return false;
            }

            int entries = content.Length / entrySize;
            _keys = new long[Math.Max(16, entries)];
            _values = new int[Math.Max(16, entries)];
            for (int i = 0; i < entries; i++)
            {
                Decode(content.AsSpan(i * entrySize, entrySize), out long key, out int value);
                bool ordered = i == 0 || (key > _keys[i - 1] && value >= _values[i - 1]);
                if (!ordered || !isPlausible(key, value))
                {
                    _count = 0;
                    return false;
                }

                _keys[i] = key;
                _values[i] = value;
            }

            _count = entries;
            _entriesInFile = entries;
            // Loaded only after a clean shutdown, whose close fsynced the file: nothing to sync until an entry is added.
            _unsynced = false;
            return true;
        }
    }

    /// <summary>Marks the file as needing a full rewrite (after a rebuild from the log).</summary>
    public void ResetFile()
    {
        lock (_lock)
        {
            _entriesInFile = 0;
            _unsynced = true;
            if (_file is not null)
            {
                RandomAccess.SetLength(_file, 0);
            }
            else if (File.Exists(_path))
            {
                File.WriteAllBytes(_path, []);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _file?.Dispose();
            _file = null;
        }
    }

    public void DeleteFile()
    {
        Dispose();
        File.Delete(_path);
    }

    private void Encode(Span<byte> destination, long key, int value)
    {
        if (Kind == IndexKind.Offset)
        {
            BinaryPrimitives.WriteInt32BigEndian(destination, checked((int)key));
            BinaryPrimitives.WriteInt32BigEndian(destination[4..], value);
        }
        else
        {
            BinaryPrimitives.WriteInt64BigEndian(destination, key);
            BinaryPrimitives.WriteInt32BigEndian(destination[8..], value);
        }
    }

    private void Decode(ReadOnlySpan<byte> source, out long key, out int value)
    {
        if (Kind == IndexKind.Offset)
        {
            key = BinaryPrimitives.ReadInt32BigEndian(source);
            value = BinaryPrimitives.ReadInt32BigEndian(source[4..]);
        }
        else
        {
            key = BinaryPrimitives.ReadInt64BigEndian(source);
            value = BinaryPrimitives.ReadInt32BigEndian(source[8..]);
        }
    }
}
