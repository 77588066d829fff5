using Tributary.Storage;

namespace Tributary.Storage.Tests;

public class LogConfigTests
{
    [Fact]
    public void Defaults_match_kafka()
    {
        LogConfig config = LogConfig.Default;

        Assert.Equal(1 << 30, config.SegmentBytes);
        Assert.Equal(7L * 24 * 3600 * 1000, config.SegmentMs);
        Assert.Equal(4096, config.IndexIntervalBytes);
        Assert.Equal(10 << 20, config.MaxIndexSizeBytes);
        Assert.Equal(long.MaxValue, config.FlushIntervalMessages);
        Assert.Equal(1048588, config.MaxMessageBytes);
    }

    [Fact]
    public void Validate_rejects_a_flush_interval_below_one()
    {
        Assert.Throws<ArgumentException>(() => (LogConfig.Default with { FlushIntervalMessages = 0 }).Validate());
    }

    [Fact]
    public void UpdateConfig_applies_a_smaller_segment_size_to_the_next_append()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log);
        Batches.Append(log);

        log.UpdateConfig(LogConfig.Default with { SegmentBytes = 100 });
        Batches.Append(log);

        Assert.Equal([0L, 6L], log.Segments.Select(s => s.BaseOffset));
        log.Close();
    }
}
