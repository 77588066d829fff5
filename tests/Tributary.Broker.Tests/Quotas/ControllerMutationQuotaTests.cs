using Tributary.Broker.Quotas;

namespace Tributary.Broker.Tests.Quotas;

/// <summary>A clock whose timestamps move only when told (the quota reads <see cref="TimeProvider.GetTimestamp"/>).</summary>
internal sealed class SteppedClockFake : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _ticks;

    public void Advance(TimeSpan by) => _ticks += by.Ticks;
}

public sealed class ControllerMutationQuotaTests
{
    [Fact]
    public void A_full_bucket_admits_one_operation_larger_than_its_burst_then_refuses_until_the_debt_is_repaid()
    {
        var clock = new SteppedClockFake();
        var quota = new ControllerMutationQuota(partitionsPerSecond: 100, clock); // burst 1,000

        var first = quota.TryAcquire(1_500);
        var second = quota.TryAcquire(1);

        Assert.Equal(0, first);
        Assert.Equal(5_000, second); // 500 partitions of debt at 100/s
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0, quota.TryAcquire(1));
    }

    [Fact]
    public void Permissive_recording_always_admits_and_reports_the_throttle_time()
    {
        var quota = new ControllerMutationQuota(partitionsPerSecond: 10, new SteppedClockFake()); // burst 100

        Assert.Equal(0, quota.Record(100));
        Assert.Equal(1_000, quota.Record(10));
        Assert.Equal(1_000, quota.CurrentThrottleMs());
    }

    [Fact]
    public void An_unlimited_quota_never_throttles()
    {
        var quota = new ControllerMutationQuota(partitionsPerSecond: -1, new SteppedClockFake());

        Assert.Equal(0, quota.TryAcquire(int.MaxValue));
        Assert.Equal(0, quota.TryAcquire(int.MaxValue));
    }
}
