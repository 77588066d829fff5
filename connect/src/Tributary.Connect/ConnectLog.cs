using Microsoft.Extensions.Logging;

namespace Tributary.Connect;

/// <summary>Structured log messages of the Connect worker. Event ids: 100s plugins, 200s tasks, 300s herder/group, 400s REST, 500s errors.</summary>
internal static partial class ConnectLog
{
    [LoggerMessage(EventId = 2501, Level = LogLevel.Information, Message = "Loaded plugin {ClassName} ({Kind}) from {Directory}")]
    public static partial void PluginLoaded(ILogger logger, string className, string kind, string directory);

    [LoggerMessage(EventId = 2502, Level = LogLevel.Warning, Message = "Could not load plugin assembly {File}: {Reason}")]
    public static partial void PluginLoadFailed(ILogger logger, string file, string reason);

    [LoggerMessage(EventId = 2511, Level = LogLevel.Information, Message = "Started {What} {Id}")]
    public static partial void Started(ILogger logger, string what, string id);

    [LoggerMessage(EventId = 2512, Level = LogLevel.Information, Message = "Stopped {What} {Id}")]
    public static partial void Stopped(ILogger logger, string what, string id);

    [LoggerMessage(EventId = 2513, Level = LogLevel.Error, Message = "{What} {Id} failed")]
    public static partial void Failed(ILogger logger, Exception error, string what, string id);

    [LoggerMessage(EventId = 2514, Level = LogLevel.Debug, Message = "Task {Id} committed offsets for {Count} source partitions")]
    public static partial void OffsetsCommitted(ILogger logger, string id, int count);

    [LoggerMessage(EventId = 2521, Level = LogLevel.Information, Message = "Joined group {Group} generation {Generation} as {MemberId} (leader {Leader}); assigned connectors [{Connectors}] tasks [{Tasks}], revoked [{Revoked}]")]
    public static partial void Assigned(ILogger logger, string group, int generation, string memberId, string leader, string connectors, string tasks, string revoked);

    [LoggerMessage(EventId = 2522, Level = LogLevel.Warning, Message = "Group {Group}: {Reason}; rejoining")]
    public static partial void Rejoining(ILogger logger, string group, string reason);

    [LoggerMessage(EventId = 2523, Level = LogLevel.Information, Message = "Worker {WorkerId} started in {Mode} mode, REST on {Url}")]
    public static partial void WorkerStarted(ILogger logger, string workerId, string mode, string url);

    [LoggerMessage(EventId = 2524, Level = LogLevel.Warning, Message = "Herder tick failed: {Reason}")]
    public static partial void TickFailed(ILogger logger, Exception error, string reason);

    [LoggerMessage(EventId = 2525, Level = LogLevel.Information, Message = "Group {Group}: work of a departed worker is held for {DelayMs} ms (scheduled.rebalance.max.delay.ms) before it is reassigned")]
    public static partial void HoldingLostWork(ILogger logger, string group, long delayMs);

    [LoggerMessage(EventId = 2531, Level = LogLevel.Debug, Message = "Forwarding {Method} {Path} to the leader at {Leader}")]
    public static partial void Forwarding(ILogger logger, string method, string path, string leader);

    [LoggerMessage(EventId = 2541, Level = LogLevel.Error, Message = "Error encountered in task {TaskId}. Executing stage '{Stage}' with class '{ClassName}'{Where}.")]
    public static partial void RecordError(ILogger logger, Exception error, string taskId, string stage, string className, string where);

    [LoggerMessage(EventId = 2542, Level = LogLevel.Warning, Message = "Task {TaskId}: retrying stage {Stage} after {Error} (attempt {Attempt})")]
    public static partial void Retrying(ILogger logger, string taskId, string stage, string error, int attempt);

    [LoggerMessage(EventId = 2551, Level = LogLevel.Information, Message = "Task {Id} runs exactly-once: transactional.id {TransactionalId}, transaction.boundary {Boundary}, offsets in {OffsetsTopic}")]
    public static partial void ExactlyOnceTaskStarted(ILogger logger, string id, string transactionalId, string boundary, string offsetsTopic);

    [LoggerMessage(EventId = 2552, Level = LogLevel.Debug, Message = "Task {Id} committed a transaction with offsets for {Count} source partitions")]
    public static partial void TransactionCommitted(ILogger logger, string id, int count);

    [LoggerMessage(EventId = 2553, Level = LogLevel.Information, Message = "Task {Id} aborted its open transaction: {Reason}")]
    public static partial void TransactionAborted(ILogger logger, string id, string reason);

    [LoggerMessage(EventId = 2554, Level = LogLevel.Warning, Message = "Task {Id} was fenced: its producer (transactional.id {TransactionalId}) belongs to an older instance of the task; it stops without committing ({Reason})")]
    public static partial void TaskFenced(ILogger logger, string id, string transactionalId, string reason);

    [LoggerMessage(EventId = 2555, Level = LogLevel.Information, Message = "Fenced the producers of {Count} task(s) of connector {Connector}'s previous generation and recorded its new task count {TaskCount}")]
    public static partial void ZombiesFenced(ILogger logger, string connector, int count, int taskCount);

    [LoggerMessage(EventId = 2556, Level = LogLevel.Debug, Message = "Task {Id} waits: the leader has not yet fenced the previous generation of connector {Connector}")]
    public static partial void WaitingForFencing(ILogger logger, string id, string connector);

    [LoggerMessage(EventId = 2557, Level = LogLevel.Warning, Message = "Fencing the previous generation of connector {Connector} failed: {Reason}; retrying")]
    public static partial void FencingFailed(ILogger logger, Exception error, string connector, string reason);
}
