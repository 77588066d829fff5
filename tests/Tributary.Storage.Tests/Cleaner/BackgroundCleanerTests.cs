using Tributary.Storage.Cleaner;
using Tributary.Tests.Shared;

namespace Tributary.Storage.Tests.Cleaner;

public sealed class BackgroundCleanerTests
{
    private const long T0 = Batches.T0;

    [Fact]
    public async Task The_log_managers_cleaner_compacts_in_the_background_and_its_checkpoint_survives_a_restart()
    {
        using var dir = new TempDirectory();
        var options = new LogManagerOptions { LogDirs = [dir.Path], Cleaner = new LogCleanerOptions { BackoffMs = 10 } };
        long checkpoint;
        using (LogManager manager = LogManager.Open(options))
        {
            PartitionLog log = manager.GetOrCreateLog("state", 0, Compaction.CompactConfig);
            for (int i = 0; i < 300; i++)
            {
                Compaction.Append(log, T0 + i, ($"k{i % 10}", $"v{i}"));
            }

            log.ForceRoll(T0 + 1000);
            checkpoint = await Eventually.ValueAsync(() => log.CleanerCheckpoint, reached => reached >= 300, TimeSpan.FromSeconds(10),
                Eventually.DefaultInterval);
            Assert.Equal(300, checkpoint);
            Assert.Equal(10, Compaction.ReadAll(log).Count);
        }

        using LogManager reopened = LogManager.Open(options with { Cleaner = new LogCleanerOptions { Enabled = false } });
        Assert.True(reopened.TryGetLog("state", 0, out PartitionLog? recovered));
        Assert.Equal(checkpoint, recovered.CleanerCheckpoint);
        Assert.Equal(10, Compaction.ReadAll(recovered).Count);
    }

    [Fact]
    public void A_cleaned_file_left_by_a_crash_before_the_commit_is_discarded_at_open()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, Compaction.CompactConfig);
        Compaction.Append(log, T0, ("a", "1"));
        log.Close();
        string cleaned = Logs.SegmentFile(dir.Path, 0, ".log.cleaned");
        File.WriteAllBytes(cleaned, [1, 2, 3]);

        PartitionLog reopened = Logs.Open(dir.Path, Compaction.CompactConfig);

        Assert.False(File.Exists(cleaned));
        Assert.Equal([("a", "1")], Compaction.ReadAll(reopened).Select(r => (r.Key!, r.Value!)));
    }
}
