using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.PostgreSql;

/// <summary>
/// PostgreSQL sink (the JDBC sink connector's keys): writes each record's struct value as a row of the table named by
/// <c>table.name.format</c> (<c>${topic}</c> replaced by the topic). <c>insert.mode</c> insert or upsert (INSERT … ON
/// CONFLICT on the primary key); <c>pk.mode</c> none, record_key (the key's fields, or a primitive key into
/// <c>pk.fields</c>) or record_value (<c>pk.fields</c> of the value); <c>delete.enabled</c> deletes the row of a
/// tombstone's key; <c>auto.create</c> creates a missing table from the record schema. A value in this connector family's
/// CDC envelope (schema named *.Envelope with before/after/op) is written as its <c>after</c> row, or deleted when
/// <c>op</c> is d (<c>cdc.envelope=auto</c>). Every batch is one transaction, committed before Put returns, so the
/// runtime commits consumer offsets only after the rows are durable. A record the database refuses (bad value, constraint)
/// is isolated with savepoints and reported to the runtime's errant record reporter (DLQ / errors.tolerance); the rest of
/// the batch commits.
/// </summary>
public sealed class PostgresSinkConnector : SinkConnector
{
    public const string InsertModeConfig = "insert.mode";
    public const string PkModeConfig = "pk.mode";
    public const string PkFieldsConfig = "pk.fields";
    public const string DeleteEnabledConfig = "delete.enabled";
    public const string AutoCreateConfig = "auto.create";
    public const string TableNameFormatConfig = "table.name.format";
    public const string CdcEnvelopeConfig = "cdc.envelope";

    private IReadOnlyDictionary<string, string> props = new Dictionary<string, string>();

    public static ConfigDef Definition { get; } = PgConnections.Define(new ConfigDef())
        .Define(InsertModeConfig, ConfigType.String, "insert", Validators.InIgnoreCase("insert", "upsert"), Importance.High, "insert: plain INSERT; upsert: INSERT … ON CONFLICT (primary key) DO UPDATE")
        .Define(PkModeConfig, ConfigType.String, "none", Validators.InIgnoreCase("none", "record_key", "record_value"), Importance.High, "Where the primary key comes from: none, record_key or record_value")
        .Define(PkFieldsConfig, ConfigType.List, "", Importance.Medium, "Primary key columns: the key's/value's fields to use (all key fields when empty with record_key), or the column name of a primitive key")
        .Define(DeleteEnabledConfig, ConfigType.Boolean, false, Importance.Medium, "Delete the row of a tombstone's key (requires pk.mode=record_key)")
        .Define(AutoCreateConfig, ConfigType.Boolean, false, Importance.Medium, "CREATE TABLE from the record schema when the table does not exist")
        .Define(TableNameFormatConfig, ConfigType.String, "${topic}", Validators.NonEmptyString, Importance.Medium, "Destination table ('${topic}' is replaced by the topic; schema.table or table in public)")
        .Define(CdcEnvelopeConfig, ConfigType.String, "auto", Validators.InIgnoreCase("auto", "none"), Importance.Low, "auto: write a CDC envelope value as its after row (delete on op d); none: write values as they are");

    public override string Version => typeof(PostgresSinkConnector).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    public override ConfigDef Config => Definition;

    public override Type TaskType => typeof(PostgresSinkTask);

