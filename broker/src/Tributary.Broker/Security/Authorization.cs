namespace Tributary.Broker.Security;

/// <summary>Kafka's AclOperation codes (the bit positions of the authorized-operations fields).</summary>
public enum AclOperation : sbyte
{
    Unknown = 0,
    Any = 1,
    All = 2,
    Read = 3,
    Write = 4,
    Create = 5,
    Delete = 6,
    Alter = 7,
    Describe = 8,
    ClusterAction = 9,
    DescribeConfigs = 10,
    AlterConfigs = 11,
    IdempotentWrite = 12,
    CreateTokens = 13,
    DescribeTokens = 14,
}

/// <summary>Kafka's ACL ResourceType codes.</summary>
public enum AclResourceType : sbyte
{
    Unknown = 0,
    Any = 1,
    Topic = 2,
    Group = 3,
    Cluster = 4,
    TransactionalId = 5,
    DelegationToken = 6,
    User = 7,
}

/// <summary>
/// Decides which operations a client may perform on a resource; the one place the <c>*AuthorizedOperations</c> fields of
/// Metadata, DescribeCluster and DescribeGroups (KIP-430) come from. Without an authorizer (Tributary has no ACLs yet)
/// every operation the resource type supports is allowed, as Kafka answers when <c>authorizer.class.name</c> is unset;
/// an ACL authorizer will filter <see cref="SupportedOperations"/> here per principal.
/// </summary>
public sealed class Authorization
{
    /// <summary>The value of an authorized-operations field the client did not ask for (Kafka's schema default, Int.MIN_VALUE).</summary>
    public const int NotRequested = int.MinValue;

    private static readonly AclOperation[] TopicOperations =
    [
        AclOperation.Read, AclOperation.Write, AclOperation.Create, AclOperation.Describe, AclOperation.Delete, AclOperation.Alter,
        AclOperation.DescribeConfigs, AclOperation.AlterConfigs,
    ];

    // Kafka 3.8+ added DESCRIBE_CONFIGS and ALTER_CONFIGS for groups (KIP-848 group configs).
    private static readonly AclOperation[] GroupOperations =
    [
        AclOperation.Read, AclOperation.Describe, AclOperation.Delete, AclOperation.DescribeConfigs, AclOperation.AlterConfigs,
    ];

    private static readonly AclOperation[] ClusterOperations =
    [
        AclOperation.Create, AclOperation.ClusterAction, AclOperation.DescribeConfigs, AclOperation.AlterConfigs,
        AclOperation.IdempotentWrite, AclOperation.Alter, AclOperation.Describe,
    ];

    private static readonly AclOperation[] TransactionalIdOperations = [AclOperation.Describe, AclOperation.Write];
    private static readonly AclOperation[] DelegationTokenOperations = [AclOperation.Describe];
    private static readonly AclOperation[] UserOperations = [AclOperation.CreateTokens, AclOperation.DescribeTokens];

    /// <summary>Allows everything (no authorizer configured).</summary>
    public static Authorization AllowAll { get; } = new();

    /// <summary>The operations ACLs can name for a resource type (Kafka's AclEntry.supportedOperations).</summary>
    public static IReadOnlyList<AclOperation> SupportedOperations(AclResourceType type) => type switch
    {
        AclResourceType.Topic => TopicOperations,
        AclResourceType.Group => GroupOperations,
        AclResourceType.Cluster => ClusterOperations,
        AclResourceType.TransactionalId => TransactionalIdOperations,
        AclResourceType.DelegationToken => DelegationTokenOperations,
        AclResourceType.User => UserOperations,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not a concrete resource type."),
    };

    /// <summary>The operations allowed on the named resource as a bit field (bit n set = AclOperation code n allowed).</summary>
    public int AuthorizedOperations(AclResourceType type, string resourceName)
    {
        ArgumentNullException.ThrowIfNull(resourceName);
        return ToBitField(SupportedOperations(type));
    }

    /// <summary>Kafka's Utils.to32BitField over operation codes.</summary>
    public static int ToBitField(IEnumerable<AclOperation> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        var field = 0;
        foreach (var operation in operations)
        {
            field |= 1 << (int)operation;
        }

        return field;
    }
}
