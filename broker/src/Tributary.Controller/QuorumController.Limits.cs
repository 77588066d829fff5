using System.Globalization;
using Tributary.Protocol;

namespace Tributary.Controller;

/// <summary>
/// Bounds on what one user operation may ask of the controller (issue 16), checked before anything is placed or
/// allocated: the metadata records one request creates, and the partition replicas any one broker may end up holding.
/// </summary>
public sealed partial class QuorumController
{
    /// <summary>
    /// Most partitions (one PartitionRecord each) one CreateTopics, CreatePartitions or AlterPartitionReassignments request
    /// may create or move: Kafka's <c>QuorumController.MAX_RECORDS_PER_USER_OP</c> and
    /// <c>ReplicationControlManager.MAX_PARTITIONS_PER_BATCH</c> (10,000), refused whole with POLICY_VIOLATION.
    /// </summary>
    public const int MaxRecordsPerUserOperation = 10_000;

    /// <summary>POLICY_VIOLATION naming the limit when <paramref name="records"/> exceeds it, else null.</summary>
    public static ControllerReply? RefuseIfTooManyRecords(long records, string what) =>
        records > MaxRecordsPerUserOperation
            ? new ControllerReply(ErrorCode.PolicyViolation, string.Create(CultureInfo.InvariantCulture,
                $"Excessively large number of partitions per request: {what} {records:N0}, above the limit of {MaxRecordsPerUserOperation:N0} metadata records one operation may create."))
            : null;

    /// <summary>
    /// POLICY_VIOLATION when placing <paramref name="newReplicas"/> would leave a broker holding more partition replicas than
    /// <see cref="QuorumControllerOptions.MaxPartitionsPerBroker"/> (max.broker.partitions, lowered on a combined node to what
    /// its open-file limit holds), else null. Replicas a broker already holds count from the applied image.
    /// </summary>
    private ControllerReply? RefuseIfOverBrokerCapacity(MetadataImage image, IReadOnlyList<int[]> newReplicas)
    {
        var limit = _options.MaxPartitionsPerBroker;
        var added = new Dictionary<int, int>();
        foreach (var replicas in newReplicas)
        {
            foreach (var broker in replicas)
            {
                added[broker] = added.GetValueOrDefault(broker) + 1;
            }
        }

        var hosted = added.Keys.ToDictionary(b => b, _ => 0);
        foreach (var topic in image.Topics.Values)
        {
            foreach (var partition in topic.Partitions)
            {
                foreach (var broker in partition.Replicas)
                {
                    if (hosted.TryGetValue(broker, out var n))
                    {
                        hosted[broker] = n + 1;
                    }
                }
            }
        }

        foreach (var (broker, adding) in added.OrderBy(kv => kv.Key))
        {
            if (hosted[broker] + adding > limit)
            {
                return new ControllerReply(ErrorCode.PolicyViolation, string.Create(CultureInfo.InvariantCulture,
                    $"Broker {broker} holds {hosted[broker]:N0} partition replicas; {adding:N0} more would exceed its limit of {limit:N0} ({_options.MaxPartitionsPerBrokerReason})."));
            }
        }

        return null;
    }
}
