using Tributary.Broker.Network;

namespace Tributary.Broker.Tests.Network;

public sealed class RequestMemoryBudgetTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_reservation_beyond_what_is_free_waits_until_enough_is_released()
    {
        var budget = new RequestMemoryBudget(100);
        await budget.ReserveAsync(80, CancellationToken.None);

        var waiting = budget.ReserveAsync(40, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        budget.Release(10);
        Assert.False(waiting.IsCompleted);
        budget.Release(70);

        await waiting.WaitAsync(Bound);
        Assert.Equal(40, budget.InUse);
    }

    [Fact]
    public async Task Waiters_are_served_in_arrival_order_so_a_large_frame_is_not_starved()
    {
        var budget = new RequestMemoryBudget(100);
        await budget.ReserveAsync(100, CancellationToken.None);
        var large = budget.ReserveAsync(90, CancellationToken.None).AsTask();

        Assert.False(budget.TryReserve(1));
        var small = budget.ReserveAsync(10, CancellationToken.None).AsTask();
        budget.Release(100);

        await Task.WhenAll(large, small).WaitAsync(Bound);
        Assert.Equal(100, budget.InUse);
    }

    [Fact]
    public async Task A_cancelled_waiter_leaves_the_line_and_lets_the_next_one_in()
    {
        var budget = new RequestMemoryBudget(100);
        await budget.ReserveAsync(60, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = budget.ReserveAsync(90, cancel.Token).AsTask();
        var next = budget.ReserveAsync(40, CancellationToken.None).AsTask();

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        await next.WaitAsync(Bound);
        Assert.Equal(0, budget.Waiting);
    }

    [Fact]
    public async Task A_frame_larger_than_the_whole_budget_is_a_bug_not_a_wait()
    {
        var budget = new RequestMemoryBudget(100);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => budget.ReserveAsync(101, CancellationToken.None).AsTask());
    }
}
