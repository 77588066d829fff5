using Tributary.Broker.Config;

namespace Tributary.Broker.Tests.Config;

public sealed class RetentionPrecedenceTests
{
    [Fact]
    public void Retention_hours_apply_when_neither_ms_nor_minutes_is_set()
    {
        Assert.Equal(2 * 3_600_000L, Config(("log.retention.hours", "2")).LogRetentionMs);
    }

    [Fact]
    public void Retention_minutes_win_over_hours()
    {
        Assert.Equal(30 * 60_000L, Config(("log.retention.hours", "2"), ("log.retention.minutes", "30")).LogRetentionMs);
    }

    [Fact]
    public void Retention_ms_wins_over_minutes_and_hours()
    {
        Assert.Equal(1234L, Config(("log.retention.hours", "2"), ("log.retention.minutes", "30"), ("log.retention.ms", "1234")).LogRetentionMs);
    }

    [Fact]
    public void Retention_of_minus_one_means_unlimited_in_any_unit()
    {
        Assert.Equal(-1L, Config(("log.retention.ms", "-1")).LogRetentionMs);
        Assert.Equal(-1L, Config(("log.retention.minutes", "-1")).LogRetentionMs);
        Assert.Equal(-1L, Config(("log.retention.hours", "-1")).LogRetentionMs);
    }

    [Fact]
    public void Retention_below_minus_one_is_rejected()
    {
        var error = Assert.Throws<ConfigException>(() => Config(("log.retention.ms", "-5")));

        Assert.Contains("'log.retention.ms'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Roll_ms_wins_over_roll_hours()
    {
        Assert.Equal(3 * 3_600_000L, Config(("log.roll.hours", "3")).LogRollMs);
        Assert.Equal(500L, Config(("log.roll.hours", "3"), ("log.roll.ms", "500")).LogRollMs);
    }

    [Fact]
    public void Flush_interval_falls_back_to_the_scheduler_interval_when_unset()
    {
        Assert.Equal(long.MaxValue, Config().EffectiveLogFlushIntervalMs);
        Assert.Equal(250L, Config(("log.flush.scheduler.interval.ms", "250")).EffectiveLogFlushIntervalMs);
        Assert.Equal(10L, Config(("log.flush.scheduler.interval.ms", "250"), ("log.flush.interval.ms", "10")).EffectiveLogFlushIntervalMs);
    }

    private static BrokerConfig Config(params (string Key, string Value)[] settings) =>
        BrokerConfig.FromProperties(settings.ToDictionary(s => s.Key, s => s.Value));
}
