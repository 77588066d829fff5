using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Npgsql.Replication;
using Npgsql.Replication.PgOutput;
using Npgsql.Replication.PgOutput.Messages;
using NpgsqlTypes;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.PostgreSql;

/// <summary>
/// Change data capture from PostgreSQL's logical replication (pgoutput). On first start it creates the publication
/// (<c>publication.name</c>, for <c>table.include.list</c> or all tables) and the replication slot (<c>slot.name</c>),
/// reads every table under the snapshot the slot exported (so the snapshot and the stream meet exactly at the slot's start
/// LSN), then streams inserts, updates and deletes. Topic per table: <c>{topic.prefix}.{schema}.{table}</c>; key: the
/// primary key columns; value: the envelope described in docs/connect-postgresql.md (<c>before</c>, <c>after</c>,
/// <c>source</c>, <c>op</c> c/u/d/r, <c>ts_ms</c>); a delete is followed by a tombstone (<c>tombstones.on.delete</c>).
/// The source offset is the LSN; the slot is told an LSN is flushed only after the records up to it are written to Kafka
/// and their offsets stored, so a worker killed at any point resumes without loss (at least once).
/// </summary>
public sealed class PostgresCdcSourceConnector : SourceConnector
{
    public const string TopicPrefixConfig = "topic.prefix";
    public const string TableIncludeListConfig = "table.include.list";
    public const string PublicationNameConfig = "publication.name";
    public const string SlotNameConfig = "slot.name";
    public const string PublicationAutocreateConfig = "publication.autocreate";
    public const string SnapshotModeConfig = "snapshot.mode";
    public const string TombstonesOnDeleteConfig = "tombstones.on.delete";
    public const string MaxBatchSizeConfig = "max.batch.size";
    public const string MaxQueueSizeConfig = "max.queue.size";

