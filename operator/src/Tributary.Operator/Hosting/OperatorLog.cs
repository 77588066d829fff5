using Microsoft.Extensions.Logging;

namespace Tributary.Operator.Hosting;

/// <summary>Log messages of the operator, one stable event id each. Ledger: 1xx hosting/leadership, 2xx watches/queue,
/// 3xx Broker reconciler and roller, 4xx Topic reconciler, 5xx ConnectorConfig reconciler.</summary>
internal static partial class OperatorLog
{
    [LoggerMessage(EventId = 5100, EventName = "Starting", Level = LogLevel.Information, Message = "Operator {Identity} starting; API server {Server}, lease {LeaseNamespace}/{LeaseName}")]
    public static partial void Starting(ILogger logger, string identity, string server, string leaseNamespace, string leaseName);

    [LoggerMessage(EventId = 5101, EventName = "StartedLeading", Level = LogLevel.Information, Message = "Operator {Identity} became leader; starting watches and reconcilers")]
    public static partial void StartedLeading(ILogger logger, string identity);

    [LoggerMessage(EventId = 5102, EventName = "StoppedLeading", Level = LogLevel.Warning, Message = "Operator {Identity} lost leadership; stopping reconcilers")]
    public static partial void StoppedLeading(ILogger logger, string identity);

    [LoggerMessage(EventId = 5103, EventName = "NewLeader", Level = LogLevel.Information, Message = "Leader is now {Leader}")]
    public static partial void NewLeader(ILogger logger, string leader);

    [LoggerMessage(EventId = 5104, EventName = "LeaderElectionError", Level = LogLevel.Warning, Message = "Leader election error: {Error}")]
    public static partial void LeaderElectionError(ILogger logger, string error);

    [LoggerMessage(EventId = 5105, EventName = "PdbApiDiscovered", Level = LogLevel.Information, Message = "PodDisruptionBudgets use {Api}")]
    public static partial void PdbApiDiscovered(ILogger logger, string api);

    [LoggerMessage(EventId = 5200, EventName = "WatchListed", Level = LogLevel.Debug, Message = "Watch {Resource}: listed {Count} objects at resourceVersion {ResourceVersion}")]
    public static partial void WatchListed(ILogger logger, string resource, int count, string resourceVersion);

    [LoggerMessage(EventId = 5201, EventName = "WatchGone", Level = LogLevel.Information, Message = "Watch {Resource}: resourceVersion {ResourceVersion} expired (410 Gone); listing again")]
    public static partial void WatchGone(ILogger logger, string resource, string resourceVersion);

    [LoggerMessage(EventId = 5202, EventName = "WatchFailed", Level = LogLevel.Warning, Message = "Watch {Resource} failed; reconnecting in {DelayMs} ms: {Error}")]
    public static partial void WatchFailed(ILogger logger, string resource, long delayMs, string error);

    [LoggerMessage(EventId = 5210, EventName = "ReconcileFailed", Level = LogLevel.Warning, Message = "Reconcile of {Key} failed (retry in {DelayMs} ms): {Error}")]
    public static partial void ReconcileFailed(ILogger logger, Exception exception, string key, long delayMs, string error);

    [LoggerMessage(EventId = 5211, EventName = "Reconciled", Level = LogLevel.Debug, Message = "Reconciled {Key} in {ElapsedMs} ms: {Outcome}")]
    public static partial void Reconciled(ILogger logger, string key, long elapsedMs, string outcome);

    [LoggerMessage(EventId = 5212, EventName = "ApiRetry", Level = LogLevel.Debug, Message = "Retrying {Operation} (attempt {Attempt}): {Error}")]
    public static partial void ApiRetry(ILogger logger, string operation, int attempt, string error);

    [LoggerMessage(EventId = 5300, EventName = "BrokerInvalid", Level = LogLevel.Warning, Message = "Broker {Key} is invalid: {Reason}")]
    public static partial void BrokerInvalid(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 5301, EventName = "PodRestart", Level = LogLevel.Information, Message = "Roller: restarting pod {Pod} of {Key}: {Reason}")]
    public static partial void PodRestart(ILogger logger, string pod, string key, string reason);

    [LoggerMessage(EventId = 5302, EventName = "RollWaiting", Level = LogLevel.Information, Message = "Roller: {Key} waits: {Reason}")]
    public static partial void RollWaiting(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 5303, EventName = "ClusterStateUnavailable", Level = LogLevel.Information, Message = "Broker {Key}: cluster state unavailable: {Error}")]
    public static partial void ClusterStateUnavailable(ILogger logger, string key, string error);

    [LoggerMessage(EventId = 5304, EventName = "BrokerUnregistered", Level = LogLevel.Information, Message = "Broker {Key}: node {NodeId} unregistered after scale-down: {Outcome}")]
    public static partial void BrokerUnregistered(ILogger logger, string key, int nodeId, string outcome);

    [LoggerMessage(EventId = 5400, EventName = "TopicInvalid", Level = LogLevel.Warning, Message = "Topic {Key} is invalid: {Reason}")]
    public static partial void TopicInvalid(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 5401, EventName = "TopicChanged", Level = LogLevel.Information, Message = "Topic {Key}: {Change}")]
    public static partial void TopicChanged(ILogger logger, string key, string change);

    [LoggerMessage(EventId = 5402, EventName = "TopicDeletionRefused", Level = LogLevel.Information, Message = "Topic {Key}: deletion refused: {Reason}")]
    public static partial void TopicDeletionRefused(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 5500, EventName = "ConnectorInvalid", Level = LogLevel.Warning, Message = "ConnectorConfig {Key} is invalid: {Reason}")]
    public static partial void ConnectorInvalid(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 5501, EventName = "ConnectorChanged", Level = LogLevel.Information, Message = "ConnectorConfig {Key}: {Change}")]
    public static partial void ConnectorChanged(ILogger logger, string key, string change);

    [LoggerMessage(EventId = 5502, EventName = "ConnectorRejected", Level = LogLevel.Warning, Message = "ConnectorConfig {Key}: the Connect workers refused the config: {Reason}")]
    public static partial void ConnectorRejected(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 5503, EventName = "ConnectWorkerTrouble", Level = LogLevel.Warning, Message = "ConnectorConfig {Key}: retry in {DelayMs} ms: {Error}")]
    public static partial void ConnectWorkerTrouble(ILogger logger, string key, long delayMs, string error);
}
