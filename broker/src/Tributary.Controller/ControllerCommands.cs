using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller;

/// <summary>The outcome of a controller operation: Kafka's error code and, when it failed, why.</summary>
public readonly record struct ControllerResult(ErrorCode Error, string? Message = null)
{
    public static readonly ControllerResult Ok = new(ErrorCode.None);
    public bool IsOk => Error == ErrorCode.None;
}

/// <summary>What a client asked for when creating a topic (after defaults were applied by the handler).</summary>
public sealed record NewTopic(string Name, int Partitions, short ReplicationFactor,
    IReadOnlyDictionary<int, int[]>? Assignments, IReadOnlyDictionary<string, string?> Configs);

/// <summary>A request to the active controller. Brokers send these (locally or over the quorum's controller channel,
/// as the generated requests of <c>ControllerCalls</c>); the controller answers each with a <see cref="ControllerReply"/> subtype.</summary>
public abstract record ControllerCommand;

/// <summary>Plain outcome: Kafka error code, message, and the metadata offset at which the change committed (-1 when
/// nothing was written). A broker waits until its own image reaches <see cref="Offset"/> before answering its client,
/// so a client sees its own change on the broker it asked.</summary>
public record ControllerReply(ErrorCode Error, string? Message = null, long Offset = -1)
{
    public bool IsOk => Error == ErrorCode.None;
}

public sealed record CreateTopicCommand(NewTopic Topic, bool ValidateOnly) : ControllerCommand;

public sealed record DeleteTopicCommand(string Name) : ControllerCommand;

public sealed record CreatePartitionsCommand(string Name, int NewTotal, IReadOnlyList<int[]>? Assignments, bool ValidateOnly) : ControllerCommand;

/// <summary>Sets a topic's config overrides to exactly <see cref="Overrides"/> (the broker computes them from the
/// AlterConfigs / IncrementalAlterConfigs request and its image); the controller validates and writes the difference.</summary>
public sealed record ReplaceTopicConfigsCommand(string Name, IReadOnlyDictionary<string, string> Overrides, bool ValidateOnly) : ControllerCommand;

/// <summary>Sets the dynamic configs of a broker resource ("" = cluster-wide default, else a broker id) to exactly
/// <see cref="Configs"/>; the receiving broker validated the keys (as Kafka's ConfigAdminManager does), the controller
/// checks the resource name and writes the difference as ConfigRecords.</summary>
public sealed record ReplaceBrokerConfigsCommand(string ResourceName, IReadOnlyDictionary<string, string> Configs, bool ValidateOnly) : ControllerCommand;

/// <summary>Asks for a block of producer ids.</summary>
public sealed record AllocateProducerIdsCommand(int BrokerId, long BrokerEpoch) : ControllerCommand;

public sealed record ProducerIdsReply(ErrorCode Error, long FirstProducerId, int Size, string? Message = null, long Offset = -1)
    : ControllerReply(Error, Message, Offset);

/// <summary>A broker (re)starting registers; it stays fenced until it has caught up with the metadata log.</summary>
public sealed record RegisterBrokerCommand(int BrokerId, Uuid IncarnationId, IReadOnlyList<BrokerEndpoint> Endpoints, string? Rack)
    : ControllerCommand;

public sealed record RegisterBrokerReply(ErrorCode Error, long BrokerEpoch, string? Message = null, long Offset = -1)
    : ControllerReply(Error, Message, Offset);

/// <summary>Sent every broker.heartbeat.interval.ms; <see cref="MetadataOffset"/> is the broker's applied metadata offset.</summary>
public sealed record BrokerHeartbeatCommand(int BrokerId, long BrokerEpoch, long MetadataOffset, bool WantFence, bool WantShutdown)
    : ControllerCommand;

/// <summary><see cref="ShouldShutdown"/>: controlled shutdown is complete (no leaderships left to move), the broker may stop.</summary>
public sealed record BrokerHeartbeatReply(ErrorCode Error, bool IsCaughtUp, bool IsFenced, bool ShouldShutdown, string? Message = null,
    long Offset = -1) : ControllerReply(Error, Message, Offset);

/// <summary>A partition leader asks to change its ISR (Kafka's AlterPartition): epochs must match the controller's.</summary>
public sealed record AlterPartitionCommand(int BrokerId, long BrokerEpoch, Uuid TopicId, int Partition, int LeaderEpoch, int PartitionEpoch,
    IReadOnlyList<int> NewIsr) : ControllerCommand;

/// <summary>The partition as the controller left it (also on some errors, so the leader can catch up).</summary>
public sealed record AlterPartitionReply(ErrorCode Error, int Leader, int LeaderEpoch, int PartitionEpoch, IReadOnlyList<int> Isr,
    string? Message = null, long Offset = -1) : ControllerReply(Error, Message, Offset);

public enum ElectionType : sbyte
{
    Preferred = 0,
    Unclean = 1,
}

/// <summary>ElectLeaders: <see cref="Partitions"/> null means every partition.</summary>
public sealed record ElectLeadersCommand(ElectionType Type, IReadOnlyList<TopicPartitionRef>? Partitions) : ControllerCommand;

public readonly record struct TopicPartitionRef(string Topic, int Partition);

public readonly record struct PartitionOutcome(string Topic, int Partition, ErrorCode Error, string? Message);

public sealed record PartitionOutcomesReply(ErrorCode Error, IReadOnlyList<PartitionOutcome> Partitions, string? Message = null, long Offset = -1)
    : ControllerReply(Error, Message, Offset);

/// <summary>AlterPartitionReassignments: target replicas per partition; null replicas cancel an ongoing reassignment.</summary>
public sealed record AlterReassignmentsCommand(IReadOnlyList<ReassignmentTarget> Targets) : ControllerCommand;

public readonly record struct ReassignmentTarget(string Topic, int Partition, IReadOnlyList<int>? Replicas);

/// <summary>Removes a broker that is gone for good (operator scale-down); refused while it hosts replicas.</summary>
public sealed record UnregisterBrokerCommand(int BrokerId) : ControllerCommand;

/// <summary>Error replies of every reply type (the one place they are built: for callers that know the reply type, and
/// for the controller, which knows the command). A heartbeat error says fenced: nothing was confirmed.</summary>
public static class ControllerReplies
{
    /// <summary>An error reply of any reply type, its other fields at their "nothing happened" values.</summary>
    public static TReply Error<TReply>(ErrorCode error, string? message)
        where TReply : ControllerReply =>
        (TReply)Error(typeof(TReply), error, message);

    /// <summary>An error reply of <paramref name="replyType"/>.</summary>
    public static ControllerReply Error(Type replyType, ErrorCode error, string? message) => replyType switch
    {
        var t when t == typeof(ControllerReply) => new ControllerReply(error, message),
        var t when t == typeof(ProducerIdsReply) => new ProducerIdsReply(error, -1, 0, message),
        var t when t == typeof(RegisterBrokerReply) => new RegisterBrokerReply(error, -1, message),
        var t when t == typeof(BrokerHeartbeatReply) => new BrokerHeartbeatReply(error, IsCaughtUp: false, IsFenced: true,
            ShouldShutdown: false, message),
        var t when t == typeof(AlterPartitionReply) => new AlterPartitionReply(error, -1, -1, -1, [], message),
        var t when t == typeof(PartitionOutcomesReply) => new PartitionOutcomesReply(error, [], message),
        _ => throw new ArgumentException($"No error reply for {replyType.Name}", nameof(replyType)),
    };
}
