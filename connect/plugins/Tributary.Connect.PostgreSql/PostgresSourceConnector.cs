using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.PostgreSql;

/// <summary>
/// Query-based PostgreSQL source (the JDBC source connector's shape): polls each table of <c>table.whitelist</c> every
/// <c>poll.interval.ms</c> and writes each row as a struct to <c>topic.prefix</c> + table name. <c>mode</c>: <c>bulk</c>
/// (the whole table every poll), <c>incrementing</c> (rows whose strictly increasing column is above the stored one),
/// <c>timestamp</c> (rows whose timestamp is above the stored one), <c>timestamp+incrementing</c> (both, robust against
/// equal timestamps). The stored source offset per table (<c>incrementing</c>, <c>timestamp</c> in PostgreSQL's text
/// form) is where a restarted task resumes. Tables are split across up to <c>tasks.max</c> tasks.
/// </summary>
public sealed class PostgresSourceConnector : SourceConnector
{
    public const string ModeConfig = "mode";
    public const string IncrementingColumnConfig = "incrementing.column.name";
    public const string TimestampColumnConfig = "timestamp.column.name";
    public const string TableWhitelistConfig = "table.whitelist";
    public const string TopicPrefixConfig = "topic.prefix";
    public const string PollIntervalConfig = "poll.interval.ms";
    public const string BatchMaxRowsConfig = "batch.max.rows";
    public const string TablesTaskConfig = "tables";

    public const string ModeBulk = "bulk";
    public const string ModeIncrementing = "incrementing";
    public const string ModeTimestamp = "timestamp";
    public const string ModeTimestampIncrementing = "timestamp+incrementing";

    private IReadOnlyDictionary<string, string> props = new Dictionary<string, string>();

    public static ConfigDef Definition { get; } = PgConnections.Define(new ConfigDef())
        .Define(ModeConfig, ConfigType.String, ConfigDef.NoDefault, Validators.In(ModeBulk, ModeIncrementing, ModeTimestamp, ModeTimestampIncrementing), Importance.High,
            "How each poll finds new rows: bulk, incrementing, timestamp or timestamp+incrementing")
        .Define(IncrementingColumnConfig, ConfigType.String, "", Importance.Medium, "A strictly increasing integer column (incrementing modes)")
        .Define(TimestampColumnConfig, ConfigType.String, "", Importance.Medium, "A timestamp column that changes on every insert/update (timestamp modes)")
        .Define(TableWhitelistConfig, ConfigType.List, ConfigDef.NoDefault, Validators.NonEmptyList, Importance.High, "Tables to copy (schema.table or table in public)")
        .Define(TopicPrefixConfig, ConfigType.String, ConfigDef.NoDefault, Validators.NonEmptyString, Importance.High, "Topic of a table: this prefix followed by the table name")
        .Define(PollIntervalConfig, ConfigType.Int, 5000, Validators.AtLeast(1), Importance.High, "Milliseconds between polls of a table")
        .Define(BatchMaxRowsConfig, ConfigType.Int, 100, Validators.AtLeast(1), Importance.Low, "Most rows one poll of one table returns (incrementing modes)");

    public override string Version => typeof(PostgresSourceConnector).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    public override ConfigDef Config => Definition;

    public override Type TaskType => typeof(PostgresSourceTask);

    public override List<ConfigValue> Validate(IReadOnlyDictionary<string, string> props)
    {
        var values = Definition.Validate(props);
        var mode = props.GetValueOrDefault(ModeConfig, "").Trim();
        void Require(string key, string why)
        {
            if (string.IsNullOrWhiteSpace(props.GetValueOrDefault(key)))
            {
                values.First(v => v.Name == key).ErrorMessages.Add($"{key} is required in mode {mode}: {why}");
            }
        }

        if (mode is ModeIncrementing or ModeTimestampIncrementing)
        {
            Require(IncrementingColumnConfig, "the column whose increase marks new rows");
        }

        if (mode is ModeTimestamp or ModeTimestampIncrementing)
        {
            Require(TimestampColumnConfig, "the column whose increase marks new or changed rows");
        }

        return values;
    }

    public override void Start(IReadOnlyDictionary<string, string> props)
    {
        var problems = Validate(props).SelectMany(v => v.ErrorMessages).ToList();
        if (problems.Count > 0)
        {
            throw new ConfigException(string.Join("; ", problems));
        }

        this.props = props;
    }

