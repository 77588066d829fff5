using Tributary.Storage.Cleaner;

namespace Tributary.Storage.Tests.Cleaner;

/// <summary>A crash at any step of the swap protocol leaves the old segments or the new ones, never a mix and never a loss.</summary>
public sealed class CompactionCrashSafetyTests
{
    private const long T0 = Batches.T0;

    private sealed class SimulatedCrashException : Exception;

    public static TheoryData<CleanerStep> Steps => [.. Enum.GetValues<CleanerStep>()];

    [Theory]
    [MemberData(nameof(Steps))]
    public void A_crash_during_the_swap_leaves_either_the_old_or_the_compacted_log(CleanerStep crashAt)
    {
        using var dir = new TempDirectory();
        List<ReadRecord> original;
        List<ReadRecord> compacted;
        string reference = dir.Sub("reference");
        string crashed = dir.Sub("crashed");
        PartitionLog referenceLog = Fill(reference);
        original = Compaction.ReadAll(referenceLog);
        Compaction.NewCleaner().Clean(referenceLog, T0 + 10_000);
        compacted = Compaction.ReadAll(referenceLog);
        Assert.True(compacted.Count < original.Count);

        PartitionLog log = Fill(crashed);
        LogCleaner cleaner = Compaction.NewCleaner();
        cleaner.CrashPoint = step =>
        {
            if (step == crashAt)
            {
                throw new SimulatedCrashException();
            }
        };
        Assert.Throws<SimulatedCrashException>(() => cleaner.Clean(log, T0 + 10_000));
        log.CloseWithoutFlush();

        PartitionLog reopened = Logs.Open(crashed, Compaction.CompactConfig with { SegmentBytes = 64 * 1024 });
        List<ReadRecord> recovered = Compaction.ReadAll(reopened);
        Assert.Equal(crashAt == CleanerStep.BeforeSwapRename ? original : compacted, recovered);
        Assert.Equal(Compaction.Latest(original), Compaction.Latest(recovered));
        Assert.Empty(Directory.EnumerateFiles(crashed, "*.cleaned"));
        Assert.Empty(Directory.EnumerateFiles(crashed, "*.swap"));
        Assert.Equal(referenceLog.LogEndOffset, reopened.LogEndOffset);
    }

    [Fact]
    public void A_log_reopened_after_a_crash_mid_swap_accepts_appends_and_compacts_again()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Fill(dir.Path);
        LogCleaner cleaner = Compaction.NewCleaner();
        cleaner.CrashPoint = step =>
        {
            if (step == CleanerStep.OldSegmentsPartlyDeleted)
            {
                throw new SimulatedCrashException();
            }
        };
        Assert.Throws<SimulatedCrashException>(() => cleaner.Clean(log, T0 + 10_000));
        log.CloseWithoutFlush();

        PartitionLog reopened = Logs.Open(dir.Path, Compaction.CompactConfig with { SegmentBytes = 64 * 1024 });
        Compaction.Append(reopened, T0 + 20_000, ("k0", "after"));
        reopened.ForceRoll(T0 + 20_000);
        Compaction.NewCleaner().Clean(reopened, T0 + 30_000);

        Dictionary<string, string> latest = Compaction.Latest(Compaction.ReadAll(reopened));
        Assert.Equal("after", latest["k0"]);
        Assert.Equal(Compaction.ReadAll(reopened).Count, latest.Count + Compaction.ReadAll(reopened).Count(r => r.Value is null));
    }

    [Theory]
    [MemberData(nameof(Steps))]
    public void A_crash_in_a_later_group_keeps_the_groups_already_swapped_and_the_rest_unchanged(CleanerStep crashAt)
    {
        using var dir = new TempDirectory();
        var config = Compaction.CompactConfig with { SegmentBytes = 2048 };
        PartitionLog referenceLog = Fill(dir.Sub("reference"), config, rollEvery: 0);
        List<ReadRecord> original = Compaction.ReadAll(referenceLog);
        Compaction.NewCleaner().Clean(referenceLog, T0 + 10_000);
        List<ReadRecord> compacted = Compaction.ReadAll(referenceLog);

        PartitionLog log = Fill(dir.Sub("crashed"), config, rollEvery: 0);
        LogCleaner cleaner = Compaction.NewCleaner();
        int seen = 0;
        cleaner.CrashPoint = step =>
        {
            if (step == crashAt && ++seen == 2)
            {
                throw new SimulatedCrashException();
            }
        };
        Assert.Throws<SimulatedCrashException>(() => cleaner.Clean(log, T0 + 10_000));
        log.CloseWithoutFlush();

        PartitionLog reopened = Logs.Open(dir.Sub("crashed"), config);
        List<ReadRecord> recovered = Compaction.ReadAll(reopened);
        // Some prefix of the offsets (whole groups) is compacted, the rest is as written.
        bool isPrefixSplit = Enumerable.Range(0, 401).Any(split =>
            recovered.SequenceEqual(compacted.Where(r => r.Offset < split).Concat(original.Where(r => r.Offset >= split))));
        Assert.True(isPrefixSplit, "the recovered log must be whole cleaned groups followed by untouched segments");
        Assert.Equal(Compaction.Latest(original), Compaction.Latest(recovered));
    }

    /// <summary>400 updates and some tombstones over 20 keys in several closed segments (one cleaner group unless segment.bytes is small).</summary>
    private static PartitionLog Fill(string directory, LogConfig? config = null, int rollEvery = 50)
    {
        PartitionLog log = Logs.Open(directory, config ?? Compaction.CompactConfig with { SegmentBytes = 64 * 1024 });
        for (int i = 0; i < 400; i++)
        {
            string key = $"k{i % 20}";
            Compaction.Append(log, T0 + i, (key, i % 37 == 0 ? null : $"v{i}"));
            if (rollEvery > 0 && i % rollEvery == rollEvery - 1)
            {
                log.ForceRoll(T0 + i);
            }
        }

        log.ForceRoll(T0 + 1000);
        Assert.True(log.Segments.Count > 4);
        return log;
    }
}
