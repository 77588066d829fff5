using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Tributary.Connect.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.Connect.Tests.PostgreSql;

/// <summary>
/// PostgreSQL → CDC source → Tributary → PostgreSQL sink → a second database, on real processes, with a worker killed
/// by SIGKILL while changes stream.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresCdcTests(PostgresFixture fx, ITestOutputHelper output)
{
    private const string Columns = "id, customer, qty, price, note, updated_at, active, payload";
    private const string Topic = "cdc.public.orders";

    [Fact]
    public async Task Cdc_inserts_updates_and_deletes_reach_a_second_database_equal_to_the_source_across_a_worker_kill_9()
    {
        var pg = fx.Postgres;
        await pg.CreateDatabaseAsync("cdc_src");
        await pg.CreateDatabaseAsync("cdc_dst");
        await pg.ExecuteAsync("cdc_src", """
            CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, qty int NOT NULL, price numeric(10,2), note text,
                                 updated_at timestamptz NOT NULL DEFAULT now(), active boolean NOT NULL DEFAULT true, payload bytea);
            INSERT INTO orders (id, customer, qty, price, note, payload)
              SELECT g, 'customer ' || g, g % 17, g * 1.25, CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ''' || g || '''' END, decode(md5(g::text), 'hex')
              FROM generate_series(1, 2000) g;
            """);
        // Compacted, with small segments that roll quickly, so the cleaner gets to work during the test.
        await PostgresFixture.CreateTopicAsync(fx.Broker.BootstrapServers, Topic, new Dictionary<string, string>
        {
            ["cleanup.policy"] = "compact", ["segment.bytes"] = "1048576", ["segment.ms"] = "5000", ["min.cleanable.dirty.ratio"] = "0.01",
            ["min.compaction.lag.ms"] = "0", ["delete.retention.ms"] = "86400000",
        });

        await using var worker = await ConnectWorkerProcess.StartAsync(output, PostgresFixture.WorkerSettings(fx.Broker.BootstrapServers, "cdc"), name: "cdc-worker");
        var source = new Dictionary<string, string>
        {
            ["connector.class"] = "PostgresCdcSourceConnector", ["connection.url"] = pg.JdbcUrl("cdc_src"), ["connection.user"] = "postgres",
            ["topic.prefix"] = "cdc", ["table.include.list"] = "public.orders", ["slot.name"] = "cdc_slot", ["publication.name"] = "cdc_pub",
        };
        PostgresFixture.UseJsonWithSchemas(source);
        var sink = new Dictionary<string, string>
        {
            ["connector.class"] = "PostgresSinkConnector", ["topics"] = Topic, ["connection.url"] = pg.JdbcUrl("cdc_dst"), ["connection.user"] = "postgres",
            ["table.name.format"] = "orders", ["insert.mode"] = "upsert", ["pk.mode"] = "record_key", ["delete.enabled"] = "true", ["auto.create"] = "true",
        };
        PostgresFixture.UseJsonWithSchemas(sink);
        await worker.CreateConnectorAsync("pg-cdc-source", source);
        await worker.CreateConnectorAsync("pg-cdc-sink", sink);
        // The slot's consistent point separates the 2,000 snapshot rows from the streamed changes below.
        await Eventually.TrueAsync(async () => await pg.ScalarAsync<long>("cdc_src", "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc_slot'") == 1,
            "the replication slot exists", TimeSpan.FromSeconds(60));

        // 8,000 more inserts in transactions of 500 while the connectors run; the worker is killed once the sink is past the snapshot.
        for (var from = 2001; from <= 6000; from += 500)
        {
            await InsertAsync(from, from + 499);
        }

        await Eventually.TrueAsync(async () => await DestinationCountAsync() >= 3000, "the sink is past the snapshot", TimeSpan.FromSeconds(120));
        worker.Kill();
        output.WriteLine($"killed the worker with {await DestinationCountAsync()} rows in the destination");
        for (var from = 6001; from <= 10000; from += 500)
        {
            await InsertAsync(from, from + 499);
        }

        for (var from = 1; from <= 1000; from += 100)
        {
            await pg.ExecuteAsync("cdc_src", $"UPDATE orders SET qty = qty + 1000, note = 'updated ' || id, active = false, updated_at = now() WHERE id BETWEEN {from} AND {from + 99}");
        }

        var beforeLastTransaction = "";
        for (var from = 9501; from <= 10000; from += 100)
        {
            beforeLastTransaction = await pg.ScalarAsync<string>("cdc_src", "SELECT pg_current_wal_lsn()::text");
            await pg.ExecuteAsync("cdc_src", $"DELETE FROM orders WHERE id BETWEEN {from} AND {from + 99}");
        }

        await worker.RestartAsync();
        var expected = await pg.RowsAsync("cdc_src", $"SELECT {Columns} FROM orders ORDER BY id");
        Assert.Equal(9500, expected.Count);
        await Eventually.TrueAsync(async () => (await DestinationRowsAsync()).SequenceEqual(expected), "the destination equals the source",
            TimeSpan.FromSeconds(180), TimeSpan.FromSeconds(1));

        // The slot hears that the stream is written (the last transaction's end LSN) once the records are in Tributary.
        await Eventually.TrueAsync(async () => await pg.ScalarAsync<bool>("cdc_src",
                $"SELECT confirmed_flush_lsn > '{beforeLastTransaction}'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'cdc_slot'"),
            "the slot's confirmed LSN passes the start of the last transaction", TimeSpan.FromSeconds(30));

        // Compaction: once the segment holding the last changes rolls (segment.ms, on the next append: one more change of
        // key 1), the cleaner leaves one record per key: the latest row, or the tombstone of a deleted key.
        await Task.Delay(TimeSpan.FromSeconds(6));
        await pg.ExecuteAsync("cdc_src", "UPDATE orders SET note = 'rolls the segment' WHERE id = 1");
        Dictionary<string, List<(long Offset, byte[]? Value)>> byKey = [];
        try
        {
            await Eventually.TrueAsync(() =>
            {
                byKey = ReadTopic(fx.Broker.BootstrapServers);
                return byKey.Where(k => k.Key != "1").All(k => k.Value.Count == 1);
            }, "the compacted topic holds one record per key", TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(2));
        }
        catch (TimeoutException)
        {
            var repeated = byKey.Where(k => k.Value.Count > 1).ToList();
            output.WriteLine($"{repeated.Count} keys with more than one record, e.g. " + string.Join("; ", repeated.Take(5).Select(k => $"{k.Key}: offsets {string.Join(",", k.Value.Select(v => v.Offset))}")));
            output.WriteLine($"offsets read: {byKey.Sum(k => k.Value.Count)}, lowest of a repeated key {repeated.SelectMany(k => k.Value).Min(v => v.Offset)}, highest {repeated.SelectMany(k => k.Value).Max(v => v.Offset)}");
            throw;
        }

        Assert.Equal(10000, byKey.Count);
        Assert.Equal(500, byKey.Count(k => k.Value[^1].Value is null)); // the deleted keys end with their tombstone
        var updated = JsonNode.Parse(Encoding.UTF8.GetString(byKey["500"][^1].Value!))!["payload"]!;
        Assert.Equal("u", updated["op"]!.GetValue<string>());
        Assert.Equal("updated 500", updated["after"]!["note"]!.GetValue<string>());
    }

    /// <summary>Every record of the topic's single partition, by the key's id, in offset order.</summary>
    private static Dictionary<string, List<(long Offset, byte[]? Value)>> ReadTopic(string bootstrap)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "cdc-topic-reader-" + Guid.NewGuid().ToString("N"), EnableAutoCommit = false,
        }).Build();
        var tp = new TopicPartition(Topic, 0);
        var end = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value;
        consumer.Assign(new TopicPartitionOffset(tp, Offset.Beginning));
        var result = new Dictionary<string, List<(long Offset, byte[]? Value)>>(StringComparer.Ordinal);
        while (true)
        {
            var r = consumer.Consume(TimeSpan.FromSeconds(10));
            if (r is null)
            {
                throw new InvalidOperationException($"{Topic}: nothing read before offset {end}");
            }

            if (r.IsPartitionEOF)
            {
                continue;
            }

            var id = JsonNode.Parse(Encoding.UTF8.GetString(r.Message.Key!))!["payload"]!["id"]!.ToJsonString();
            if (!result.TryGetValue(id, out var list))
            {
                result[id] = list = [];
            }

            list.Add((r.Offset.Value, r.Message.Value));
            if (r.Offset.Value >= end - 1)
            {
                return result;
            }
        }
    }

    private Task InsertAsync(int from, int to) => fx.Postgres.ExecuteAsync("cdc_src", $"""
        INSERT INTO orders (id, customer, qty, price, note, payload)
          SELECT g, 'customer ' || g, g % 17, g * 1.25, CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ' || g END, decode(md5(g::text), 'hex')
          FROM generate_series({from}, {to}) g
        """);

    private async Task<long> DestinationCountAsync()
    {
        try
        {
            return await fx.Postgres.ScalarAsync<long>("cdc_dst", "SELECT count(*) FROM orders");
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == "42P01")
        {
            return 0;
        }
    }

    private async Task<List<string>> DestinationRowsAsync()
    {
        try
        {
            return await fx.Postgres.RowsAsync("cdc_dst", $"SELECT {Columns} FROM orders ORDER BY id");
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == "42P01")
        {
            return [];
        }
    }
}
