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

    [Fact]
    public void Cutting_below_a_snapshot_keeps_the_tail_in_a_new_file_and_deletes_the_old_one()
    {
        using (var log = RaftLog.Open(_directory, 1024, 0, 0))
        {
            log.Append([new QuorumEntry(1, [1]), new QuorumEntry(1, [2]), new QuorumEntry(2, [3]), new QuorumEntry(2, [4])]);
            log.StartAfterSnapshot(2, 1);
            log.Append([new QuorumEntry(2, [5])]);
        }

        using var reopened = RaftLog.Open(_directory, 1024, 2, 1);

        Assert.Equal([RaftLog.FileNameFor(3)], Directory.GetFiles(_directory).Select(Path.GetFileName));
        Assert.Equal(3, reopened.StartIndex);
        Assert.Equal(5, reopened.LastIndex);
        Assert.Equal(1, reopened.TermAt(2));
        Assert.Equal([3], reopened.EntryAt(3).Payload);
        Assert.Equal([5], reopened.EntryAt(5).Payload);
    }

    [Fact]
    public void A_crash_after_the_snapshot_but_before_the_cut_is_finished_on_open()
    {
        using (var log = RaftLog.Open(_directory, 1024, 0, 0))
        {
            log.Append([new QuorumEntry(1, [1]), new QuorumEntry(1, [2]), new QuorumEntry(1, [3])]);
        }

        // The snapshot through index 2 was stored, the log file was not rewritten yet: the next open cuts it.
        using var reopened = RaftLog.Open(_directory, 1024, 2, 1);

        Assert.Equal(3, reopened.StartIndex);
        Assert.Equal(3, reopened.LastIndex);
        Assert.Equal([3], reopened.EntryAt(3).Payload);
        Assert.Equal([RaftLog.FileNameFor(3)], Directory.GetFiles(_directory).Select(Path.GetFileName));
    }

    [Fact]
    public void A_snapshot_the_log_does_not_match_replaces_every_entry()
    {
        using var log = RaftLog.Open(_directory, 1024, 0, 0);
        log.Append([new QuorumEntry(1, [1]), new QuorumEntry(2, [2])]);

        log.StartAfterSnapshot(5, 3); // installed from the leader, beyond our log

        Assert.Equal(6, log.StartIndex);
        Assert.Equal(5, log.LastIndex);
        Assert.Equal(3, log.LastTerm);
    }

    [Fact]
    public void The_newest_intact_snapshot_is_loaded_and_a_corrupt_newer_one_is_skipped()
    {
        string directory = Path.Combine(_directory, "snapshots");
        var store = SnapshotStore.Open(directory, 1024);
        store.Save(new RaftSnapshot(3, 1, [1, 2, 3]));
        store.Save(new RaftSnapshot(7, 2, [7, 7]));
        string newest = Path.Combine(directory, SnapshotStore.FileNameFor(7, 2));
        byte[] bytes = File.ReadAllBytes(newest);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(newest, bytes);

        var reopened = SnapshotStore.Open(directory, 1024);

        Assert.Equal(3, reopened.Latest!.LastIndex);
        Assert.Equal([1, 2, 3], reopened.Latest.Data);
        Assert.Equal([newest], reopened.CorruptFiles);
    }

    [Fact]
    public void A_snapshot_file_claiming_more_than_the_bound_is_not_read()
    {
        string directory = Path.Combine(_directory, "snapshots");
        SnapshotStore.Open(directory, 1024).Save(new RaftSnapshot(3, 1, new byte[600]));

        var smaller = SnapshotStore.Open(directory, 512);

        Assert.Null(smaller.Latest);
        Assert.Single(smaller.CorruptFiles);
    }

    [Fact]
    public void A_snapshot_batch_with_an_impossible_record_count_is_malformed()
    {
        byte[] data = [0, 0x7f, 0xff, 0xff, 0xff]; // format 0, two billion records, no bytes for them

        Assert.Throws<Tributary.Protocol.MalformedMessageException>(() => RaftBatchCodec.Decode(data, int.MaxValue, StringSerde.Instance, allowEmpty: true));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
