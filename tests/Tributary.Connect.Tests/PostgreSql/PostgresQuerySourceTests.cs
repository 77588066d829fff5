using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Tributary.Tests.Shared;

namespace Tributary.Connect.Tests.PostgreSql;

/// <summary>The query-based PostgreSQL source against a real PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresQuerySourceTests(PostgresFixture fx)
{
    [Fact]
    public async Task Incrementing_mode_picks_up_new_rows_only()
    {
        await fx.Postgres.CreateDatabaseAsync("query_inc");
        await fx.Postgres.ExecuteAsync("query_inc",
            "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(8,2)); INSERT INTO items (name, price) VALUES ('a', 1.50), ('b', NULL), ('c', 3.25)");
        var config = new Dictionary<string, string>
        {
            ["connector.class"] = "PostgresSourceConnector", ["connection.url"] = fx.Postgres.JdbcUrl("query_inc"), ["connection.user"] = "postgres",
            ["mode"] = "incrementing", ["incrementing.column.name"] = "id", ["table.whitelist"] = "public.items", ["topic.prefix"] = "query-inc-",
            ["poll.interval.ms"] = "200", ["batch.max.rows"] = "2",
        };
        PostgresFixture.UseJsonWithSchemas(config);
        config["value.converter.schemas.enable"] = "false";
        await PostgresFixture.CreateTopicAsync(fx.Broker.BootstrapServers, "query-inc-items");
        await fx.Worker.CreateConnectorAsync("pg-query-inc", config);

        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = fx.Broker.BootstrapServers, GroupId = "query-inc-reader", AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe("query-inc-items");
        var first = await ReadAsync(consumer, 3);
        Assert.Equal(["1|a|1.50", "2|b|", "3|c|3.25"], first);

        // An update of an old row is not new to an incrementing source; two inserted rows are.
        await fx.Postgres.ExecuteAsync("query_inc", "UPDATE items SET name = 'a2' WHERE id = 1; INSERT INTO items (name, price) VALUES ('d', 4), ('e', 5)");
        var second = await ReadAsync(consumer, 2);
        Assert.Equal(["4|d|4.00", "5|e|5.00"], second);
        Assert.Null(consumer.Consume(TimeSpan.FromSeconds(2))); // polls go on every 200 ms: nothing else arrives

        // A restarted task resumes from the stored offset (id 5): only the row inserted since arrives.
        await Eventually.TrueAsync(async () => (await fx.Worker.GetAsync("/connectors/pg-query-inc/offsets")).Body?["offsets"]?[0]?["offset"]?["incrementing"]?.GetValue<long>() == 5,
            "offset 5 stored", TimeSpan.FromSeconds(30));
        var restart = await fx.Worker.PostAsync("/connectors/pg-query-inc/restart?includeTasks=true");
        Assert.True(restart.Code is 202 or 204, $"restart: {restart.Code}");
        await fx.Postgres.ExecuteAsync("query_inc", "INSERT INTO items (name, price) VALUES ('f', 6)");
        Assert.Equal(["6|f|6.00"], await ReadAsync(consumer, 1));
        Assert.Null(consumer.Consume(TimeSpan.FromSeconds(2)));
        consumer.Close();
    }

    private static async Task<List<string>> ReadAsync(IConsumer<byte[]?, byte[]?> consumer, int count)
    {
        var rows = new List<string>();
        await Eventually.TrueAsync(() =>
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r?.Message?.Value is { } v)
            {
                var o = JsonNode.Parse(Encoding.UTF8.GetString(v))!.AsObject();
                rows.Add($"{o["id"]}|{o["name"]?.GetValue<string>()}|{o["price"]?.GetValue<string>()}");
            }

            return rows.Count >= count;
        }, $"{count} rows on the topic", TimeSpan.FromSeconds(60));
        return rows;
    }
}
