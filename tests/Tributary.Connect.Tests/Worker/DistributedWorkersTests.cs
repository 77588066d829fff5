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
        // Created through a worker that may not lead: the request is forwarded to the leader.
        await CreateSpreadConnectorAsync(w3, dir);

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