    public override List<ConfigValue> Validate(IReadOnlyDictionary<string, string> props)
    {
        var values = Definition.Validate(props);
        var pkMode = props.GetValueOrDefault(PkModeConfig, "none").Trim().ToLowerInvariant();
        var pkFields = props.GetValueOrDefault(PkFieldsConfig, "").Trim();
        if (props.GetValueOrDefault(InsertModeConfig, "insert").Trim().Equals("upsert", StringComparison.OrdinalIgnoreCase) && pkMode == "none")
        {
            values.First(v => v.Name == InsertModeConfig).ErrorMessages.Add("insert.mode=upsert needs a primary key: set pk.mode to record_key or record_value");
        }

        if (props.GetValueOrDefault(DeleteEnabledConfig, "false").Trim().Equals("true", StringComparison.OrdinalIgnoreCase) && pkMode != "record_key")
        {
            values.First(v => v.Name == DeleteEnabledConfig).ErrorMessages.Add("delete.enabled=true requires pk.mode=record_key");
        }

        if (pkMode == "record_value" && pkFields.Length == 0)
        {
            values.First(v => v.Name == PkFieldsConfig).ErrorMessages.Add("pk.mode=record_value needs pk.fields (the value fields forming the primary key)");
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

    public override IReadOnlyList<IReadOnlyDictionary<string, string>> TaskConfigs(int maxTasks) =>
        [.. Enumerable.Range(0, maxTasks).Select(_ => (IReadOnlyDictionary<string, string>)new Dictionary<string, string>(props))];

    public override void Stop()
    {
    }
}

/// <summary>Writes batches in one transaction per Put.</summary>
public sealed class PostgresSinkTask : SinkTask
{
    private const string PrimitiveKeyColumn = "__connect_key";

    /// <summary>One statement for one record.</summary>
    private sealed record Statement(SinkRecord Record, string Sql, IReadOnlyList<NpgsqlParameter> Parameters);

    private readonly HashSet<string> knownTables = new(StringComparer.Ordinal);
    private string connectionString = "";
    private bool upsert;
    private string pkMode = "none";
    private IReadOnlyList<string> pkFields = [];
    private bool deleteEnabled;
    private bool autoCreate;
    private string tableFormat = "${topic}";
    private bool unwrapEnvelope;
    private NpgsqlConnection? connection;

    private ILogger Log => Context?.Logger ?? NullLogger.Instance;

    public override string Version => typeof(PostgresSinkTask).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    public override void Start(IReadOnlyDictionary<string, string> props)
    {
        var c = ParsedConfig.Of(PostgresSinkConnector.Definition, props);
        connectionString = PgConnections.ConnectionString(props);
        upsert = c.GetString(PostgresSinkConnector.InsertModeConfig)!.Trim().Equals("upsert", StringComparison.OrdinalIgnoreCase);
        pkMode = c.GetString(PostgresSinkConnector.PkModeConfig)!.Trim().ToLowerInvariant();
        pkFields = c.GetList(PostgresSinkConnector.PkFieldsConfig);
        deleteEnabled = c.GetBoolean(PostgresSinkConnector.DeleteEnabledConfig);
        autoCreate = c.GetBoolean(PostgresSinkConnector.AutoCreateConfig);
        tableFormat = c.GetString(PostgresSinkConnector.TableNameFormatConfig)!;
        unwrapEnvelope = c.GetString(PostgresSinkConnector.CdcEnvelopeConfig)!.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase);
    }

    public override void Put(IReadOnlyCollection<SinkRecord> records)
    {
        if (records.Count == 0)
        {
            return;
        }

        try
        {
            var conn = Connection();
            var statements = new List<Statement>(records.Count);
            foreach (var r in records)
            {
                Statement? s;
                try
                {
                    s = Build(conn, r);
                }
                catch (DataException e)
                {
                    ReportOrThrow(r, e);
                    continue;
                }

                if (s is not null)
                {
                    statements.Add(s);
                }
            }

            if (statements.Count == 0)
            {
                return;
            }

            try
            {
                using var tx = conn.BeginTransaction();
                using var batch = new NpgsqlBatch(conn, tx);
                foreach (var s in statements)
                {
                    var cmd = new NpgsqlBatchCommand(s.Sql);
                    foreach (var p in s.Parameters)
                    {
                        cmd.Parameters.Add(p.Clone());
                    }

                    batch.BatchCommands.Add(cmd);
                }

                batch.ExecuteNonQuery();
                tx.Commit();
            }
            catch (PostgresException e) when (IsRecordError(e))
            {
                // Some record is refused: write the batch again one savepoint per record, reporting the refused ones.
                WriteIsolating(conn, statements);
            }
        }
        catch (NpgsqlException e) when (e is not PostgresException || !IsRecordError((PostgresException)e))
        {
            DropConnection();
            PgLog.WriteFailed(Log, e.Message);
            throw new RetriableException("PostgreSQL write failed: " + e.Message, e);
        }
    }

    private void WriteIsolating(NpgsqlConnection conn, List<Statement> statements)
    {
        using var tx = conn.BeginTransaction();
        foreach (var s in statements)
        {
            using (var save = new NpgsqlCommand("SAVEPOINT tributary_record", conn, tx))
            {
                save.ExecuteNonQuery();
            }

            try
            {
                using var cmd = new NpgsqlCommand(s.Sql, conn, tx);
                foreach (var p in s.Parameters)
                {
                    cmd.Parameters.Add(p.Clone());
                }

                cmd.ExecuteNonQuery();
                using var release = new NpgsqlCommand("RELEASE SAVEPOINT tributary_record", conn, tx);
                release.ExecuteNonQuery();
            }
            catch (PostgresException e) when (IsRecordError(e))
            {
                using (var back = new NpgsqlCommand("ROLLBACK TO SAVEPOINT tributary_record", conn, tx))
                {
                    back.ExecuteNonQuery();
                }

                PgLog.RecordRefused(Log, s.Record.OriginalTopic, s.Record.OriginalPartition, s.Record.OriginalOffset, $"{e.SqlState} {e.MessageText}");
                ReportOrThrow(s.Record, new DataException($"PostgreSQL refused the record: {e.SqlState} {e.MessageText}", e));
            }
        }

        tx.Commit();
    }

    /// <summary>Data (22), integrity (23) and undefined column/table (42) errors belong to a record; anything else is the connection's.</summary>
    private static bool IsRecordError(PostgresException e) => e.SqlState.StartsWith("22", StringComparison.Ordinal)
        || e.SqlState.StartsWith("23", StringComparison.Ordinal) || e.SqlState is "42703" or "42804" or "42P01";

    private void ReportOrThrow(SinkRecord record, Exception error)
    {
        if (Context?.ErrantRecordReporter is { } reporter)
        {
            reporter.Report(record, error);
            return;
        }

        throw new ConnectException($"Cannot write record {record.Topic}-{record.KafkaPartition}@{record.KafkaOffset}: {error.Message}", error);
    }

    private NpgsqlConnection Connection()
    {
        if (connection is null)
        {
            var c = new NpgsqlConnection(connectionString);
            c.Open();
            connection = c;
        }

        return connection;
    }

    private void DropConnection()
    {
        connection?.Dispose();
        connection = null;
    }

    /// <summary>The statement for one record, or null when it is a tombstone that deletes nothing (delete.enabled=false).</summary>
    private Statement? Build(NpgsqlConnection conn, SinkRecord r)
    {
        var (schemaName, tableName) = PgConnections.SplitTable(tableFormat.Replace("${topic}", r.Topic, StringComparison.Ordinal));
        var table = PgConnections.QuoteTable(schemaName, tableName);
        var value = r.Value;
        var valueSchema = r.ValueSchema;
        if (unwrapEnvelope && value is Struct env && env.Schema.Name is { } n && n.EndsWith(".Envelope", StringComparison.Ordinal)
            && env.Schema.Field("after") is { } afterField && env.Schema.Field("op") is not null)
        {
            value = env.Get("op") as string == "d" ? null : env.Get(afterField);
            valueSchema = value is null ? null : afterField.Schema;
            if (value is null && env.Get("op") as string != "d")
            {
                throw new DataException("CDC envelope without an after row for op " + env.Get("op"));
            }
        }

        var key = KeyColumns(r);
        if (value is null)
        {
            if (!deleteEnabled)
            {
                return null;
            }

            if (key.Count == 0)
            {
                throw new DataException("A tombstone needs a key to delete by");
            }

            if (!knownTables.Contains(table) && !TableExists(conn, table))
            {
                return null; // nothing to delete from a table that does not exist yet
            }

            var where = string.Join(" AND ", key.Select((k, i) => $"{PgConnections.Quote(k.Name)} = ${i + 1}"));
            return new Statement(r, $"DELETE FROM {table} WHERE {where}", key.Select(k => Parameter(k.Value)).ToList());
        }

        if (value is not Struct row || valueSchema is null)
        {
            throw new DataException($"The PostgreSQL sink needs struct values with a schema (use a converter with schemas); got {value.GetType().Name}");
        }

        var columns = new List<(string Name, object? Value, Schema Schema)>();
        if (pkMode == "record_key")
        {
            columns.AddRange(key);
        }

        foreach (var f in row.Schema.Fields)
        {
            if (columns.Any(c => c.Name == f.Name))
            {
                continue;
            }

            columns.Add((f.Name, row.Get(f), f.Schema));
        }

        var pk = pkMode switch
        {
            "record_key" => key.Select(k => k.Name).ToList(),
            "record_value" => pkFields.ToList(),
            _ => [],
        };
        foreach (var p in pk)
        {
            if (columns.All(c => c.Name != p))
            {
                throw new DataException($"Primary key field {p} is not in the record");
            }
        }

        if (!knownTables.Contains(table))
        {
            EnsureTable(conn, table, columns, pk);
        }

        var names = string.Join(", ", columns.Select(c => PgConnections.Quote(c.Name)));
        var placeholders = string.Join(", ", columns.Select((_, i) => "$" + (i + 1).ToString(CultureInfo.InvariantCulture)));
        var sql = $"INSERT INTO {table} ({names}) VALUES ({placeholders})";
        if (upsert && pk.Count > 0)
        {
            var updates = columns.Where(c => !pk.Contains(c.Name)).Select(c => $"{PgConnections.Quote(c.Name)} = EXCLUDED.{PgConnections.Quote(c.Name)}").ToList();
            sql += $" ON CONFLICT ({string.Join(", ", pk.Select(PgConnections.Quote))}) " + (updates.Count == 0 ? "DO NOTHING" : "DO UPDATE SET " + string.Join(", ", updates));
        }

        return new Statement(r, sql, columns.Select(c => Parameter(c.Value)).ToList());
    }

    /// <summary>The primary key columns the record's key gives (pk.mode=record_key), else none.</summary>
    private List<(string Name, object? Value, Schema Schema)> KeyColumns(SinkRecord r)
    {
        if (pkMode != "record_key")
        {
            return [];
        }

        if (r.Key is Struct k)
        {
            var fields = pkFields.Count == 0 ? k.Schema.Fields : pkFields.Select(f => k.Schema.Field(f) ?? throw new DataException($"pk.fields names {f}, which the key does not have")).ToList();
            return fields.Select(f => (f.Name, k.Get(f), f.Schema)).ToList();
        }

        if (r.Key is null)
        {
            throw new DataException("pk.mode=record_key but the record has no key");
        }

        var schema = r.KeySchema ?? r.Key switch
        {
            int => Schema.Int32,
            long => Schema.Int64,
            short => Schema.Int16,
            string => Schema.String,
            _ => throw new DataException($"Unsupported key type {r.Key.GetType().Name}"),
        };
        if (!schema.IsPrimitive)
        {
            throw new DataException("A non-struct key must be a primitive");
        }

        return [(pkFields.Count > 0 ? pkFields[0] : PrimitiveKeyColumn, r.Key, schema)];
    }

    private static NpgsqlParameter Parameter(object? value) => value switch
    {
        null => new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Unknown },
        string s => new NpgsqlParameter { Value = s, NpgsqlDbType = NpgsqlDbType.Unknown }, // the server casts to the column's type
        sbyte b => new NpgsqlParameter { Value = (short)b },
        short or int or long or float or double or bool or byte[] or decimal => new NpgsqlParameter { Value = value },
        DateTime dt => new NpgsqlParameter { Value = DateTime.SpecifyKind(dt, DateTimeKind.Utc) },
        _ => throw new DataException($"No PostgreSQL value for a {value.GetType().Name} field (nested structs, arrays and maps are not written)"),
    };

