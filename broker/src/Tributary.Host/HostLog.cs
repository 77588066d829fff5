using Microsoft.Extensions.Logging;

namespace Tributary.Host;

/// <summary>The host's log events (source-generated, stable event ids).</summary>
internal static partial class HostLog
{
    [LoggerMessage(EventId = 20, EventName = "ConfigWarning", Level = LogLevel.Warning, Message = "{Warning}")]
    public static partial void ConfigWarning(ILogger logger, string warning);

    [LoggerMessage(EventId = 21, EventName = "KafkaListenerBound", Level = LogLevel.Information,
        Message = "Kafka listener {Listener} bound to {EndPoint}")]
    public static partial void KafkaListenerBound(ILogger logger, string listener, string endPoint);

    [LoggerMessage(EventId = 22, EventName = "HttpListenerBound", Level = LogLevel.Information,
        Message = "HTTP listener bound to {EndPoint} (/healthz, /readyz, /metrics)")]
    public static partial void HttpListenerBound(ILogger logger, string endPoint);

    [LoggerMessage(EventId = 23, EventName = "ControllerListenerServedByQuorum", Level = LogLevel.Information,
        Message = "Controller listener {Listener} carries the metadata quorum (Raft between voters, controller calls, observer fetches)")]
    public static partial void ControllerListenerServedByQuorum(ILogger logger, string listener);

    [LoggerMessage(EventId = 24, EventName = "BrokerStarting", Level = LogLevel.Information,
        Message = "Starting broker node.id={NodeId} roles={Roles} advertised={Advertised} log.dirs={LogDirs}")]
    public static partial void BrokerStarting(ILogger logger, int nodeId, string roles, string advertised, string logDirs);

    [LoggerMessage(EventId = 25, EventName = "Started", Level = LogLevel.Information, Message = "Broker {NodeId} started")]
    public static partial void Started(ILogger logger, int nodeId);

    [LoggerMessage(EventId = 26, EventName = "Stopping", Level = LogLevel.Information,
        Message = "Shutdown requested; stopping listeners and the broker (timeout 30 s)")]
    public static partial void Stopping(ILogger logger);

    [LoggerMessage(EventId = 27, EventName = "Stopped", Level = LogLevel.Information, Message = "Broker stopped")]
    public static partial void Stopped(ILogger logger);
}
