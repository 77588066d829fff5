using System.Text.Json.Nodes;
using Tributary.Connect.Tests.Harness;
using Tributary.Integration.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.Connect.Tests.Worker;

/// <summary>Several worker processes in one Connect group: work moves when a worker dies and spreads when one joins.</summary>
public sealed class DistributedWorkersTests(ITestOutputHelper output)
{
    private const int Tasks = 6;

    private static async Task<Dictionary<string, int>> TasksPerWorkerAsync(ConnectWorkerProcess any)
    {
        var status = await any.GetAsync("/connectors/spread/status");
        if (status.Code != 200)
        {
            return [];
        }

        return status.Body!["tasks"]!.AsArray()
            .Where(t => t!["state"]!.GetValue<string>() == "RUNNING")
            .GroupBy(t => t!["worker_id"]!.GetValue<string>())
            .ToDictionary(g => g.Key, g => g.Count());
    }

    private static async Task CreateSpreadConnectorAsync(ConnectWorkerProcess worker, string dir) =>
        await worker.CreateConnectorAsync("spread", new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSink", ["topics"] = "spread-in", ["file"] = Path.Combine(dir, "spread.out"), ["tasks.max"] = Tasks.ToString(),
        });

    [Fact]
    public async Task Killing_one_of_three_workers_moves_its_tasks_to_the_other_two()
    {
        await using var broker = await BrokerProcess.StartAsync(output);
        var props = ConnectWorkerProcess.DistributedDefaults(broker.BootstrapServers, "trio");
        await using var w1 = await ConnectWorkerProcess.StartAsync(output, props, name: "w1");
        await using var w2 = await ConnectWorkerProcess.StartAsync(output, props, name: "w2");
        await using var w3 = await ConnectWorkerProcess.StartAsync(output, props, name: "w3");
        var dir = Directory.CreateTempSubdirectory("connect-trio-").FullName;
        // Created through a worker that does not lead: the request is forwarded to the leader, which answers.
        var (receiver, leader) = await SettledFollowerAsync(w1, w2, w3);
        var created = await receiver.PostAsync("/connectors", new JsonObject
        {
            ["name"] = "spread",
            ["config"] = new JsonObject { ["connector.class"] = "FileStreamSink", ["topics"] = "spread-in", ["file"] = Path.Combine(dir, "spread.out"), ["tasks.max"] = Tasks.ToString() },
        });
        Assert.True(created.Code == 201, $"POST /connectors through {receiver.WorkerId}: {created.Code} {created.Body?.ToJsonString()}");
        Assert.True(created.Raw.Headers.TryGetValues(LeaderHeader, out var handledBy), $"{receiver.WorkerId} answered itself: it was the leader");
        Assert.Equal(leader, Assert.Single(handledBy));
        Assert.DoesNotContain(receiver.WorkerId, leader, StringComparison.Ordinal);

        await Eventually.TrueAsync(async () => (await TasksPerWorkerAsync(w1)) is { Count: 3 } spread && spread.Values.All(n => n == 2),
            "6 tasks running, 2 on each of 3 workers", TimeSpan.FromSeconds(90));
        var before = await TasksPerWorkerAsync(w1);
        Assert.Equal(2, before[w2.WorkerId]);

        w2.Kill();
        await Eventually.TrueAsync(async () =>
        {
            var after = await TasksPerWorkerAsync(w1);
            return after.Values.Sum() == Tasks && !after.ContainsKey(w2.WorkerId) && after.Keys.All(k => k == w1.WorkerId || k == w3.WorkerId);
        }, "the killed worker's tasks run on the two survivors", TimeSpan.FromSeconds(60));
        var final = await TasksPerWorkerAsync(w3);
        Assert.Equal(3, final[w1.WorkerId]);
        Assert.Equal(3, final[w3.WorkerId]);
    }

    private const string LeaderHeader = "X-Tributary-Connect-Leader";

    /// <summary>
    /// A worker that forwards writes, and the leader URL it forwards to, once the group has settled: every worker agrees on
    /// one leader (the followers forward a write for an unknown connector there, the leader answers it itself).
    /// </summary>
    private static async Task<(ConnectWorkerProcess Follower, string Leader)> SettledFollowerAsync(params ConnectWorkerProcess[] workers)
    {
        Func<Task<(ConnectWorkerProcess, string)?>> probeAll = async () =>
        {
            var seen = new List<(ConnectWorkerProcess Worker, string? Leader)>();
            foreach (var w in workers)
            {
                var probe = await w.PutAsync("/connectors/no-such-connector/stop");
                if (probe.Code != 404)
                {
                    return null;
                }

                seen.Add((w, probe.Raw.Headers.TryGetValues(LeaderHeader, out var v) ? v.Single() : null));
            }

            var followers = seen.Where(s => s.Leader is not null).ToList();
            var leaders = seen.Where(s => s.Leader is null).ToList();
            var agreed = followers.Select(f => f.Leader!).Distinct().ToList();
            return followers.Count == workers.Length - 1 && leaders.Count == 1 && agreed.Count == 1
                && agreed[0].Contains(leaders[0].Worker.WorkerId, StringComparison.Ordinal)
                ? ((ConnectWorkerProcess, string)?)(followers[0].Worker, agreed[0])
                : null;
        };
        var found = await Eventually.ValueAsync<(ConnectWorkerProcess, string)?>(probeAll, found => found is not null, TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(500));
        Assert.True(found is not null, "the workers did not agree on one leader within 90 s");
        return found.Value;
    }

    [Fact]
    public async Task A_killed_workers_tasks_wait_scheduled_rebalance_max_delay_before_they_move()
    {
        var delay = TimeSpan.FromSeconds(20);
        await using var broker = await BrokerProcess.StartAsync(output);
        var props = ConnectWorkerProcess.DistributedDefaults(broker.BootstrapServers, "kip415");
        props["scheduled.rebalance.max.delay.ms"] = ((long)delay.TotalMilliseconds).ToString();
        await using var w1 = await ConnectWorkerProcess.StartAsync(output, props, name: "w1");
        await using var w2 = await ConnectWorkerProcess.StartAsync(output, props, name: "w2");
        var dir = Directory.CreateTempSubdirectory("connect-kip415-").FullName;
        await CreateSpreadConnectorAsync(w1, dir);
        await Eventually.TrueAsync(async () => (await TasksPerWorkerAsync(w1)) is { Count: 2 } spread && spread.Values.All(n => n == 3),
            "6 tasks, 3 on each of 2 workers", TimeSpan.FromSeconds(90));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        w2.Kill();
        await Eventually.TrueAsync(async () => (await TasksPerWorkerAsync(w1)) is { } after && after.GetValueOrDefault(w1.WorkerId) == Tasks,
            "the killed worker's tasks run on the survivor", delay + TimeSpan.FromSeconds(90));
        // Without the delay they move once w2's session (6 s) expires; with it, not before the delay is over.
        Assert.True(clock.Elapsed >= delay, $"tasks moved after {clock.Elapsed.TotalSeconds:F1} s, before scheduled.rebalance.max.delay.ms ({delay.TotalSeconds} s)");
    }

    [Fact]
    public async Task A_worker_back_within_scheduled_rebalance_max_delay_gets_its_tasks_back_and_none_run_elsewhere()
    {
        await using var broker = await BrokerProcess.StartAsync(output);
        var props = ConnectWorkerProcess.DistributedDefaults(broker.BootstrapServers, "kip415-back");
        props["scheduled.rebalance.max.delay.ms"] = "300000";
        await using var w1 = await ConnectWorkerProcess.StartAsync(output, props, name: "w1");
        await using var w2 = await ConnectWorkerProcess.StartAsync(output, props, name: "w2");
        var dir = Directory.CreateTempSubdirectory("connect-kip415-back-").FullName;
        await CreateSpreadConnectorAsync(w1, dir);
        await Eventually.TrueAsync(async () => (await TasksPerWorkerAsync(w1)) is { Count: 2 } spread && spread.Values.All(n => n == 3),
            "6 tasks, 3 on each of 2 workers", TimeSpan.FromSeconds(90));

        w2.Kill();
        await w2.RestartAsync();
        var mostOnW1 = 0;
        await Eventually.TrueAsync(async () =>
        {
            var now = await TasksPerWorkerAsync(w1);
            mostOnW1 = Math.Max(mostOnW1, now.GetValueOrDefault(w1.WorkerId));
            var restarted = await w2.GetAsync("/connectors/spread/status");
            return now.GetValueOrDefault(w2.WorkerId) == 3 && now.GetValueOrDefault(w1.WorkerId) == 3 && restarted.Code == 200;
        }, "the restarted worker runs its 3 tasks again", TimeSpan.FromSeconds(120));
        Assert.Equal(3, mostOnW1);
    }

    [Fact]
    public async Task Adding_a_worker_gives_it_a_share_of_the_tasks()
    {
        await using var broker = await BrokerProcess.StartAsync(output);
        var props = ConnectWorkerProcess.DistributedDefaults(broker.BootstrapServers, "grow");
        await using var w1 = await ConnectWorkerProcess.StartAsync(output, props, name: "w1");
        await using var w2 = await ConnectWorkerProcess.StartAsync(output, props, name: "w2");
        var dir = Directory.CreateTempSubdirectory("connect-grow-").FullName;
        await CreateSpreadConnectorAsync(w1, dir);
        await Eventually.TrueAsync(async () => (await TasksPerWorkerAsync(w1)) is { Count: 2 } spread && spread.Values.All(n => n == 3),
            "6 tasks, 3 on each of 2 workers", TimeSpan.FromSeconds(90));

        await using var w3 = await ConnectWorkerProcess.StartAsync(output, props, name: "w3");
        await Eventually.TrueAsync(async () => (await TasksPerWorkerAsync(w1)) is { Count: 3 } spread && spread.Values.All(n => n == 2),
            "6 tasks, 2 on each of 3 workers after the third joined", TimeSpan.FromSeconds(60));
        var info = await w3.GetAsync("/connectors/spread");
        Assert.Equal(Tasks, info.Body!["tasks"]!.AsArray().Count);
    }
}
