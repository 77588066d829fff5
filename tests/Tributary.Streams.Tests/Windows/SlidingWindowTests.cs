using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Tributary.Streams.Tests.Harness;
using Tributary.Streams.Windows;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Windows;

/// <summary>Our sliding windows (Tributary.Streams) in a real Streamiz application against a real 3-broker cluster.</summary>
[Collection(StreamsClusterCollection.Name)]
public sealed class SlidingWindowTests
{
    private const long B = 1_000_000; // base timestamp; all times below are B + seconds
    private static readonly SlidingWindowOptions Windows = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5));

    private readonly StreamsCluster cluster;

    public SlidingWindowTests(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        cluster.Attach(output);
    }

    /// <summary>
    /// Kafka Streams' sliding windows (KIP-450; size 10 s, grace 5 s; windows [start, start+10] inclusive, created per
    /// record as its left window [t−10, t] and, when later records lie within 10 s, its right window [t+1, t+11]):
    /// (times in seconds; a right window starts 1 ms after its record, so the output names windows in ms from the base)
    /// A@10 creates [0,10]=1. A@15 creates A@10's right window [10.001,20.001]={15}=1 and its own left window
    /// [5,15]={10,15}=2. A@30 creates [20,30]=1 (A@15 is 15 s back: no right window for it, and a fresh left one).
    /// A@22 arrives out of order (stream time 30, close time 25): it updates [20,30] to 2, creates A@15's right window
    /// [15.001,25.001]={22}=1, its own left window [12,22] would end before the close time 25 (dropped, counted), and its
    /// right window [22.001,32.001] gets the later record A@30 only: 1. A@5 is late (5 s + 1 ms + 10 s ≤ 25 s): dropped
    /// and counted. B@40 creates B's own [30,40]=1.
    /// </summary>
    [Fact]
    public async Task Sliding_count_creates_left_and_right_windows_and_drops_late_updates()
    {
        using var dropped = new DroppedRecords();
        var applicationId = "sliding-count-" + Guid.NewGuid().ToString("N")[..8];
        var input = applicationId + "-in";
        var output = applicationId + "-out";
        await cluster.CreateTopicsAsync(1, input, output);
        var builder = new StreamBuilder();
        builder.Stream<string, string>(input)
            .CountSliding(Windows, applicationId + "-store", new StringSerDes())
            .Map((k, v, _) => KeyValuePair.Create($"{k.Key}@{k.Window.StartMs - B}/{k.Window.EndMs - B}", v?.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .To(output);

        await using var app = await StreamsApp.StartAsync(cluster, builder, StreamsApp.Config(cluster, applicationId));
        await cluster.ProduceAsync(input, [At("A", 10), At("A", 15), At("A", 30), At("A", 22), At("A", 5), At("B", 40)]);
        var records = await cluster.ConsumeAsync(output, 8, Deserializers.Utf8);
        Assert.Equal(
        [
            ("A@0/10000", "1"), ("A@10001/20001", "1"), ("A@5000/15000", "2"), ("A@20000/30000", "1"),
            ("A@20000/30000", "2"), ("A@15001/25001", "1"), ("A@22001/32001", "1"), ("B@30000/40000", "1"),
        ], records.Select(r => (r.Key, (string?)r.Value)));
        // Each window carries the timestamp of its latest record (A@23/33 holds A@30 only).
        Assert.Equal([10L, 15L, 15L, 30L, 30L, 22L, 30L, 40L], records.Select(r => (r.TimestampMs - B) / 1000));
        Assert.Equal(2, dropped.Count(applicationId, "expired-window"));
    }

    private static InputRecord At(string key, int seconds) => new(key, "v", B + (seconds * 1000L));
}
