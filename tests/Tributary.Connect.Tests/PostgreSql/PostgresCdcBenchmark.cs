using System.Diagnostics;
using System.Globalization;
using Tributary.Connect.Tests.Harness;
using Tributary.Integration.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.Connect.Tests.PostgreSql;

/// <summary>
/// <c>make connect-bench</c> (not in make test): PostgreSQL CDC rows/s end to end — rows inserted into a source table
/// (transactions of 1,000) → CDC source → topic → PostgreSQL sink (upsert) → a table in a second database, on one worker,
/// one broker and one PostgreSQL. Rows: CONNECT_BENCH_PG_ROWS (50,000). Writes one Markdown row to CONNECT_BENCH_RESULTS when set.
/// </summary>
[Trait("Category", "ConnectBench")]
public sealed class PostgresCdcBenchmark(ITestOutputHelper output)
{
    [Fact]
    public async Task Postgres_cdc_to_postgres_sink_rows_per_second()
    {
        var rows = int.TryParse(Environment.GetEnvironmentVariable("CONNECT_BENCH_PG_ROWS"), out var n) && n > 0 ? n : 50_000;
        await using var broker = await BrokerProcess.StartAsync(output);
        await using var pg = await PostgresServer.StartAsync();
        await pg.CreateDatabaseAsync("bench_src");
        await pg.CreateDatabaseAsync("bench_dst");
        await pg.ExecuteAsync("bench_src", "CREATE TABLE events (id int PRIMARY KEY, kind text NOT NULL, amount numeric(12,2), at timestamptz NOT NULL DEFAULT now())");
        var props = PostgresFixture.WorkerSettings(broker.BootstrapServers, "pg-bench");
        props["offset.flush.interval.ms"] = "5000";
        await using var worker = await ConnectWorkerProcess.StartAsync(output, props);
        var source = new Dictionary<string, string>
        {
            ["connector.class"] = "PostgresCdcSourceConnector", ["connection.url"] = pg.JdbcUrl("bench_src"), ["connection.user"] = "postgres",
            ["topic.prefix"] = "bench", ["table.include.list"] = "public.events", ["slot.name"] = "bench_slot",
        };
        var sink = new Dictionary<string, string>
        {
            ["connector.class"] = "PostgresSinkConnector", ["topics"] = "bench.public.events", ["connection.url"] = pg.JdbcUrl("bench_dst"),
            ["connection.user"] = "postgres", ["table.name.format"] = "events", ["insert.mode"] = "upsert", ["pk.mode"] = "record_key",
            ["delete.enabled"] = "true", ["auto.create"] = "true",
        };
        PostgresFixture.UseJsonWithSchemas(source);
        PostgresFixture.UseJsonWithSchemas(sink);
        await PostgresFixture.CreateTopicAsync(broker.BootstrapServers, "bench.public.events");
        await worker.CreateConnectorAsync("bench-pg-source", source);
        await worker.CreateConnectorAsync("bench-pg-sink", sink);
        await worker.WaitForStateAsync("bench-pg-source", "RUNNING", 1);
        await Eventually.TrueAsync(async () => await pg.ScalarAsync<long>("bench_src", "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'bench_slot'") == 1,
            "the slot exists", TimeSpan.FromSeconds(60));

        var clock = Stopwatch.StartNew();
        for (var from = 1; from <= rows; from += 1000)
        {
            await pg.ExecuteAsync("bench_src",
                $"INSERT INTO events (id, kind, amount) SELECT g, 'kind ' || (g % 7), g * 0.5 FROM generate_series({from}, {Math.Min(from + 999, rows)}) g");
        }

        var inserted = clock.Elapsed.TotalSeconds;
        await Eventually.TrueAsync(async () => await DestinationCountAsync(pg) >= rows, $"{rows} rows in the destination", TimeSpan.FromMinutes(10), TimeSpan.FromMilliseconds(250));
        var seconds = clock.Elapsed.TotalSeconds;
        var row = string.Create(CultureInfo.InvariantCulture,
            $"| Connect PostgreSQL CDC → topic → PostgreSQL sink (1 worker, 1 broker, acks=all; inserts took {inserted:F1} s) | {rows:N0} rows | {seconds:F1} s | {rows / seconds:N0} rows/s |");
        output.WriteLine(row);
        Console.WriteLine(row);
        if (Environment.GetEnvironmentVariable("CONNECT_BENCH_RESULTS") is { Length: > 0 } results)
        {
            await File.AppendAllTextAsync(results, row + Environment.NewLine);
        }

        Assert.Equal(rows, await DestinationCountAsync(pg));
    }

    private static async Task<long> DestinationCountAsync(PostgresServer pg)
    {
        try
        {
            return await pg.ScalarAsync<long>("bench_dst", "SELECT count(*) FROM events");
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == "42P01")
        {
            return 0;
        }
    }
}
