using Microsoft.Extensions.Logging;
using Tributary.Protocol;

namespace Tributary.Broker.Replication;

/// <summary>Log events of partition leaders' ISR management (event ids 303–304 of the replication area).</summary>
internal static partial class ReplicationLog
{
    [LoggerMessage(EventId = 303, EventName = "IsrChangeProposed", Level = LogLevel.Information, Message = "{Topic}-{Partition}: asking the controller to change the ISR from [{Isr}] to [{NewIsr}]")]
    public static partial void IsrChangeProposed(ILogger logger, string topic, int partition, string isr, string newIsr);

    [LoggerMessage(EventId = 304, EventName = "IsrChangeRefused", Level = LogLevel.Information, Message = "{Topic}-{Partition}: ISR change not made: {Error} {Reason}")]
    public static partial void IsrChangeRefused(ILogger logger, string topic, int partition, ErrorCode error, string reason);
}
