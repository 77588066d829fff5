using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Tributary.Streams.Tests.Harness;
using Tributary.Streams.Windows;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Windows;

/// <summary>
/// Our session windows (Tributary.Streams, on Streamiz's public transformer/store API) in a real Streamiz application
/// against a real 3-broker cluster.
/// </summary>
[Collection(StreamsClusterCollection.Name)]
public sealed class SessionWindowTests
{
    private const long B = 1_000_000; // base timestamp; all times below are B + seconds
    private static readonly SessionWindowOptions Windows = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5));

    private readonly StreamsCluster cluster;

    public SessionWindowTests(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        cluster.Attach(output);
    }

    /// <summary>
    /// Kafka Streams' session semantics (gap 10 s, grace 5 s; a record is late when its merged session ends before
    /// stream time − grace − gap), with caching off so every update is forwarded:
    /// A@0 opens [0,0]=1. A@5 is within the gap: [0,0] is merged away (tombstone) into [0,5]=2. A@30 opens [30,30]=1.
    /// A@18 arrives out of order (close time 30−15=15 ≤ 18): a new session [18,18]=1 (0..5 ends 13 s before it).
    /// A@22 lies within the gap of both [18,18] and [30,30]: both are merged away (two tombstones) into [18,30]=3.
    /// A@2 would merge into [0,5], which ends before the close time 15: dropped and counted, nothing forwarded.
    /// B@31 opens its own session [31,31]=1 (sessions are per key).
    /// </summary>
    [Fact]
    public async Task Session_count_merges_sessions_and_drops_late_records()
    {
        using var dropped = new DroppedRecords();
        var run = await StartAsync("session-count");
        await using (run.App)
        {
            await cluster.ProduceAsync(run.Input, [At("A", 0), At("A", 5), At("A", 30), At("A", 18), At("A", 22), At("A", 2), At("B", 31)]);
            var output = await ReadAsync(run.Output, 9);
            Assert.Equal(
            [
                ("A@0/0", "1"), ("A@0/0", null), ("A@0/5", "2"), ("A@30/30", "1"), ("A@18/18", "1"),
                ("A@18/18", null), ("A@30/30", null), ("A@18/30", "3"), ("B@31/31", "1"),
            ], output);
            Assert.Equal(1, dropped.Count(run.ApplicationId, "expired-window"));
        }
    }

    /// <summary>
    /// The sessions and the stream time live in a store backed by a compacted changelog topic: after the instance
    /// closes and its local state directory is deleted, a new instance restores both from the changelog. A@35 then
    /// extends the restored [18,30]=3 to [18,35]=4 (tombstone for [18,30] first), and A@3, late against the restored
    /// stream time 31 (its session [0,5] ends before 31−15), is dropped, not counted into a fresh session.
    /// </summary>
    [Fact]
    public async Task Sessions_and_stream_time_are_restored_from_the_changelog_after_a_restart()
    {
        using var dropped = new DroppedRecords();
        var run = await StartAsync("session-restore");
        await using (run.App)
        {
            await cluster.ProduceAsync(run.Input, [At("A", 0), At("A", 5), At("A", 30), At("A", 18), At("A", 22), At("B", 31)]);
            Assert.Equal(9, (await ReadAsync(run.Output, 9)).Count);
        }

        if (Directory.Exists(run.App.StateDirectory))
        {
            Directory.Delete(run.App.StateDirectory, recursive: true);
        }

        var changelog = $"{run.ApplicationId}-{run.ApplicationId}-store-changelog";
        var configs = await cluster.DescribeTopicConfigAsync(changelog);
        Assert.Equal("compact", configs["cleanup.policy"].Value);

        var restarted = await StartAsync("session-restore", run.ApplicationId, run.Input, run.Output);
        await using (restarted.App)
        {
            // Every processed record wrote its key's windows (and the stream time) to the changelog, so a restore reads some back.
            // Streamiz reports RUNNING before its tasks finish restoring; wait for the restoration's end.
            await Eventually.TrueAsync(() => restarted.App.RestoredRecords.GetValueOrDefault(run.ApplicationId + "-store") > 0,
                "the store was restored from its changelog", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));
            await cluster.ProduceAsync(run.Input, [At("A", 3), At("A", 35)]);
            var output = await ReadAsync(run.Output, 11);
            Assert.Equal([("A@18/30", null), ("A@18/35", "4")], output.Skip(9));
            Assert.Equal(1, dropped.Count(run.ApplicationId, "expired-window"));
        }
    }

    private static InputRecord At(string key, int seconds) => new(key, "v", B + (seconds * 1000L));

    private async Task<List<(string?, string?)>> ReadAsync(string topic, int expected) =>
        (await cluster.ConsumeAsync(topic, expected, Deserializers.Utf8)).Select(r => (r.Key, (string?)r.Value)).ToList();

    private async Task<(StreamsApp App, string ApplicationId, string Input, string Output)> StartAsync(string name, string? applicationId = null,
        string? input = null, string? output = null)
    {
        applicationId ??= name + "-" + Guid.NewGuid().ToString("N")[..8];
        input ??= applicationId + "-in";
        output ??= applicationId + "-out";
        if (!cluster.ListTopics().Contains(input))
        {
            await cluster.CreateTopicsAsync(1, input, output);
        }

        var builder = new StreamBuilder();
        builder.Stream<string, string>(input)
            .CountSessions(Windows, applicationId + "-store", new StringSerDes())
            .Map((k, v, _) => KeyValuePair.Create($"{k.Key}@{(k.Window.StartMs - B) / 1000}/{(k.Window.EndMs - B) / 1000}", v?.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .To(output);
        return (await StreamsApp.StartAsync(cluster, builder, StreamsApp.Config(cluster, applicationId)), applicationId, input, output);
    }
}
