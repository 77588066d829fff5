using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.State;
using Tributary.Streams.Sample;
using Tributary.Streams.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Stateful;

/// <summary>The sample application's topology (streams/samples) against the real 3-broker cluster, end to end.</summary>
[Collection(StreamsClusterCollection.Name)]
public sealed class SampleTopologyTests
{
    private static readonly long T0 = new DateTimeOffset(2026, 1, 1, 10, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private readonly StreamsCluster cluster;

    public SampleTopologyTests(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        cluster.Attach(output);
    }

    /// <summary>
    /// CDC rows c|o1|c1|12 (10:00:00), c|o2|c2|30 (10:00:10), c|o3|c1|5 (10:00:20) and the delete d|o2 (10:00:30): deletes
    /// are dropped, the rest become orders keyed by customer; each order is enriched with the customer's name from the
    /// table; the per-minute sum of c1 goes 12 then 17, of c2 30; c1's two orders 20 s apart form one session (the first
    /// one-record session is merged away with a tombstone).
    /// </summary>
    [Fact]
    public async Task Sample_maps_cdc_rows_aggregates_per_minute_and_per_session_and_enriches_orders()
    {
        string[] topics = [SampleTopology.CdcTopic, SampleTopology.OrdersTopic, SampleTopology.CustomersTopic, SampleTopology.PerMinuteTopic,
            SampleTopology.SessionsTopic, SampleTopology.EnrichedTopic];
        await cluster.CreateTopicsAsync(3, topics);
        await cluster.ProduceAsync(SampleTopology.CustomersTopic, [new("c1", "Ada", T0 - 60_000), new("c2", "Grace", T0 - 60_000)]);

        var config = StreamsApp.Config(cluster, "tributary-streams-sample-test");
        await using var app = await StreamsApp.StartAsync(cluster, SampleTopology.Build(), config);
        await Eventually.TrueAsync(() =>
        {
            try
            {
                return app.Stream.Store(StoreQueryParameters.FromNameAndType("customers", QueryableStoreTypes.KeyValueStore<string, string>())).Get("c2") == "Grace";
            }
            catch (Streamiz.Kafka.Net.Errors.InvalidStateStoreException)
            {
                return false;
            }
        }, "customers table loaded", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));

        await cluster.ProduceAsync(SampleTopology.CdcTopic, [new("o1", "c|o1|c1|12", T0), new("o2", "c|o2|c2|30", T0 + 10_000),
            new("o3", "c|o3|c1|5", T0 + 20_000), new("o2", "d|o2|c2|30", T0 + 30_000)]);

        var enriched = await PerKeyAsync(SampleTopology.EnrichedTopic, 3);
        Assert.Equal(["Ada ordered 12", "Ada ordered 5"], enriched["c1"]);
        Assert.Equal(["Grace ordered 30"], enriched["c2"]);

        var perMinute = await PerKeyAsync(SampleTopology.PerMinuteTopic, 3);
        Assert.Equal(["12", "17"], perMinute["c1@10:00"]);
        Assert.Equal(["30"], perMinute["c2@10:00"]);

        var sessions = await cluster.ConsumeAsync(SampleTopology.SessionsTopic, 4, Deserializers.Utf8);
        Assert.Equal(
            [($"c1@[{T0},{T0}]", "1"), ($"c1@[{T0},{T0}]", null), ($"c1@[{T0},{T0 + 20_000}]", "2")],
            sessions.Where(r => r.Key!.StartsWith("c1", StringComparison.Ordinal)).Select(r => (r.Key, (string?)r.Value)));
        Assert.Equal([($"c2@[{T0 + 10_000},{T0 + 10_000}]", "1")], sessions.Where(r => r.Key!.StartsWith("c2", StringComparison.Ordinal)).Select(r => (r.Key, (string?)r.Value)));
    }

    private async Task<Dictionary<string, List<string>>> PerKeyAsync(string topic, int expected) =>
        (await cluster.ConsumeAsync(topic, expected, Deserializers.Utf8))
            .GroupBy(r => r.Key!).ToDictionary(g => g.Key, g => g.Select(r => r.Value).ToList());
}
