using System.Text.Json;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Monitoring;

/// <summary><c>tributary.log.format=json</c>: the broker's console is one JSON object per line, each with its event's id and name.</summary>
public sealed class JsonLogFormatTests(ITestOutputHelper output)
{
    private const string Prefix = "[broker] ";

    [Fact]
    public async Task Json_log_format_writes_one_object_per_line_with_event_id_and_name()
    {
        await using var broker = await BrokerProcess.StartAsync(output, new Dictionary<string, string> { ["tributary.log.format"] = "json" });

        // /readyz turns 200 just before the BrokerReady event is logged, and the console logger writes on its own thread.
        var events = await Eventually.ValueAsync(
            () => BrokerEvents(broker.Log.RecentLines()),
            e => e.Any(x => x.TryGetProperty("eventName", out var n) && n.GetString() == "BrokerReady"),
            TimeSpan.FromSeconds(10));

        Assert.NotEmpty(events);
        Assert.All(events, e =>
        {
            Assert.True(e.GetProperty("eventId").GetInt32() >= 0);
            Assert.False(string.IsNullOrEmpty(e.GetProperty("level").GetString()));
            Assert.False(string.IsNullOrEmpty(e.GetProperty("category").GetString()));
            Assert.False(string.IsNullOrEmpty(e.GetProperty("timestamp").GetString()));
        });
        var ready = Assert.Single(events, e => e.TryGetProperty("eventName", out var name) && name.GetString() == "BrokerReady");
        Assert.Equal(1, ready.GetProperty("eventId").GetInt32());
        Assert.Equal("Tributary.Broker", ready.GetProperty("category").GetString());
        Assert.Equal(BrokerProcess.NodeId, ready.GetProperty("fields").GetProperty("NodeId").GetInt32());
    }

    /// <summary>Every line the broker wrote to its console, parsed as JSON (a line that is not JSON throws).</summary>
    private static List<JsonElement> BrokerEvents(string recentLines) =>
        recentLines.Split(Environment.NewLine)
            .Where(l => l.StartsWith(Prefix, StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l[Prefix.Length..]).RootElement.Clone())
            .ToList();
}
