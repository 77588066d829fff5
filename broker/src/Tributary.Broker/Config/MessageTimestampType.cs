namespace Tributary.Broker.Config;

/// <summary>Which timestamp a log stores for appended records (<c>message.timestamp.type</c>).</summary>
public enum MessageTimestampType
{
    /// <summary>The producer's timestamp, checked against message.timestamp.before/after.max.ms.</summary>
    CreateTime,
    /// <summary>The broker overwrites batch timestamps with its clock at append.</summary>
    LogAppendTime,
}

/// <summary>Roles a process plays in KRaft mode (<c>process.roles</c>).</summary>
[Flags]
public enum ProcessRoles
{
    None = 0,
    Broker = 1,
    Controller = 2,
}
