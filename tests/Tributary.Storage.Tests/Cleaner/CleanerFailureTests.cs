using System.Buffers.Binary;
using Tributary.Storage.Cleaner;

namespace Tributary.Storage.Tests.Cleaner;

public sealed class CleanerFailureTests
{
    private const long T0 = Batches.T0;

    [Fact]
    public void A_log_whose_segment_is_corrupt_is_marked_uncleanable_and_the_other_logs_are_still_cleaned()
    {
        using var brokenDir = new TempDirectory();
        using var healthyDir = new TempDirectory();
        PartitionLog broken = Logs.Open(brokenDir.Path, Compaction.CompactConfig);
        PartitionLog healthy = Logs.Open(healthyDir.Path, Compaction.CompactConfig);
        foreach (PartitionLog log in new[] { broken, healthy })
        {
            for (int i = 0; i < 20; i++)
            {
                Compaction.Append(log, T0 + i, ($"k{i % 4}", $"v{i}"));
            }

            log.ForceRoll(T0 + 100);
        }

        // The first batch of the broken log now claims to run past the end of its segment.
        using (var file = File.OpenHandle(Logs.SegmentFile(brokenDir.Path, 0), FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, 1 << 30);
            RandomAccess.Write(file, length, 8);
        }

        using var cleaner = new LogCleaner(new LogCleanerOptions { Enabled = false }, () => [broken, healthy]);

        Assert.Null(cleaner.CleanFilthiestLog(T0 + 1000));
        Assert.Equal(1, cleaner.UncleanableLogCount);
        Assert.NotNull(cleaner.CleanFilthiestLog(T0 + 1000));
        Assert.Equal(4, Compaction.ReadAll(healthy).Count);
        Assert.Equal(1, cleaner.Snapshot().UncleanableLogsByDirectory[Path.GetDirectoryName(broken.Directory)!]);
    }
}
