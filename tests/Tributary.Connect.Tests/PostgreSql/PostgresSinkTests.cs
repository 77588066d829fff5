using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Tributary.Tests.Shared;

namespace Tributary.Connect.Tests.PostgreSql;

/// <summary>The PostgreSQL sink against a real PostgreSQL, fed by records produced with a real Kafka client (JSON with schemas).</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresSinkTests(PostgresFixture fx)
{
    private static string KeyJson(int id) =>
        $$$"""{"schema":{"type":"struct","name":"k","optional":false,"fields":[{"field":"id","type":"int32","optional":false}]},"payload":{"id":{{{id}}}}}""";

    private static string ValueJson(int id, string name, int qty) =>
        $$$"""{"schema":{"type":"struct","name":"v","optional":false,"fields":[{"field":"id","type":"int32","optional":false},{"field":"name","type":"string","optional":true},{"field":"qty","type":"int32","optional":false}]},"payload":{"id":{{{id}}},"name":"{{{name}}}","qty":{{{qty}}}}}""";

    private async Task ProduceAsync(string topic, params (string? Key, string? Value)[] records)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = fx.Broker.BootstrapServers, Acks = Acks.All }).Build();
        foreach (var (k, v) in records)
        {
            await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Key = k is null ? null : Encoding.UTF8.GetBytes(k), Value = v is null ? null : Encoding.UTF8.GetBytes(v) });
        }
    }

    private Dictionary<string, string> SinkConfig(string topic, string database, params (string, string)[] extra)
    {
        var config = new Dictionary<string, string>
        {
            ["connector.class"] = "PostgresSinkConnector", ["topics"] = topic, ["connection.url"] = fx.Postgres.JdbcUrl(database),
            ["connection.user"] = "postgres",
        };
        PostgresFixture.UseJsonWithSchemas(config);
        foreach (var (k, v) in extra)
        {
            config[k] = v;
        }

        return config;
    }

    [Fact]
    public async Task Sink_auto_creates_the_table_upserts_by_record_key_and_deletes_on_tombstones()
    {
        await fx.Postgres.CreateDatabaseAsync("sink_upsert");
        await PostgresFixture.CreateTopicAsync(fx.Broker.BootstrapServers, "sink-upsert");
        await ProduceAsync("sink-upsert",
            (KeyJson(1), ValueJson(1, "apple", 3)),
            (KeyJson(2), ValueJson(2, "pear", 5)),
            (KeyJson(3), ValueJson(3, "plum", 1)),
            (KeyJson(1), ValueJson(1, "apple", 30)),
            (KeyJson(2), null));
        await fx.Worker.CreateConnectorAsync("pg-sink-upsert", SinkConfig("sink-upsert", "sink_upsert",
            ("table.name.format", "fruit"), ("insert.mode", "upsert"), ("pk.mode", "record_key"), ("delete.enabled", "true"), ("auto.create", "true")));

        var expected = new List<string> { "1|apple|30", "3|plum|1" };
        await Eventually.TrueAsync(async () => await TableRowsAsync("sink_upsert", "SELECT id, name, qty FROM fruit ORDER BY id") is { } rows && rows.SequenceEqual(expected),
            "fruit holds the upserted rows without the deleted one", TimeSpan.FromSeconds(60));
        var key = await fx.Postgres.RowsAsync("sink_upsert",
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid = 'fruit'::regclass AND i.indisprimary");
        Assert.Equal(["id"], key);
        var types = await fx.Postgres.RowsAsync("sink_upsert",
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'fruit' ORDER BY ordinal_position");
        Assert.Equal(["id|integer|NO", "name|text|YES", "qty|integer|NO"], types);
    }

    [Fact]
    public async Task Sink_sends_a_record_postgresql_refuses_to_the_dlq_and_commits_the_rest_of_the_batch()
    {
        await fx.Postgres.CreateDatabaseAsync("sink_poison");
        await fx.Postgres.ExecuteAsync("sink_poison", "CREATE TABLE stock (id int PRIMARY KEY, name text, qty int NOT NULL CHECK (qty >= 0))");
        await PostgresFixture.CreateTopicAsync(fx.Broker.BootstrapServers, "sink-poison");
        await ProduceAsync("sink-poison",
            (KeyJson(1), ValueJson(1, "bolt", 10)),
            (KeyJson(2), ValueJson(2, "nut", -4)),
            (KeyJson(3), ValueJson(3, "screw", 7)));
        await fx.Worker.CreateConnectorAsync("pg-sink-poison", SinkConfig("sink-poison", "sink_poison",
            ("table.name.format", "stock"), ("insert.mode", "upsert"), ("pk.mode", "record_key"),
            ("errors.tolerance", "all"), ("errors.deadletterqueue.topic.name", "sink-poison-dlq"), ("errors.deadletterqueue.topic.replication.factor", "1"),
            ("errors.deadletterqueue.context.headers.enable", "true")));

        await Eventually.TrueAsync(async () => (await TableRowsAsync("sink_poison", "SELECT id, name, qty FROM stock ORDER BY id")).SequenceEqual(["1|bolt|10", "3|screw|7"]),
            "the two good rows are written", TimeSpan.FromSeconds(60));

        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = fx.Broker.BootstrapServers, GroupId = "sink-poison-reader", AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe("sink-poison-dlq");
        var poison = consumer.Consume(TimeSpan.FromSeconds(30));
        Assert.NotNull(poison);
        Assert.Equal(ValueJson(2, "nut", -4), Encoding.UTF8.GetString(poison.Message.Value!));
        string Header(string name) => Encoding.UTF8.GetString(poison.Message.Headers.GetLastBytes("__connect.errors." + name));
        Assert.Equal("TASK_PUT", Header("stage"));
        Assert.Equal("1", Header("offset"));
        Assert.Contains("23514", Header("exception.message"), StringComparison.Ordinal); // check_violation
        Assert.Null(consumer.Consume(TimeSpan.FromSeconds(2)));
        consumer.Close();
        await fx.Worker.WaitForStateAsync("pg-sink-poison", "RUNNING", 1);
    }

    [Fact]
    public async Task Validate_reports_each_bad_sink_field()
    {
        var config = new JsonObject
        {
            ["connector.class"] = "PostgresSinkConnector", ["name"] = "v", ["topics"] = "t", ["connection.url"] = "mysql://nowhere",
            ["insert.mode"] = "upsert", ["pk.mode"] = "none", ["delete.enabled"] = "true", ["auto.create"] = "maybe",
        };
        var r = await fx.Worker.PutAsync("/connector-plugins/PostgresSinkConnector/config/validate", config);
        Assert.Equal(200, r.Code);
        var errors = r.Body!["configs"]!.AsArray()
            .Where(c => c!["value"]!["errors"]!.AsArray().Count > 0)
            .ToDictionary(c => c!["value"]!["name"]!.GetValue<string>(), c => c!["value"]!["errors"]![0]!.GetValue<string>());
        Assert.Equal(["auto.create", "connection.url", "delete.enabled", "insert.mode"], errors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(4, r.Body["error_count"]!.GetValue<int>());
        Assert.Contains("not a PostgreSQL URL", errors["connection.url"], StringComparison.Ordinal);
        Assert.Contains("pk.mode", errors["insert.mode"], StringComparison.Ordinal);
        Assert.Contains("record_key", errors["delete.enabled"], StringComparison.Ordinal);
        Assert.Contains("true or false", errors["auto.create"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_reports_a_query_source_mode_without_its_column()
    {
        var config = new JsonObject
        {
            ["connector.class"] = "PostgresSourceConnector", ["name"] = "v", ["connection.url"] = "jdbc:postgresql://127.0.0.1:1/db",
            ["mode"] = "timestamp+incrementing", ["table.whitelist"] = "orders", ["topic.prefix"] = "pg-", ["incrementing.column.name"] = "id",
        };
        var r = await fx.Worker.PutAsync("/connector-plugins/PostgresSourceConnector/config/validate", config);
        Assert.Equal(200, r.Code);
        Assert.Equal(1, r.Body!["error_count"]!.GetValue<int>());
        var bad = r.Body["configs"]!.AsArray().Single(c => c!["value"]!["errors"]!.AsArray().Count > 0)!;
        Assert.Equal("timestamp.column.name", bad["value"]!["name"]!.GetValue<string>());
    }

    private async Task<List<string>> TableRowsAsync(string database, string sql)
    {
        try
        {
            return await fx.Postgres.RowsAsync(database, sql);
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == "42P01")
        {
            return []; // not created yet
        }
    }
}
