using Tributary.Storage;

namespace Tributary.Storage.Tests;

public class PartitionLogRecoveryTests
{
    private static long FileLength(string path) => new FileInfo(path).Length;

    private static void AppendBytes(string path, byte[] bytes)
    {
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        stream.Write(bytes);
    }

    [Fact]
    public void Reopen_after_clean_close_keeps_offsets_without_scanning()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 1024 });
        for (int i = 0; i < 30; i++)
        {
            Batches.Append(log);
        }

        int segments = log.Segments.Count;
        log.Close();

        PartitionLog reopened = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 1024 }, clean: true);

        Assert.Equal(0, reopened.SegmentsScannedAtOpen);
        Assert.Equal(90, reopened.LogEndOffset);
        Assert.Equal(segments, reopened.Segments.Count);
        Assert.Equal(Enumerable.Range(0, 90).Select(i => (long)i), Batches.ReadAllOffsets(reopened));
        Assert.Equal(90, Batches.Append(reopened).FirstOffset);
        reopened.Close();
    }

    [Fact]
    public void Reopen_after_clean_close_rebuilds_a_corrupt_index()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { IndexIntervalBytes = 0 });
        for (int i = 0; i < 20; i++)
        {
            Batches.Append(log);
        }

        log.Close();
        File.WriteAllBytes(Logs.SegmentFile(dir.Path, 0, ".index"), [1, 2, 3]);

        PartitionLog reopened = Logs.Open(dir.Path, LogConfig.Default with { IndexIntervalBytes = 0 }, clean: true);

        Assert.Equal(60, reopened.LogEndOffset);
        Assert.Equal(30, reopened.Read(31, 1, long.MaxValue, true).FirstOffset);
        reopened.Close();
    }

    [Fact]
    public void Recovery_truncates_a_torn_tail_and_appends_continue_from_the_last_whole_batch()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        for (int i = 0; i < 5; i++)
        {
            Batches.Append(log);
        }

        log.CloseWithoutFlush();
        string segment = Logs.SegmentFile(dir.Path, 0);
        using (var stream = new FileStream(segment, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            stream.SetLength(stream.Length - 10);
        }

        PartitionLog recovered = Logs.Open(dir.Path);

        Assert.Equal(12, recovered.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), Batches.ReadAllOffsets(recovered));
        Assert.Equal(12, Batches.Append(recovered).FirstOffset);
        recovered.Close();
    }

    [Fact]
    public void Recovery_truncates_garbage_after_the_last_batch()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log);
        Batches.Append(log);
        log.CloseWithoutFlush();
        string segment = Logs.SegmentFile(dir.Path, 0);
        long validLength = FileLength(segment);
        AppendBytes(segment, [.. Enumerable.Repeat((byte)0x5A, 100)]);

        PartitionLog recovered = Logs.Open(dir.Path);

        Assert.Equal(6, recovered.LogEndOffset);
        Assert.Equal(validLength, FileLength(segment));
        Assert.Equal(6, Batches.Append(recovered).FirstOffset);
        recovered.Close();
    }

    [Fact]
    public void Recovery_truncates_at_a_crc_bad_batch_in_the_middle_of_the_active_segment()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        for (int i = 0; i < 6; i++)
        {
            Batches.Append(log);
        }

        int batchSize = log.Read(0, 1, long.MaxValue, true).Records.Length;
        log.CloseWithoutFlush();
        string segment = Logs.SegmentFile(dir.Path, 0);
        using (var stream = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
        {
            // Flip a value byte of the third batch (offsets 6-8).
            stream.Position = (2 * batchSize) + batchSize - 5;
            int original = stream.ReadByte();
            stream.Position--;
            stream.WriteByte((byte)(original ^ 0xFF));
        }

        PartitionLog recovered = Logs.Open(dir.Path);

        Assert.Equal(6, recovered.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (long)i), Batches.ReadAllOffsets(recovered));
        Assert.Equal(6, Batches.Append(recovered).FirstOffset);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => (long)i), Batches.ReadAllOffsets(recovered));
        recovered.Close();
    }

    [Fact]
    public void Recovery_deletes_segments_after_a_corrupt_one()
    {
        using var dir = new TempDirectory();
        LogConfig config = LogConfig.Default with { SegmentBytes = 600 };
        PartitionLog log = Logs.Open(dir.Path, config);
        for (int i = 0; i < 30; i++)
        {
            Batches.Append(log);
        }

        long secondBase = log.Segments[1].BaseOffset;
        long thirdBase = log.Segments[2].BaseOffset;
        log.CloseWithoutFlush();
        string second = Logs.SegmentFile(dir.Path, secondBase);
        byte[] bytes = File.ReadAllBytes(second);
        bytes[^3] ^= 0xFF;
        File.WriteAllBytes(second, bytes);

        PartitionLog recovered = Logs.Open(dir.Path, config);

        Assert.Equal(2, recovered.Segments.Count);
        Assert.Equal(thirdBase - 3, recovered.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, (int)recovered.LogEndOffset).Select(i => (long)i), Batches.ReadAllOffsets(recovered));
        Assert.False(File.Exists(Logs.SegmentFile(dir.Path, thirdBase)));
        recovered.Close();
    }

    [Fact]
    public void Recovery_skips_segments_below_the_recovery_point()
    {
        using var dir = new TempDirectory();
        LogConfig config = LogConfig.Default with { SegmentBytes = 600 };
        PartitionLog log = Logs.Open(dir.Path, config);
        for (int i = 0; i < 30; i++)
        {
            Batches.Append(log);
        }

        log.Flush();
        long recoveryPoint = log.RecoveryPoint;
        int segments = log.Segments.Count;
        log.CloseWithoutFlush();

        PartitionLog recovered = Logs.Open(dir.Path, config, recoveryPoint: recoveryPoint);

        Assert.Equal(1, recovered.SegmentsScannedAtOpen);
        Assert.Equal(segments, recovered.Segments.Count);
        Assert.Equal(90, recovered.LogEndOffset);
        recovered.Close();
    }

    [Fact]
    public void Recovery_of_an_empty_directory_starts_at_the_log_start_offset()
    {
        using var dir = new TempDirectory();

        PartitionLog log = Logs.Open(dir.Path, logStartOffset: 50);

        Assert.Equal(50, log.LogStartOffset);
        Assert.Equal(50, log.LogEndOffset);
        Assert.Equal(50, Batches.Append(log).FirstOffset);
        log.Close();
    }

    [Fact]
    public void Reopen_with_a_clean_marker_still_truncates_a_tail_that_does_not_frame()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log);
        Batches.Append(log);
        log.Close();
        AppendBytes(Logs.SegmentFile(dir.Path, 0), [0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 99]);

        PartitionLog reopened = Logs.Open(dir.Path, clean: true);

        Assert.Equal(1, reopened.SegmentsScannedAtOpen);
        Assert.Equal(6, reopened.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (long)i), Batches.ReadAllOffsets(reopened));
        reopened.Close();
    }

    [Fact]
    public void Recovery_truncates_at_a_batch_whose_offsets_go_backwards()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log);
        Batches.Append(log);
        byte[] firstBatch = log.Read(0, 1, long.MaxValue, true).Records.ToArray();
        log.CloseWithoutFlush();
        AppendBytes(Logs.SegmentFile(dir.Path, 0), firstBatch);

        PartitionLog recovered = Logs.Open(dir.Path);

        Assert.Equal(6, recovered.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (long)i), Batches.ReadAllOffsets(recovered));
        recovered.Close();
    }
}