    private bool TableExists(NpgsqlConnection conn, string quotedTable)
    {
        using var cmd = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = quotedTable });
        var exists = (bool)cmd.ExecuteScalar()!;
        if (exists)
        {
            knownTables.Add(quotedTable);
        }

        return exists;
    }

    private void EnsureTable(NpgsqlConnection conn, string table, List<(string Name, object? Value, Schema Schema)> columns, List<string> pk)
    {
        if (TableExists(conn, table))
        {
            return;
        }

        if (!autoCreate)
        {
            throw new ConnectException($"Table {table} does not exist and auto.create is false");
        }

        var defs = columns.Select(c => $"{PgConnections.Quote(c.Name)} {PgTypes.SqlType(c.Schema)}" + (c.Schema.IsOptional && !pk.Contains(c.Name) ? "" : " NOT NULL")).ToList();
        if (pk.Count > 0)
        {
            defs.Add($"PRIMARY KEY ({string.Join(", ", pk.Select(PgConnections.Quote))})");
        }

        using var create = new NpgsqlCommand($"CREATE TABLE IF NOT EXISTS {table} ({string.Join(", ", defs)})", conn);
        create.ExecuteNonQuery();
        knownTables.Add(table);
        PgLog.TableCreated(Log, table, string.Join(", ", defs.Take(columns.Count)), pk.Count == 0 ? "none" : string.Join(", ", pk));
    }

    public override void Stop() => DropConnection();
}
