using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Stream;
using Streamiz.Kafka.Net.Table;
using Tributary.Streams.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Stateful;

/// <summary>Streamiz's own tumbling and hopping windows, unchanged, against a real 3-broker cluster.</summary>
[Collection(StreamsClusterCollection.Name)]
public sealed class TimeWindowTests
{
    private const long B = 1_000_000; // base timestamp, a multiple of every window size below; times are B + seconds

    private readonly StreamsCluster cluster;

    public TimeWindowTests(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        cluster.Attach(output);
    }

    /// <summary>
    /// Kafka Streams' tumbling windows (size 10 s, grace 5 s; windows [start, start+10) aligned to the epoch; an update
    /// is dropped when its window's end is not after stream time − grace): A@1, A@4 count [0,10) to 2; A@12 opens
    /// [10,20)=1 (stream time 12, close 7); A@8 arrives out of order but [0,10) ends at 10 &gt; 7: 3. A@21 opens
    /// [20,30)=1 (close 16); A@9 is late ([0,10) ends at 10 ≤ 16): dropped; A@15 is out of order but on time: [10,20)=2.
    /// </summary>
    [Fact]
    public async Task Tumbling_window_count_accepts_out_of_order_records_within_grace_and_drops_late_ones()
    {
        var output = await RunAsync("tumbling", TumblingWindowOptions.Of(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5)),
            [1, 4, 12, 8, 21, 9, 15], 6);
        Assert.Equal([("A@0/10", "1"), ("A@0/10", "2"), ("A@10/20", "1"), ("A@0/10", "3"), ("A@20/30", "1"), ("A@10/20", "2")], output.Records);
        Assert.Equal("compact,delete", output.ChangelogConfig["cleanup.policy"].Value);
    }

    /// <summary>
    /// Kafka Streams' hopping windows (size 10 s, advance 5 s, grace 5 s; each record lands in every window
    /// [5n, 5n+10) containing it, updated in start order): A@3 → [−5,5)=1, [0,10)=1; A@7 → [0,10)=2, [5,15)=1; A@14 →
    /// [5,15)=2, [10,20)=1 (stream time 14, close 9). A@4 arrives out of order: [−5,5) ends at 5 ≤ 9 (dropped) but
    /// [0,10) ends at 10 &gt; 9: 3. A@1 likewise updates only [0,10): 4.
    /// </summary>
    [Fact]
    public async Task Hopping_window_count_updates_every_overlapping_window_and_drops_only_the_closed_ones()
    {
        var output = await RunAsync("hopping", HoppingWindowOptions.Of(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)),
            [3, 7, 14, 4, 1], 8);
        Assert.Equal(
        [
            ("A@-5/5", "1"), ("A@0/10", "1"), ("A@0/10", "2"), ("A@5/15", "1"), ("A@5/15", "2"), ("A@10/20", "1"), ("A@0/10", "3"), ("A@0/10", "4"),
        ], output.Records);
    }

    private async Task<(List<(string?, string?)> Records, IReadOnlyDictionary<string, Confluent.Kafka.Admin.ConfigEntryResult> ChangelogConfig)> RunAsync<W>(
        string name, WindowOptions<W> windows, int[] seconds, int expected) where W : Window
    {
        var applicationId = name + "-" + Guid.NewGuid().ToString("N")[..8];
        var input = applicationId + "-in";
        var output = applicationId + "-out";
        await cluster.CreateTopicsAsync(1, input, output);
        var builder = new StreamBuilder();
        builder.Stream<string, string>(input)
            .GroupByKey()
            .WindowedBy(windows)
            .Count(InMemoryWindows.As<string, long>("window-counts").WithValueSerdes<Int64SerDes>())
            .ToStream()
            .Map((k, v, _) => KeyValuePair.Create(
                $"{k.Key}@{(k.Window.StartMs - B) / 1000}/{(k.Window.EndMs - B) / 1000}", v.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .To(output);
        await using var app = await StreamsApp.StartAsync(cluster, builder, StreamsApp.Config(cluster, applicationId));
        await cluster.ProduceAsync(input, seconds.Select(s => new InputRecord("A", "v", B + (s * 1000L))));
        var records = await cluster.ConsumeAsync(output, expected, Deserializers.Utf8);
        return (records.Select(r => (r.Key, (string?)r.Value)).ToList(), await cluster.DescribeTopicConfigAsync($"{applicationId}-window-counts-changelog"));
    }
}
