using Microsoft.Extensions.Time.Testing;
using Tributary.Connect.Distributed;
using Tributary.Connect.Storage;

namespace Tributary.Connect.Tests.Distributed;

/// <summary>KIP-415 in the leader's assignor: a departed worker's work waits scheduled.rebalance.max.delay.ms for it.</summary>
public sealed class ScheduledRebalanceDelayTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(30);

    private static ClusterConfigState Config(params (string Connector, int Tasks)[] connectors) => new(
        10,
        connectors.ToDictionary(c => c.Connector, c => (IReadOnlyDictionary<string, string>)new Dictionary<string, string>()),
        new Dictionary<string, TargetState>(),
        connectors.ToDictionary(c => c.Connector, c => (IReadOnlyList<IReadOnlyDictionary<string, string>>)Enumerable.Range(0, c.Tasks).Select(_ => (IReadOnlyDictionary<string, string>)new Dictionary<string, string>()).ToList()));

    private static WorkerMetadata Runs(string url, params string[] work) => new(url, 10,
        work.Where(w => !w.Contains('-', StringComparison.Ordinal)).ToList(),
        work.Where(w => w.Contains('-', StringComparison.Ordinal)).Select(w => new TaskId(w[..w.IndexOf('-', StringComparison.Ordinal)], int.Parse(w[(w.IndexOf('-', StringComparison.Ordinal) + 1)..]))).ToList());

    /// <summary>Two workers a and b, running c with 4 tasks after a first assignment by this assignor.</summary>
    private static (IncrementalCooperativeAssignor Assignor, ClusterConfigState Config) TwoWorkersRunning(FakeTimeProvider time)
    {
        var assignor = new IncrementalCooperativeAssignor(Delay, time);
        var config = Config(("c", 4));
        var (first, delay) = assignor.AssignWithDelay("a", new Dictionary<string, WorkerMetadata> { ["a"] = Runs("http://a"), ["b"] = Runs("http://b") }, config);
        Assert.Equal(TimeSpan.Zero, delay);
        Assert.Equal(["c-0", "c-2"], first["a"].Tasks.Select(t => t.ToString()).Order());
        Assert.Equal(["c-1", "c-3"], first["b"].Tasks.Select(t => t.ToString()).Order());
        return (assignor, config);
    }

    [Fact]
    public void A_departed_workers_tasks_are_held_until_the_delay_is_over_then_assigned()
    {
        var time = new FakeTimeProvider();
        var (assignor, config) = TwoWorkersRunning(time);

        var (held, delay) = assignor.AssignWithDelay("a", new Dictionary<string, WorkerMetadata> { ["a"] = Runs("http://a", "c", "c-0", "c-2") }, config);
        Assert.Equal(Delay, delay);
        Assert.Equal(["c-0", "c-2"], held["a"].Tasks.Select(t => t.ToString()).Order());
        Assert.True(assignor.HoldsLostWork);

        time.Advance(TimeSpan.FromSeconds(10));
        var (stillHeld, remaining) = assignor.AssignWithDelay("a", new Dictionary<string, WorkerMetadata> { ["a"] = Runs("http://a", "c", "c-0", "c-2") }, config);
        Assert.Equal(TimeSpan.FromSeconds(20), remaining);
        Assert.Equal(2, stillHeld["a"].Tasks.Count);

        time.Advance(TimeSpan.FromSeconds(20));
        var (after, none) = assignor.AssignWithDelay("a", new Dictionary<string, WorkerMetadata> { ["a"] = Runs("http://a", "c", "c-0", "c-2") }, config);
        Assert.Equal(TimeSpan.Zero, none);
        Assert.Equal(["c-0", "c-1", "c-2", "c-3"], after["a"].Tasks.Select(t => t.ToString()).Order());
        Assert.False(assignor.HoldsLostWork);
    }

    [Fact]
    public void A_worker_that_joins_within_the_delay_gets_the_lost_tasks_and_nothing_else_moves()
    {
        var time = new FakeTimeProvider();
        var (assignor, config) = TwoWorkersRunning(time);
        assignor.AssignWithDelay("a", new Dictionary<string, WorkerMetadata> { ["a"] = Runs("http://a", "c", "c-0", "c-2") }, config);

        time.Advance(TimeSpan.FromSeconds(5));
        // b restarted: a new member id, running nothing yet.
        var (back, delay) = assignor.AssignWithDelay("a", new Dictionary<string, WorkerMetadata>
        {
            ["a"] = Runs("http://a", "c", "c-0", "c-2"), ["b2"] = Runs("http://b"),
        }, config);
        Assert.Equal(TimeSpan.Zero, delay);
        Assert.Equal(["c-1", "c-3"], back["b2"].Tasks.Select(t => t.ToString()).Order());
        Assert.Equal(["c-0", "c-2"], back["a"].Tasks.Select(t => t.ToString()).Order());
        Assert.Empty(back["a"].RevokedTasks);
    }

    [Fact]
    public void New_work_is_assigned_at_once_while_lost_work_is_held()
    {
        var time = new FakeTimeProvider();
        var (assignor, _) = TwoWorkersRunning(time);
        var withNew = Config(("c", 4), ("d", 1));

        var (assigned, delay) = assignor.AssignWithDelay("a", new Dictionary<string, WorkerMetadata> { ["a"] = Runs("http://a", "c", "c-0", "c-2") }, withNew);
        Assert.Equal(Delay, delay);
        Assert.Contains("d", assigned["a"].Connectors);
        Assert.Equal(["c-0", "c-2", "d-0"], assigned["a"].Tasks.Select(t => t.ToString()).Order());
    }

    [Fact]
    public void Without_a_delay_a_departed_workers_tasks_are_assigned_at_once()
    {
        var time = new FakeTimeProvider();
        var assignor = new IncrementalCooperativeAssignor(TimeSpan.Zero, time);
        var config = Config(("c", 4));
        assignor.AssignWithDelay("a", new Dictionary<string, WorkerMetadata> { ["a"] = Runs("http://a"), ["b"] = Runs("http://b") }, config);

        var (after, delay) = assignor.AssignWithDelay("a", new Dictionary<string, WorkerMetadata> { ["a"] = Runs("http://a", "c", "c-0", "c-2") }, config);
        Assert.Equal(TimeSpan.Zero, delay);
        Assert.Equal(4, after["a"].Tasks.Count);
    }
}
