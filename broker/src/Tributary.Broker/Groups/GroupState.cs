namespace Tributary.Broker.Groups;

/// <summary>The states of a classic group, as Kafka names them (DescribeGroups and ListGroups report these names).</summary>
public enum GroupState
{
    /// <summary>No members; may still hold committed offsets (also the state of offset-only "simple consumer" groups).</summary>
    Empty,

    /// <summary>A rebalance started: waiting for members to (re)join.</summary>
    PreparingRebalance,

    /// <summary>Everyone joined; waiting for the leader's assignment through SyncGroup.</summary>
    CompletingRebalance,

    /// <summary>Assignment done; members heartbeat.</summary>
    Stable,

    /// <summary>Deleted or unloaded; about to disappear.</summary>
    Dead,
}

/// <summary>Kafka's display names of <see cref="GroupState"/>.</summary>
public static class GroupStateNames
{
    public static string Name(this GroupState state) => state switch
    {
        GroupState.Empty => "Empty",
        GroupState.PreparingRebalance => "PreparingRebalance",
        GroupState.CompletingRebalance => "CompletingRebalance",
        GroupState.Stable => "Stable",
        _ => "Dead",
    };

    /// <summary>Parses a ListGroups v4 states filter entry (case-insensitive, as Kafka does).</summary>
    public static GroupState? Parse(string name) => name.ToUpperInvariant() switch
    {
        "EMPTY" => GroupState.Empty,
        "PREPARINGREBALANCE" => GroupState.PreparingRebalance,
        "COMPLETINGREBALANCE" => GroupState.CompletingRebalance,
        "STABLE" => GroupState.Stable,
        "DEAD" => GroupState.Dead,
        _ => null,
    };
}
