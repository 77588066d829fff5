using Tributary.Broker.Replication;
using Tributary.Broker.Tests.Groups;

namespace Tributary.Broker.Tests.Replication;

/// <summary>The per-topic rate limit of "this produce can never succeed" warnings, on a clock the test moves.</summary>
public sealed class TopicWarningLimiterTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly FakeTimeProvider _time = new();
    private readonly TopicWarningLimiter _limiter;

    public TopicWarningLimiterTests() => _limiter = new TopicWarningLimiter(_time, Interval);

    [Fact]
    public void The_first_warning_about_a_topic_goes_through_with_nothing_held_back()
    {
        Assert.True(_limiter.ShouldWarn("orders", out var heldBack));
        Assert.Equal(0, heldBack);
    }

    [Fact]
    public void Warnings_within_the_interval_are_held_back_and_counted_in_the_next_one()
    {
        Assert.True(_limiter.ShouldWarn("orders", out _));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(_limiter.ShouldWarn("orders", out _));
        _time.Advance(TimeSpan.FromSeconds(49));
        Assert.False(_limiter.ShouldWarn("orders", out _));

        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(_limiter.ShouldWarn("orders", out var heldBack));
        Assert.Equal(2, heldBack);
    }

    [Fact]
    public void Each_topic_has_its_own_interval()
    {
        Assert.True(_limiter.ShouldWarn("orders", out _));

        Assert.True(_limiter.ShouldWarn("payments", out _));
        Assert.False(_limiter.ShouldWarn("orders", out _));
    }

    [Fact]
    public void A_forgotten_topic_warns_again_at_once()
    {
        Assert.True(_limiter.ShouldWarn("orders", out _));

        _limiter.Forget("orders");

        Assert.True(_limiter.ShouldWarn("orders", out _));
    }
}
