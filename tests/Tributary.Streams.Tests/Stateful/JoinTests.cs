using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.State;
using Streamiz.Kafka.Net.Stream;
using Streamiz.Kafka.Net.Table;
using Tributary.Streams.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Stateful;

/// <summary>Streamiz's joins, unchanged, against a real 3-broker cluster.</summary>
[Collection(StreamsClusterCollection.Name)]
public sealed class JoinTests
{
    private readonly StreamsCluster cluster;

    public JoinTests(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        cluster.Attach(output);
    }

    /// <summary>
    /// Kafka Streams' stream–table join: each stream record looks up the table's current value for its key at the time it
    /// is processed (table updates produce no output). Inner join drops orders of unknown customers; left join pairs them
    /// with null. The table's rows are in the store (queried through Streamiz's interactive queries) before the orders
    /// are produced, so the lookups are deterministic; c1's row then changes, and the next order sees the new value.
    /// </summary>
    [Fact]
    public async Task Stream_table_join_looks_up_the_current_table_value_per_record()
    {
        var applicationId = "stream-table-" + Guid.NewGuid().ToString("N")[..8];
        string customers = applicationId + "-customers", orders = applicationId + "-orders", inner = applicationId + "-inner", left = applicationId + "-left";
        await cluster.CreateTopicsAsync(1, customers, orders, inner, left);
        await cluster.ProduceAsync(customers, [new("c1", "Ada", 1_000), new("c2", "Grace", 1_000)]);

        var builder = new StreamBuilder();
        var table = builder.Table<string, string>(customers, InMemory.As<string, string>("customers-store"));
        var stream = builder.Stream<string, string>(orders);
        stream.Join(table, (order, customer) => $"{order} for {customer}").To(inner);
        stream.LeftJoin(table, (order, customer) => $"{order} for {customer ?? "nobody"}").To(left);

        await using var app = await StreamsApp.StartAsync(cluster, builder, StreamsApp.Config(cluster, applicationId));
        await WaitForTableAsync(app, "customers-store", "c2", "Grace");
        await cluster.ProduceAsync(orders, [new("c1", "book", 2_000), new("c3", "lamp", 3_000), new("c2", "pen", 4_000)]);
        Assert.Equal(3, (await cluster.ConsumeAsync(left, 3, Deserializers.Utf8, TimeSpan.Zero)).Count);
        await cluster.ProduceAsync(customers, [new("c1", "Ada L.", 5_000)]);
        await WaitForTableAsync(app, "customers-store", "c1", "Ada L.");
        await cluster.ProduceAsync(orders, [new("c1", "desk", 6_000)]);

        Assert.Equal([("c1", "book for Ada"), ("c2", "pen for Grace"), ("c1", "desk for Ada L.")], await ReadAsync(inner, 3));
        Assert.Equal([("c1", "book for Ada"), ("c3", "lamp for nobody"), ("c2", "pen for Grace"), ("c1", "desk for Ada L.")], await ReadAsync(left, 4));
    }

    /// <summary>
    /// Kafka Streams' stream–global-table join: the global table is loaded in full on every instance before processing,
    /// and each stream record looks it up by a key computed from the record (here the product id in the value), not by
    /// the record's key, so no co-partitioning is needed. Inner join: an unknown product is dropped.
    /// </summary>
    [Fact]
    public async Task Stream_global_table_join_looks_up_by_a_key_mapped_from_the_value()
    {
        var applicationId = "stream-global-" + Guid.NewGuid().ToString("N")[..8];
        string products = applicationId + "-products", sales = applicationId + "-sales", output = applicationId + "-out";
        await cluster.CreateTopicsAsync(3, products);
        await cluster.CreateTopicsAsync(1, sales, output);
        await cluster.ProduceAsync(products, [new("p1", "kettle", 1_000), new("p2", "toaster", 1_000), new("p3", "mixer", 1_000)]);

        var builder = new StreamBuilder();
        var global = builder.GlobalTable<string, string>(products, InMemory.As<string, string>("products-store"));
        builder.Stream<string, string>(sales)
            .Join(global, (_, v) => v.Split('x')[0], (sale, product) => $"{sale.Split('x')[1]} x {product}")
            .To(output);

        await using var app = await StreamsApp.StartAsync(cluster, builder, StreamsApp.Config(cluster, applicationId));
        await cluster.ProduceAsync(sales, [new("s1", "p2x1", 2_000), new("s2", "p9x4", 3_000), new("s3", "p3x2", 4_000), new("s4", "p1x5", 5_000)]);
        Assert.Equal([("s1", "1 x toaster"), ("s3", "2 x mixer"), ("s4", "5 x kettle")], await ReadAsync(output, 3));
    }

