using Tributary.Raft.Election;
using Tributary.Raft.Log;

namespace Tributary.Raft.Tests;

public sealed class RaftLogTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tributary-quorum-log-").FullName;

    private string LogPath => Path.Combine(_directory, RaftLog.FileNameFor(1));

    [Fact]
    public void Entries_are_read_back_after_reopening()
    {
        using (var log = RaftLog.Open(_directory, 1024, 0, 0))
        {
            log.Append([new QuorumEntry(1, []), new QuorumEntry(1, [1, 2, 3])]);
            log.Append([new QuorumEntry(2, [4])]);
        }

        using var reopened = RaftLog.Open(_directory, 1024, 0, 0);

        Assert.Equal(3, reopened.LastIndex);
        Assert.Equal(2, reopened.LastTerm);
        Assert.Equal([1, 2, 3], reopened.EntryAt(2).Payload);
        Assert.True(reopened.EntryAt(1).IsEpochMarker);
    }

    [Fact]
    public void A_torn_last_entry_is_cut_off_on_open()
    {
        using (var log = RaftLog.Open(_directory, 1024, 0, 0))
        {
            log.Append([new QuorumEntry(1, [1]), new QuorumEntry(1, [2, 2, 2, 2])]);
        }

        long fullLength = new FileInfo(LogPath).Length;
        using (var file = new FileStream(LogPath, FileMode.Open))
        {
            file.SetLength(fullLength - 2); // a crash in the middle of writing the second entry
        }

        using var reopened = RaftLog.Open(_directory, 1024, 0, 0);

        Assert.Equal(1, reopened.LastIndex);
        Assert.Equal([1], reopened.EntryAt(1).Payload);
        Assert.True(reopened.TruncatedTailBytes > 0);
    }

    [Fact]
    public void An_entry_with_a_bad_checksum_ends_the_log()
    {
        using (var log = RaftLog.Open(_directory, 1024, 0, 0))
        {
            log.Append([new QuorumEntry(1, [1]), new QuorumEntry(1, [2])]);
        }

        byte[] bytes = File.ReadAllBytes(LogPath);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(LogPath, bytes);

        using var reopened = RaftLog.Open(_directory, 1024, 0, 0);

        Assert.Equal(1, reopened.LastIndex);
    }

    [Fact]
    public void Truncation_drops_the_tail_on_disk()
    {
        using (var log = RaftLog.Open(_directory, 1024, 0, 0))
        {
            log.Append([new QuorumEntry(1, [1]), new QuorumEntry(1, [2]), new QuorumEntry(1, [3])]);
            log.TruncateFrom(2);
            log.Append([new QuorumEntry(2, [9])]);
        }

        using var reopened = RaftLog.Open(_directory, 1024, 0, 0);

        Assert.Equal([[1], [9]], new[] { reopened.EntryAt(1).Payload, reopened.EntryAt(2).Payload });
        Assert.Equal(2, reopened.TermAt(2));
    }

    [Fact]
    public void The_persisted_epoch_and_vote_survive_a_restart()
    {
        var state = new QuorumStateFile(Path.Combine(_directory, "quorum-state"));
        state.Write(5, 2);

        Assert.Equal((5L, 2), new QuorumStateFile(Path.Combine(_directory, "quorum-state")).Read());
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