    private static readonly IConfigValidator Identifier = Validators.Of((name, v) =>
    {
        if (v is not string s || s.Length == 0 || s.Length > 63 || !s.All(ch => ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
        {
            throw new ConfigException(name, v, "must be 1-63 characters of a-z, 0-9 and _ (a PostgreSQL slot/publication name)");
        }
    });

    private IReadOnlyDictionary<string, string> props = new Dictionary<string, string>();

    public static ConfigDef Definition { get; } = PgConnections.Define(new ConfigDef())
        .Define(TopicPrefixConfig, ConfigType.String, ConfigDef.NoDefault, Validators.NonEmptyString, Importance.High, "Topic prefix: changes of schema.table go to {topic.prefix}.{schema}.{table}")
        .Define(TableIncludeListConfig, ConfigType.List, "", Importance.High, "Tables to capture (schema.table); empty: every table of the publication")
        .Define(PublicationNameConfig, ConfigType.String, "tributary_publication", Identifier, Importance.Medium, "The publication pgoutput streams")
        .Define(SlotNameConfig, ConfigType.String, "tributary_slot", Identifier, Importance.Medium, "The logical replication slot (kept across restarts: it holds the WAL not yet acknowledged)")
        .Define(PublicationAutocreateConfig, ConfigType.Boolean, true, Importance.Low, "Create the publication when it does not exist")
        .Define(SnapshotModeConfig, ConfigType.String, "initial", Validators.In("initial", "never"), Importance.Medium, "initial: read every table before streaming; never: stream changes only")
        .Define(TombstonesOnDeleteConfig, ConfigType.Boolean, true, Importance.Low, "Follow each delete with a tombstone (same key, null value) so compaction removes the key")
        .Define(MaxBatchSizeConfig, ConfigType.Int, 2048, Validators.Between(1, 1_000_000), Importance.Low, "Most records one poll returns")
        .Define(MaxQueueSizeConfig, ConfigType.Int, 8192, Validators.Between(1, 10_000_000), Importance.Low, "Most change events buffered between the replication stream and the worker");

    public override string Version => typeof(PostgresCdcSourceConnector).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    public override ConfigDef Config => Definition;

    public override Type TaskType => typeof(PostgresCdcSourceTask);

    public override void Start(IReadOnlyDictionary<string, string> props)
    {
        Definition.Parse(props);
        this.props = props;
    }

    /// <summary>One slot is one stream: always a single task.</summary>
    public override IReadOnlyList<IReadOnlyDictionary<string, string>> TaskConfigs(int maxTasks) => [new Dictionary<string, string>(props)];

    public override void Stop()
    {
    }
}

/// <summary>Reads the snapshot and then the replication stream on a background loop into a bounded queue that polls drain.</summary>
public sealed class PostgresCdcSourceTask : SourceTask
{
    public const string ServerKey = "server";
    public const string LsnKey = "lsn";
    public const string TxKey = "txlsn";
    public const string SeqKey = "seq";
    public const string SnapshotCompletedKey = "snapshot_completed";

    /// <summary>An item of the queue: a record, or the end of a transaction (its end LSN may be acknowledged once everything before it is written).</summary>
    private readonly record struct Item(SourceRecord? Record, ulong CommitEndLsn);

    private sealed record RelationInfo(PgTable Table, string Topic, Schema? KeySchema, Schema RowSchema, Schema EnvelopeSchema);

    private readonly Dictionary<uint, RelationInfo> relations = [];
    private readonly Dictionary<uint, string> typeNames = [];
    private Channel<Item>? queue;
    private CancellationTokenSource? stopping;
    private Task? reader;
    private LogicalReplicationConnection? replication;
    private string connectionString = "";
    private string topicPrefix = "";
    private string publication = "";
    private string slot = "";
    private string databaseName = "";
    private IReadOnlyList<string> includeList = [];
    private bool autocreate;
    private bool snapshotInitial;
    private bool tombstones;
    private int maxBatch;
    private int maxQueue;
    private ulong resumeLsn;
    private ulong resumeTx;
    private long resumeSeq;
    private bool started;

    /// <summary>The end LSN of the last transaction all of whose records were handed out by a poll (acknowledged on the next commit).</summary>
    private ulong handedOutEndLsn;
    private ulong acknowledgedLsn;
    private Exception? failure;

    private ILogger Log => Context?.Logger ?? NullLogger.Instance;

    public override string Version => typeof(PostgresCdcSourceTask).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    private IReadOnlyDictionary<string, object?> Partition => new Dictionary<string, object?> { [ServerKey] = topicPrefix };

    public override void Start(IReadOnlyDictionary<string, string> props)
    {
        var c = ParsedConfig.Of(PostgresCdcSourceConnector.Definition, props);
        connectionString = PgConnections.ConnectionString(props);
        topicPrefix = c.GetString(PostgresCdcSourceConnector.TopicPrefixConfig)!.Trim();
        publication = c.GetString(PostgresCdcSourceConnector.PublicationNameConfig)!;
        slot = c.GetString(PostgresCdcSourceConnector.SlotNameConfig)!;
        includeList = c.GetList(PostgresCdcSourceConnector.TableIncludeListConfig);
        autocreate = c.GetBoolean(PostgresCdcSourceConnector.PublicationAutocreateConfig);
        snapshotInitial = c.GetString(PostgresCdcSourceConnector.SnapshotModeConfig) == "initial";
        tombstones = c.GetBoolean(PostgresCdcSourceConnector.TombstonesOnDeleteConfig);
        maxBatch = c.GetInt(PostgresCdcSourceConnector.MaxBatchSizeConfig);
        maxQueue = c.GetInt(PostgresCdcSourceConnector.MaxQueueSizeConfig);
        databaseName = new NpgsqlConnectionStringBuilder(connectionString).Database ?? "";
    }

    public override async Task<IReadOnlyList<SourceRecord>?> PollAsync(CancellationToken cancellation)
    {
        if (!started)
        {
            started = true;
            await StartStreamAsync(cancellation);
        }

        // Everything handed out before this poll has been written and its offsets stored (the worker polls again only then).
        await AcknowledgeAsync(cancellation);
        var records = new List<SourceRecord>();
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        wait.CancelAfter(TimeSpan.FromMilliseconds(500));
        try
        {
            if (!await queue!.Reader.WaitToReadAsync(wait.Token))
            {
                throw new ConnectException("PostgreSQL replication stream ended: " + failure?.Message, failure!);
            }
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return records;
        }

        while (records.Count < maxBatch && queue.Reader.TryRead(out var item))
        {
            if (item.Record is { } r)
            {
                records.Add(r);
            }
            else
            {
                handedOutEndLsn = item.CommitEndLsn;
            }
        }

        return records;
    }

    public override void Commit() => AcknowledgeAsync(CancellationToken.None).GetAwaiter().GetResult();

    private async Task AcknowledgeAsync(CancellationToken cancellation)
    {
        var lsn = handedOutEndLsn;
        if (replication is null || lsn <= acknowledgedLsn)
        {
            return;
        }

        replication.SetReplicationStatus(new NpgsqlLogSequenceNumber(lsn));
        try
        {
            await replication.SendStatusUpdate(cancellation);
            acknowledgedLsn = lsn;
            PgLog.Acknowledged(Log, new NpgsqlLogSequenceNumber(lsn).ToString(), slot);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or ObjectDisposedException)
        {
            // The stream loop reports a broken connection; the status is sent again with the next update.
        }
    }

    private async Task StartStreamAsync(CancellationToken cancellation)
    {
        var stored = Context?.OffsetStorageReader.Offset(Partition);
        var snapshotDone = stored is not null && stored.TryGetValue(SnapshotCompletedKey, out var sc) && sc is true;
        if (stored is not null)
        {
            resumeLsn = ToUlong(stored.GetValueOrDefault(LsnKey));
            resumeTx = ToUlong(stored.GetValueOrDefault(TxKey));
            resumeSeq = stored.TryGetValue(SeqKey, out var s) && s is not null ? Convert.ToInt64(s, CultureInfo.InvariantCulture) : 0;
        }

        await using (var conn = new NpgsqlConnection(connectionString))
        {
            await conn.OpenAsync(cancellation);
            await EnsurePublicationAsync(conn, cancellation);
        }

        queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(maxQueue) { SingleReader = true, SingleWriter = true });
        stopping = new CancellationTokenSource();
        replication = new LogicalReplicationConnection(connectionString);
        await replication.Open(cancellation);
        var slotExists = await SlotExistsAsync(cancellation);
        var token = stopping.Token;
        if (slotExists && (snapshotDone || !snapshotInitial))
        {
            PgLog.Streaming(Log, slot, new NpgsqlLogSequenceNumber(resumeLsn).ToString());
            reader = Task.Run(() => StreamAsync(new PgOutputReplicationSlot(slot), resumeLsn == 0 ? null : new NpgsqlLogSequenceNumber(resumeLsn), token), CancellationToken.None);
            return;
        }

        if (slotExists)
        {
            // A snapshot that never completed (its exported snapshot died with the task): start over with a new slot.
            PgLog.SnapshotRestarted(Log, slot);
            await replication.DropReplicationSlot(slot, wait: true, cancellation);
        }

        resumeTx = 0;
        resumeSeq = 0;
        var created = await replication.CreatePgOutputReplicationSlot(slot, temporarySlot: false,
            slotSnapshotInitMode: snapshotInitial ? LogicalSlotSnapshotInitMode.Export : LogicalSlotSnapshotInitMode.NoExport, cancellationToken: cancellation);
        PgLog.SlotCreated(Log, slot, created.ConsistentPoint.ToString(), snapshotInitial ? "initial" : "never");
        reader = Task.Run(async () =>
        {
            if (snapshotInitial)
            {
                await SnapshotAsync(created.SnapshotName!, (ulong)created.ConsistentPoint, token);
            }

            await StreamAsync(created, created.ConsistentPoint, token);
        }, CancellationToken.None);
    }

    private async Task<bool> SlotExistsAsync(CancellationToken cancellation)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(cancellation);
        await using var cmd = new NpgsqlCommand("SELECT plugin FROM pg_replication_slots WHERE slot_name = $1", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = slot });
        var plugin = await cmd.ExecuteScalarAsync(cancellation);
        return plugin switch
        {
            null => false,
            "pgoutput" => true,
            _ => throw new ConnectException($"Replication slot {slot} exists with plugin {plugin}, not pgoutput"),
        };
    }

    private async Task EnsurePublicationAsync(NpgsqlConnection conn, CancellationToken cancellation)
    {
        await using (var check = new NpgsqlCommand("SELECT count(*) FROM pg_publication WHERE pubname = $1", conn))
        {
            check.Parameters.Add(new NpgsqlParameter { Value = publication });
            if ((long)(await check.ExecuteScalarAsync(cancellation))! > 0)
            {
                return;
            }
        }

        if (!autocreate)
        {
            throw new ConnectException($"Publication {publication} does not exist and publication.autocreate is false");
        }

        var target = includeList.Count == 0
            ? "FOR ALL TABLES"
            : "FOR TABLE " + string.Join(", ", includeList.Select(t => PgConnections.SplitTable(t)).Select(p => PgConnections.QuoteTable(p.Schema, p.Table)));
        await using var create = new NpgsqlCommand($"CREATE PUBLICATION {PgConnections.Quote(publication)} {target}", conn);
        await create.ExecuteNonQueryAsync(cancellation);
        PgLog.PublicationCreated(Log, publication, target);
    }

    /// <summary>Reads every published table under the slot's exported snapshot: op "r" records.</summary>
    private async Task SnapshotAsync(string snapshotName, ulong consistentPoint, CancellationToken cancellation)
    {
        try
        {
            await using var conn = new NpgsqlConnection(connectionString);
            await conn.OpenAsync(cancellation);
            await using var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellation);
            await using (var set = new NpgsqlCommand($"SET TRANSACTION SNAPSHOT '{snapshotName.Replace("'", "''", StringComparison.Ordinal)}'", conn, tx))
            {
                await set.ExecuteNonQueryAsync(cancellation);
            }

            var tables = new List<(string Schema, string Table)>();
            await using (var list = new NpgsqlCommand("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2", conn, tx))
            {
                list.Parameters.Add(new NpgsqlParameter { Value = publication });
                await using var r = await list.ExecuteReaderAsync(cancellation);
                while (await r.ReadAsync(cancellation))
                {
                    tables.Add((r.GetString(0), r.GetString(1)));
                }
            }

            var offset = new Dictionary<string, object?> { [LsnKey] = (long)consistentPoint, [SnapshotCompletedKey] = false };
            SourceRecord? last = null;
            long rows = 0;
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            foreach (var (schema, name) in tables)
            {
                var table = await PgTable.LoadAsync(conn, schema, name, cancellation);
                var info = Describe(table);
                await using var select = new NpgsqlCommand($"SELECT {table.SelectList} FROM {table.Qualified}", conn, tx);
                await using var r = await select.ExecuteReaderAsync(cancellation);
                while (await r.ReadAsync(cancellation))
                {
                    var row = new Struct(info.RowSchema);
                    for (var i = 0; i < table.Columns.Count; i++)
                    {
                        row.Put(table.Columns[i].Name, PgTypes.FromReader(r, i, table.Columns[i]));
                    }

                    if (last is not null)
                    {
                        await queue!.Writer.WriteAsync(new Item(last, 0), cancellation);
                    }

                    last = Change(info, "r", null, row, consistentPoint, now, offset, snapshot: true);
                    rows++;
                }
            }

            await tx.CommitAsync(cancellation);
            PgLog.SnapshotDone(Log, tables.Count, rows, new NpgsqlLogSequenceNumber(consistentPoint).ToString());
            if (last is not null)
            {
                // The last snapshot record carries snapshot_completed: once it is stored, a restart streams instead of re-reading.
                var done = new Dictionary<string, object?> { [LsnKey] = (long)consistentPoint, [SnapshotCompletedKey] = true };
                await queue!.Writer.WriteAsync(new Item(Rebuild(last, done), 0), cancellation);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            PgLog.StreamFailed(Log, e, slot);
            failure = e;
            queue!.Writer.TryComplete(e);
            throw;
        }
    }

    private static SourceRecord Rebuild(SourceRecord r, IReadOnlyDictionary<string, object?> offset) =>
        new(r.SourcePartition, offset, r.Topic, r.KafkaPartition, r.KeySchema, r.Key, r.ValueSchema, r.Value, r.Timestamp, r.Headers);

    private async Task StreamAsync(PgOutputReplicationSlot replicationSlot, NpgsqlLogSequenceNumber? from, CancellationToken cancellation)
    {
        try
        {
            ulong lastEnd = from is { } start ? (ulong)start : resumeLsn;
            ulong tx = 0;
            long seq = 0;
            long commitTs = 0;
            var options = new PgOutputReplicationOptions(publication, PgOutputProtocolVersion.V1);
            await foreach (var message in replication!.StartReplication(replicationSlot, options, cancellation, from))
            {
                switch (message)
                {
                    case RelationMessage rel:
                        relations[rel.RelationId] = await DescribeAsync(rel, cancellation);
                        break;
                    case BeginMessage begin:
                        tx = (ulong)begin.TransactionFinalLsn;
                        seq = 0;
                        commitTs = new DateTimeOffset(begin.TransactionCommitTimestamp.ToUniversalTime(), TimeSpan.Zero).ToUnixTimeMilliseconds();
                        break;
                    case InsertMessage ins:
                        seq++;
                        await EmitAsync(ins.Relation.RelationId, "c", null, ins.NewRow, lastEnd, tx, seq, commitTs, cancellation);
                        break;
                    case FullUpdateMessage fu:
                        seq++;
                        await EmitAsync(fu.Relation.RelationId, "u", fu.OldRow, fu.NewRow, lastEnd, tx, seq, commitTs, cancellation);
                        break;
                    case IndexUpdateMessage iu:
                        seq++;
                        await EmitAsync(iu.Relation.RelationId, "u", iu.Key, iu.NewRow, lastEnd, tx, seq, commitTs, cancellation);
                        break;
                    case UpdateMessage up:
                        seq++;
                        await EmitAsync(up.Relation.RelationId, "u", null, up.NewRow, lastEnd, tx, seq, commitTs, cancellation);
                        break;
                    case FullDeleteMessage fd:
                        seq++;
                        await EmitAsync(fd.Relation.RelationId, "d", fd.OldRow, null, lastEnd, tx, seq, commitTs, cancellation);
                        break;
                    case KeyDeleteMessage kd:
                        seq++;
                        await EmitAsync(kd.Relation.RelationId, "d", kd.Key, null, lastEnd, tx, seq, commitTs, cancellation);
                        break;
                    case CommitMessage commit:
                        lastEnd = (ulong)commit.TransactionEndLsn;
                        await queue!.Writer.WriteAsync(new Item(null, lastEnd), cancellation);
                        break;
                }
            }

            failure = new ConnectException("The server ended the replication stream");
            queue!.Writer.TryComplete(failure);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            queue!.Writer.TryComplete();
        }
        catch (Exception e)
        {
            PgLog.StreamFailed(Log, e, slot);
            failure = e;
            queue!.Writer.TryComplete(e);
        }
    }

    private async Task EmitAsync(uint relationId, string op, ReplicationTuple? oldTuple, ReplicationTuple? newTuple, ulong lastEnd, ulong tx, long seq,
        long commitTs, CancellationToken cancellation)
    {
        var info = relations.GetValueOrDefault(relationId) ?? throw new ConnectException($"Change for relation {relationId} before its Relation message");
        var before = oldTuple is null ? null : await ReadRowAsync(info, oldTuple, cancellation);
        var after = newTuple is null ? null : await ReadRowAsync(info, newTuple, cancellation);
        if (tx == resumeTx && seq <= resumeSeq)
        {
            return; // written before the restart
        }

        var offset = new Dictionary<string, object?> { [LsnKey] = (long)lastEnd, [TxKey] = (long)tx, [SeqKey] = seq, [SnapshotCompletedKey] = true };
        var record = Change(info, op, before, after, tx, commitTs, offset, snapshot: false);
        await queue!.Writer.WriteAsync(new Item(record, 0), cancellation);
        if (op == "d" && tombstones && record.Key is not null)
        {
            await queue.Writer.WriteAsync(new Item(new SourceRecord(Partition, offset, info.Topic, null, info.KeySchema, record.Key, null, null, commitTs), 0), cancellation);
        }
    }

    private static async Task<Struct> ReadRowAsync(RelationInfo info, ReplicationTuple tuple, CancellationToken cancellation)
    {
        var row = new Struct(info.RowSchema);
        var i = 0;
        await foreach (var value in tuple.WithCancellation(cancellation))
        {
            var column = info.Table.Columns[i++];
            if (value.IsDBNull || value.IsUnchangedToastedValue)
            {
                // An unchanged TOAST value is not sent by the server: it travels as null (documented).
                continue;
            }

            var text = await value.Get<string>(cancellation);
            row.Put(column.Name, PgTypes.FromText(text, column.TypeOid));
        }

        return row;
    }

    private SourceRecord Change(RelationInfo info, string op, Struct? before, Struct? after, ulong lsn, long tsMs, IReadOnlyDictionary<string, object?> offset, bool snapshot)
    {
        var envelope = new Struct(info.EnvelopeSchema);
        envelope.Put("before", before);
        envelope.Put("after", after);
        var source = new Struct(info.EnvelopeSchema.Field("source")!.Schema)
            .Put("connector", "postgresql").Put("name", topicPrefix).Put("db", databaseName).Put("schema", info.Table.Schema).Put("table", info.Table.Name)
            .Put("lsn", (long)lsn).Put("snapshot", snapshot).Put("ts_ms", tsMs);
        envelope.Put("source", source);
        envelope.Put("op", op);
        envelope.Put("ts_ms", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Struct? key = null;
        var rowForKey = after ?? before;
        if (info.KeySchema is not null && rowForKey is not null)
        {
            key = new Struct(info.KeySchema);
            foreach (var f in info.KeySchema.Fields)
            {
                key.Put(f.Name, rowForKey.Get(f.Name));
            }
        }

        return new SourceRecord(Partition, offset, info.Topic, null, info.KeySchema, key, info.EnvelopeSchema, envelope, tsMs);
    }

    private RelationInfo Describe(PgTable table)
    {
        var topic = $"{topicPrefix}.{table.Schema}.{table.Name}";
        var keyColumns = table.KeyColumns.ToList();
        var keySchema = keyColumns.Count == 0 ? null : PgTypes.StructSchema(topic + ".Key", keyColumns, allOptionalButKey: true);
        var row = PgTypes.StructSchema(topic + ".Value", table.Columns, allOptionalButKey: true);
        var optionalRow = SchemaBuilder.CopyOf(row).Optional();
        foreach (var f in row.Fields)
        {
            optionalRow.Field(f.Name, f.Schema);
        }

        var rowOpt = optionalRow.Build();
        var source = SchemaBuilder.Struct().Name("io.tributary.connect.postgresql.Source")
            .Field("connector", Schema.String).Field("name", Schema.String).Field("db", Schema.String).Field("schema", Schema.String)
            .Field("table", Schema.String).Field("lsn", Schema.Int64).Field("snapshot", Schema.Boolean).Field("ts_ms", Schema.Int64).Build();
        var envelope = SchemaBuilder.Struct().Name(topic + ".Envelope")
            .Field("before", rowOpt).Field("after", rowOpt).Field("source", source).Field("op", Schema.String).Field("ts_ms", Schema.OptionalInt64).Build();
        return new RelationInfo(table, topic, keySchema, rowOpt, envelope);
    }

    private async Task<RelationInfo> DescribeAsync(RelationMessage rel, CancellationToken cancellation)
    {
        var columns = new List<PgColumn>();
        foreach (var c in rel.Columns)
        {
            columns.Add(new PgColumn(c.ColumnName, c.DataTypeId, await TypeNameAsync(c.DataTypeId, c.TypeModifier, cancellation), false,
                (c.Flags & RelationMessage.Column.ColumnFlags.PartOfKey) != 0));
        }

        return Describe(new PgTable(rel.Namespace, rel.RelationName, columns));
    }

    private async Task<string> TypeNameAsync(uint oid, int typmod, CancellationToken cancellation)
    {
        var cacheKey = oid ^ ((uint)typmod << 16);
        if (typeNames.TryGetValue(cacheKey, out var name))
        {
            return name;
        }

        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(cancellation);
        await using var cmd = new NpgsqlCommand("SELECT format_type($1::int8::oid, $2)", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (long)oid });
        cmd.Parameters.Add(new NpgsqlParameter { Value = typmod });
        name = (string)(await cmd.ExecuteScalarAsync(cancellation))!;
        typeNames[cacheKey] = name;
        return name;
    }

    private static ulong ToUlong(object? v) => v is null ? 0 : (ulong)Convert.ToInt64(v, CultureInfo.InvariantCulture);

    public override void Stop()
    {
        stopping?.Cancel();
        try
        {
            reader?.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
        }

        replication?.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
        replication = null;
        stopping?.Dispose();
    }
}
