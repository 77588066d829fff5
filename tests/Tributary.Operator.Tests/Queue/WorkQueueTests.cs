using Tributary.Operator.Queue;

namespace Tributary.Operator.Tests.Queue;

public class WorkQueueTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_key_added_many_times_is_processed_once()
    {
        using var queue = new WorkQueue<string>(TimeProvider.System);
        queue.Add("a");
        queue.Add("a");
        queue.Add("b");
        using var cts = new CancellationTokenSource(Bound);
        Assert.Equal("a", await queue.TakeAsync(cts.Token));
        Assert.Equal("b", await queue.TakeAsync(cts.Token));
        Assert.Equal(0, queue.Depth);
    }

    [Fact]
    public async Task A_key_added_while_processed_runs_again_only_after_done()
    {
        using var queue = new WorkQueue<string>(TimeProvider.System);
        queue.Add("a");
        using var cts = new CancellationTokenSource(Bound);
        var key = await queue.TakeAsync(cts.Token);
        queue.Add("a");
        Assert.Equal(0, queue.Depth);
        queue.Done(key);
        Assert.Equal(1, queue.Depth);
        Assert.Equal("a", await queue.TakeAsync(cts.Token));
    }

    [Fact]
    public async Task Add_after_delivers_the_key_once_the_delay_has_passed()
    {
        using var queue = new WorkQueue<string>(TimeProvider.System);
        queue.AddAfter("later", TimeSpan.FromMilliseconds(50));
        using var cts = new CancellationTokenSource(Bound);
        Assert.Equal("later", await queue.TakeAsync(cts.Token));
    }

    [Fact]
    public void Failures_back_off_exponentially_up_to_the_cap_and_forget_starts_over()
    {
        using var queue = new WorkQueue<string>(TimeProvider.System, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(100), queue.AddRateLimited("a"));
        Assert.Equal(TimeSpan.FromMilliseconds(200), queue.AddRateLimited("a"));
        Assert.Equal(TimeSpan.FromMilliseconds(400), queue.AddRateLimited("a"));
        Assert.Equal(TimeSpan.FromMilliseconds(800), queue.AddRateLimited("a"));
        Assert.Equal(TimeSpan.FromSeconds(1), queue.AddRateLimited("a"));
        Assert.Equal(TimeSpan.FromMilliseconds(100), queue.AddRateLimited("b"));
        queue.Forget("a");
        Assert.Equal(TimeSpan.FromMilliseconds(100), queue.AddRateLimited("a"));
    }
}
