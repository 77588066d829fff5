using System.Text.Json.Nodes;
using Tributary.Integration.Tests.Harness;
using Tributary.SchemaRegistry.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.SchemaRegistry.Tests.Cluster;

/// <summary>Two registry processes on one store: one elected writer, the other forwards; kill -9 the writer and the
/// other takes over, continuing the ids without issuing one twice; a restarted instance replays everything.</summary>
public sealed class WriterFailoverTests(ITestOutputHelper output)
{
    private static string Schema(int n) =>
        RegistryHttp.SchemaBody($$"""{"type":"record","name":"R{{n}}","fields":[{"name":"f","type":"string"}]}""");

    private static async Task<(string? Leader, bool IsSelf)> LeaderSeenBy(RegistryProcess registry)
    {
        using var http = new RegistryHttp(registry.Url);
        var answer = (await http.GetAsync("/tributary/leader")).Json!;
        return (answer["leader"]?.GetValue<string>(), answer["isSelf"]!.GetValue<bool>());
    }

    /// <summary>Registers through <paramref name="via"/>, retrying while a writer is being elected (50003/50004), bounded.</summary>
    private static async Task<int> RegisterAsync(RegistryProcess via, string subject, int n)
    {
        using var http = new RegistryHttp(via.Url);
        RegistryAnswer? last = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            last = await http.PostAsync($"/subjects/{subject}/versions", Schema(n));
            if (last.Status == 200)
            {
                return last.Json!["id"]!.GetValue<int>();
            }

            Assert.True(last.ErrorCode is 50002 or 50003 or 50004, $"only election-time errors are retried: {last}");
            await Task.Delay(200);
        }

        throw new TimeoutException($"registration through {via.Name} kept failing: {last}");
    }

    [Fact]
    public async Task Killing_the_writer_hands_writes_to_the_other_instance_without_reusing_an_id()
    {
        await using var broker = await BrokerProcess.StartAsync(output);
        await using var a = await RegistryProcess.StartAsync(broker.BootstrapServers, output, name: "sr-a");
        await using var b = await RegistryProcess.StartAsync(broker.BootstrapServers, output, name: "sr-b");

        await Eventually.TrueAsync(async () =>
        {
            var (leaderA, selfA) = await LeaderSeenBy(a);
            var (leaderB, selfB) = await LeaderSeenBy(b);
            return leaderA is not null && leaderA == leaderB && selfA != selfB;
        }, "both instances agree on one writer", TimeSpan.FromSeconds(60));

        var ids = new List<int>();
        for (int n = 0; n < 6; n++)
        {
            // Alternate instances: the non-writer forwards to the writer.
            ids.Add(await RegisterAsync(n % 2 == 0 ? a : b, $"subject-{n}", n));
        }

        var (writerUrl, _) = await LeaderSeenBy(a);
        var (writer, survivor) = writerUrl == a.Url ? (a, b) : (b, a);
        output.WriteLine($"writer {writer.Name}, ids before the kill: {string.Join(",", ids)}");
        writer.Kill();

        for (int n = 6; n < 12; n++)
        {
            ids.Add(await RegisterAsync(survivor, $"subject-{n}", n));
        }

        output.WriteLine($"ids after the kill: {string.Join(",", ids.Skip(6))}");
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.True(ids.Skip(6).Min() > ids.Take(6).Max(), "the new writer continues above every id the old one issued");
        var (leaderNow, isSelf) = await LeaderSeenBy(survivor);
        Assert.True(isSelf, $"the survivor is the writer now (it sees {leaderNow})");

        // Every schema, whoever wrote it, is served by the survivor and by a freshly started instance replaying the topic.
        await using var c = await RegistryProcess.StartAsync(broker.BootstrapServers, output, name: "sr-c");
        using var survivorHttp = new RegistryHttp(survivor.Url);
        using var freshHttp = new RegistryHttp(c.Url);
        for (int n = 0; n < ids.Count; n++)
        {
            var fromSurvivor = await survivorHttp.GetAsync($"/schemas/ids/{ids[n]}");
            var fromFresh = await freshHttp.GetAsync($"/schemas/ids/{ids[n]}");
            Assert.Equal(200, fromSurvivor.Status);
            Assert.Equal(fromSurvivor.Body, fromFresh.Body);
            Assert.Contains($"R{n}", fromFresh.Body, StringComparison.Ordinal);
        }

        Assert.Equal((await survivorHttp.GetAsync("/subjects")).Body, (await freshHttp.GetAsync("/subjects")).Body);
    }
}