    public override IReadOnlyList<IReadOnlyDictionary<string, string>> TaskConfigs(int maxTasks)
    {
        var tables = ((IReadOnlyList<string>)ConfigDef.Parse(TableWhitelistConfig, ConfigType.List, props[TableWhitelistConfig])!).Distinct().ToList();
        var groups = Math.Max(1, Math.Min(maxTasks, tables.Count));
        var result = new List<IReadOnlyDictionary<string, string>>();
        for (var g = 0; g < groups; g++)
        {
            var config = new Dictionary<string, string>(props) { [TablesTaskConfig] = string.Join(",", tables.Where((_, i) => i % groups == g)) };
            result.Add(config);
        }

        return result;
    }

    public override void Stop()
    {
    }
}

/// <summary>Polls its tables with one connection, each table on its own schedule.</summary>
public sealed class PostgresSourceTask : SourceTask
{
    public const string TableKey = "table";
    public const string IncrementingKey = "incrementing";
    public const string TimestampKey = "timestamp";

    private sealed class TableState(string schema, string name)
    {
        public string Schema { get; } = schema;
        public string Name { get; } = name;
        public PgTable? Table { get; set; }
        public Schema? ValueSchema { get; set; }
        public long? Incrementing { get; set; }
        public string? Timestamp { get; set; }
        public DateTime NextPoll { get; set; } = DateTime.MinValue;
        public IReadOnlyDictionary<string, object?> Partition => new Dictionary<string, object?> { [TableKey] = Schema + "." + Name };
    }

    private readonly List<TableState> tables = [];
    private string connectionString = "";
    private string mode = "";
    private string incrementingColumn = "";
    private string timestampColumn = "";
    private string topicPrefix = "";
    private int pollIntervalMs;
    private int batchMaxRows;
    private NpgsqlConnection? connection;

    public override string Version => typeof(PostgresSourceTask).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    public override void Start(IReadOnlyDictionary<string, string> props)
    {
        var c = ParsedConfig.Of(PostgresSourceConnector.Definition, props);
        connectionString = PgConnections.ConnectionString(props);
        mode = c.GetString(PostgresSourceConnector.ModeConfig)!.Trim();
        incrementingColumn = c.GetString(PostgresSourceConnector.IncrementingColumnConfig)!.Trim();
        timestampColumn = c.GetString(PostgresSourceConnector.TimestampColumnConfig)!.Trim();
        topicPrefix = c.GetString(PostgresSourceConnector.TopicPrefixConfig)!;
        pollIntervalMs = c.GetInt(PostgresSourceConnector.PollIntervalConfig);
        batchMaxRows = c.GetInt(PostgresSourceConnector.BatchMaxRowsConfig);
        var assigned = props.GetValueOrDefault(PostgresSourceConnector.TablesTaskConfig, props.GetValueOrDefault(PostgresSourceConnector.TableWhitelistConfig, ""));
        foreach (var t in assigned.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (schema, name) = PgConnections.SplitTable(t);
            var state = new TableState(schema, name);
            var stored = Context?.OffsetStorageReader.Offset(state.Partition);
            if (stored is not null)
            {
                if (stored.TryGetValue(IncrementingKey, out var inc) && inc is not null)
                {
                    state.Incrementing = Convert.ToInt64(inc, CultureInfo.InvariantCulture);
                }

                if (stored.TryGetValue(TimestampKey, out var ts) && ts is string s)
                {
                    state.Timestamp = s;
                }
            }

            tables.Add(state);
        }
    }

