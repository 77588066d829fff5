using System.Buffers.Binary;
using Tributary.Protocol.IO;
using Tributary.Protocol.Records;
using Tributary.Raft.Log;

namespace Tributary.Raft.Election;

/// <summary>The voter's durable election state (Kafka's <c>quorum-state</c> file): the latest epoch seen and whom
/// this node voted for in it.</summary>
/// <remarks>Raft's safety needs both to survive a crash before any vote or append is acknowledged: otherwise a
/// restarted node could vote twice in one epoch. Written to a temp file, fsynced, renamed over the old one, and the
/// directory fsynced so the rename itself survives a power loss.
/// Layout: <c>int64 epoch, int32 votedFor (-1 = none), uint32 crc32c of the first 12 bytes</c>.</remarks>
internal sealed class QuorumStateFile
{
    private const int Size = 16;
    private readonly string _path;

    public QuorumStateFile(string path) => _path = path;

    public (long Epoch, int VotedFor) Read()
    {
        if (!File.Exists(_path))
        {
            return (0, -1);
        }

        byte[] bytes = File.ReadAllBytes(_path);
        if (bytes.Length != Size || Crc32C.Compute(bytes.AsSpan(0, 12)) != BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(12)))
        {
            // Renames are atomic, so a bad file is disk corruption, not a torn write; guessing could mean voting twice.
            throw new InvalidDataException($"Quorum state file {_path} is corrupt");
        }

        return (BinaryPrimitives.ReadInt64BigEndian(bytes), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8)));
    }

    public void Write(long epoch, int votedFor)
    {
        var bytes = new byte[Size];
        BinaryPrimitives.WriteInt64BigEndian(bytes, epoch);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), votedFor);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(12), Crc32C.Compute(bytes.AsSpan(0, 12)));
        string temp = _path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, _path, overwrite: true);
        _ = DirectorySync.TrySync(Path.GetDirectoryName(Path.GetFullPath(_path))!);
    }
}
