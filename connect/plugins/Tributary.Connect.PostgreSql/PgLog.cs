using Microsoft.Extensions.Logging;

namespace Tributary.Connect.PostgreSql;

/// <summary>Log events of the PostgreSQL connectors (ids 2600-2699: 2601-2619 CDC source, 2621-2639 sink, 2641-2659 query source).</summary>
internal static partial class PgLog
{
    [LoggerMessage(EventId = 2601, Level = LogLevel.Information, Message = "Created publication {Publication} ({Target})")]
    public static partial void PublicationCreated(ILogger logger, string publication, string target);

    [LoggerMessage(EventId = 2602, Level = LogLevel.Information, Message = "Created replication slot {Slot} at LSN {Lsn}; snapshot {Snapshot}")]
    public static partial void SlotCreated(ILogger logger, string slot, string lsn, string snapshot);

    [LoggerMessage(EventId = 2603, Level = LogLevel.Information, Message = "Snapshot of {Tables} table(s) read: {Rows} rows at LSN {Lsn}")]
    public static partial void SnapshotDone(ILogger logger, int tables, long rows, string lsn);

    [LoggerMessage(EventId = 2604, Level = LogLevel.Information, Message = "Streaming changes from slot {Slot} from LSN {Lsn}")]
    public static partial void Streaming(ILogger logger, string slot, string lsn);

    [LoggerMessage(EventId = 2605, Level = LogLevel.Warning, Message = "Replication slot {Slot} exists but no completed snapshot is stored: dropping it and starting the snapshot again")]
    public static partial void SnapshotRestarted(ILogger logger, string slot);

    [LoggerMessage(EventId = 2606, Level = LogLevel.Debug, Message = "Acknowledged LSN {Lsn} to slot {Slot}")]
    public static partial void Acknowledged(ILogger logger, string lsn, string slot);

    [LoggerMessage(EventId = 2607, Level = LogLevel.Error, Message = "Replication stream of slot {Slot} failed")]
    public static partial void StreamFailed(ILogger logger, Exception error, string slot);

    [LoggerMessage(EventId = 2621, Level = LogLevel.Information, Message = "Created table {Table} ({Columns}; primary key {Key})")]
    public static partial void TableCreated(ILogger logger, string table, string columns, string key);

    [LoggerMessage(EventId = 2622, Level = LogLevel.Warning, Message = "PostgreSQL refused record {Topic}-{Partition}@{Offset}: {Reason}")]
    public static partial void RecordRefused(ILogger logger, string topic, int partition, long offset, string reason);

    [LoggerMessage(EventId = 2623, Level = LogLevel.Warning, Message = "PostgreSQL write failed, the batch will be put again: {Reason}")]
    public static partial void WriteFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 2641, Level = LogLevel.Warning, Message = "PostgreSQL poll failed, retrying: {Reason}")]
    public static partial void PollFailed(ILogger logger, string reason);
}