    /// <summary>
    /// Kafka Streams' windowed stream–stream inner join (window 10 s; grace 60 s, so no record is late here): records
    /// join when their timestamps are at most 10 s apart, in either order of arrival. Clicks and views on the same key
    /// pair up within the window; a click 30 s after its view does not join. Output order between the two inputs
    /// depends on arrival, so the result is compared sorted; each pair appears exactly once.
    /// </summary>
    [Fact]
    public async Task Stream_stream_join_pairs_records_within_the_join_window()
    {
        var applicationId = "stream-stream-" + Guid.NewGuid().ToString("N")[..8];
        string views = applicationId + "-views", clicks = applicationId + "-clicks", output = applicationId + "-out";
        await cluster.CreateTopicsAsync(1, views, clicks, output);
        var builder = new StreamBuilder();
        var viewStream = builder.Stream<string, string>(views);
        var clickStream = builder.Stream<string, string>(clicks);
        viewStream.Join(clickStream, (view, click) => $"{view}+{click}", JoinWindowOptions.Of(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60))).To(output);

        await using var app = await StreamsApp.StartAsync(cluster, builder, StreamsApp.Config(cluster, applicationId));
        const long b = 1_000_000;
        await cluster.ProduceAsync(views, [new("u1", "v1", b), new("u2", "v2", b + 1_000), new("u3", "v3", b + 2_000)]);
        await cluster.ProduceAsync(clicks, [new("u1", "c1", b + 5_000), new("u2", "c2", b + 11_000), new("u3", "c3", b + 32_000), new("u1", "c1b", b + 9_000)]);
        var joined = await ReadAsync(output, 3);
        Assert.Equal([("u1", "v1+c1"), ("u1", "v1+c1b"), ("u2", "v2+c2")], joined.Order());
    }

    /// <summary>
    /// Kafka Streams' table–table inner join: an update on either side re-joins with the other side's current value and
    /// is forwarded when both exist; deleting one side forwards a tombstone for the key. Each step waits for its output,
    /// so the order is exact: A(k1)=a1 alone gives nothing; B(k1)=b1 → a1/b1; A(k1)=a2 → a2/b1; B(k1) deleted → null.
    /// </summary>
    [Fact]
    public async Task Table_table_join_follows_updates_and_deletes_on_both_sides()
    {
        var applicationId = "table-table-" + Guid.NewGuid().ToString("N")[..8];
        string leftTopic = applicationId + "-a", rightTopic = applicationId + "-b", output = applicationId + "-out";
        await cluster.CreateTopicsAsync(1, leftTopic, rightTopic, output);
        var builder = new StreamBuilder();
        var leftTable = builder.Table<string, string>(leftTopic, InMemory.As<string, string>("a-store"));
        var rightTable = builder.Table<string, string>(rightTopic, InMemory.As<string, string>("b-store"));
        leftTable.Join(rightTable, (a, b) => $"{a}/{b}").ToStream().To(output);

        await using var app = await StreamsApp.StartAsync(cluster, builder, StreamsApp.Config(cluster, applicationId));
        await cluster.ProduceAsync(leftTopic, [new("k1", "a1", 1_000)]);
        await WaitForTableAsync(app, "a-store", "k1", "a1");
        await cluster.ProduceAsync(rightTopic, [new("k1", "b1", 2_000)]);
        Assert.Single(await cluster.ConsumeAsync(output, 1, Deserializers.Utf8, TimeSpan.Zero));
        await cluster.ProduceAsync(leftTopic, [new("k1", "a2", 3_000)]);
        Assert.Equal(2, (await cluster.ConsumeAsync(output, 2, Deserializers.Utf8, TimeSpan.Zero)).Count);
        await cluster.ProduceAsync(rightTopic, [new("k1", null, 4_000)]);

        Assert.Equal([("k1", "a1/b1"), ("k1", "a2/b1"), ("k1", null)], await ReadAsync(output, 3));
    }

    private static async Task WaitForTableAsync(StreamsApp app, string store, string key, string value) =>
        await Eventually.TrueAsync(() =>
        {
            try
            {
                var view = app.Stream.Store(StoreQueryParameters.FromNameAndType(store, QueryableStoreTypes.KeyValueStore<string, string>()));
                return view.Get(key) == value;
            }
            catch (Streamiz.Kafka.Net.Errors.InvalidStateStoreException)
            {
                return false; // not queryable until its task runs
            }
        }, $"{store} holds {key}={value}", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));

    private async Task<List<(string?, string?)>> ReadAsync(string topic, int expected) =>
        (await cluster.ConsumeAsync(topic, expected, Deserializers.Utf8)).Select(r => (r.Key, (string?)r.Value)).ToList();
}