    public override async Task<IReadOnlyList<SourceRecord>?> PollAsync(CancellationToken cancellation)
    {
        var now = DateTime.UtcNow;
        var due = tables.Where(t => t.NextPoll <= now).ToList();
        if (due.Count == 0)
        {
            var next = tables.Count == 0 ? now.AddMilliseconds(pollIntervalMs) : tables.Min(t => t.NextPoll);
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp((next - now).TotalMilliseconds, 1, 1000)), cancellation);
            return null;
        }

        var records = new List<SourceRecord>();
        try
        {
            if (connection is null)
            {
                connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(cancellation);
            }

            foreach (var t in due)
            {
                var rows = await PollTableAsync(connection, t, records, cancellation);
                // A full batch means more rows are waiting: poll the table again at once.
                t.NextPoll = rows >= batchMaxRows && mode != PostgresSourceConnector.ModeBulk ? now : DateTime.UtcNow.AddMilliseconds(pollIntervalMs);
            }
        }
        catch (NpgsqlException e) when (e is not PostgresException { SqlState: "42P01" or "42703" })
        {
            await DropConnectionAsync();
            PgLog.PollFailed(Context?.Logger ?? NullLogger.Instance, e.Message);
            throw new RetriableException("PostgreSQL poll failed: " + e.Message, e);
        }
        catch (PostgresException e)
        {
            throw new ConnectException($"PostgreSQL source query failed: {e.MessageText}", e);
        }

        return records;
    }

    private async Task<int> PollTableAsync(NpgsqlConnection conn, TableState t, List<SourceRecord> records, CancellationToken cancellation)
    {
        if (t.Table is null)
        {
            t.Table = await PgTable.LoadAsync(conn, t.Schema, t.Name, cancellation);
            t.ValueSchema = PgTypes.StructSchema(t.Name, t.Table.Columns, allOptionalButKey: false);
            foreach (var needed in new[] { incrementingColumn, timestampColumn })
            {
                if (needed.Length > 0 && mode != PostgresSourceConnector.ModeBulk && t.Table.Columns.All(c => c.Name != needed))
                {
                    throw new ConnectException($"Table {t.Schema}.{t.Name} has no column {needed}");
                }
            }
        }

        var inc = PgConnections.Quote(incrementingColumn);
        var ts = PgConnections.Quote(timestampColumn);
        await using var cmd = new NpgsqlCommand { Connection = conn };
        var where = new List<string>();
        var order = "";
        var limit = "";
        var extra = "";
        switch (mode)
        {
            case PostgresSourceConnector.ModeIncrementing:
                if (t.Incrementing is { } last)
                {
                    where.Add($"{inc} > $1");
                    cmd.Parameters.Add(new NpgsqlParameter { Value = last });
                }

                where.Add($"{inc} IS NOT NULL");
                order = $" ORDER BY {inc}";
                limit = " LIMIT " + batchMaxRows.ToString(CultureInfo.InvariantCulture);
                break;
            case PostgresSourceConnector.ModeTimestamp:
                // No LIMIT: rows sharing the last timestamp must all arrive in the same poll, or the next one would skip them.
                if (t.Timestamp is { } lastTs)
                {
                    where.Add($"{ts} > $1");
                    cmd.Parameters.Add(new NpgsqlParameter { Value = lastTs, NpgsqlDbType = NpgsqlDbType.Unknown });
                }

                where.Add($"{ts} < CURRENT_TIMESTAMP");
                order = $" ORDER BY {ts}";
                extra = $", {ts}::text";
                break;
            case PostgresSourceConnector.ModeTimestampIncrementing:
                if (t.Timestamp is { } lastT)
                {
                    where.Add($"({ts} > $1 OR ({ts} = $1 AND {inc} > $2))");
                    cmd.Parameters.Add(new NpgsqlParameter { Value = lastT, NpgsqlDbType = NpgsqlDbType.Unknown });
                    cmd.Parameters.Add(new NpgsqlParameter { Value = t.Incrementing ?? long.MinValue });
                }

                where.Add($"{ts} < CURRENT_TIMESTAMP");
                order = $" ORDER BY {ts}, {inc}";
                limit = " LIMIT " + batchMaxRows.ToString(CultureInfo.InvariantCulture);
                extra = $", {ts}::text";
                break;
        }

        cmd.CommandText = $"SELECT {t.Table.SelectList}{extra} FROM {t.Table.Qualified}"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") + order + limit;
        var topic = topicPrefix + t.Name;
        var count = 0;
        await using var reader = await cmd.ExecuteReaderAsync(cancellation);
        var incIndex = t.Table.Columns.ToList().FindIndex(c => c.Name == incrementingColumn);
        while (await reader.ReadAsync(cancellation))
        {
            var value = new Struct(t.ValueSchema!);
            for (var i = 0; i < t.Table.Columns.Count; i++)
            {
                value.Put(t.Table.Columns[i].Name, PgTypes.FromReader(reader, i, t.Table.Columns[i]));
            }

            var offset = new Dictionary<string, object?>();
            if (mode is PostgresSourceConnector.ModeIncrementing or PostgresSourceConnector.ModeTimestampIncrementing)
            {
                t.Incrementing = Convert.ToInt64(reader.GetValue(incIndex), CultureInfo.InvariantCulture);
                offset[PostgresSourceTask.IncrementingKey] = t.Incrementing;
            }

            if (mode is PostgresSourceConnector.ModeTimestamp or PostgresSourceConnector.ModeTimestampIncrementing)
            {
                t.Timestamp = reader.GetString(t.Table.Columns.Count);
                offset[PostgresSourceTask.TimestampKey] = t.Timestamp;
            }

            records.Add(new SourceRecord(t.Partition, mode == PostgresSourceConnector.ModeBulk ? null : offset, topic, null, null, null, t.ValueSchema, value));
            count++;
        }

        return count;
    }

    private async Task DropConnectionAsync()
    {
        if (connection is not null)
        {
            await connection.DisposeAsync();
            connection = null;
        }
    }

    public override void Stop() => DropConnectionAsync().GetAwaiter().GetResult();
}
