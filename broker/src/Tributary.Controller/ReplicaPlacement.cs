using Tributary.Protocol;

namespace Tributary.Controller;

/// <summary>Replica lists for consecutive new partitions, or why there are none.</summary>
internal readonly record struct Placement(IReadOnlyList<int[]>? Replicas, ControllerReply? Error)
{
    public static Placement Failed(ErrorCode error, string message) => new(null, new ControllerReply(error, message));
}

/// <summary>Replica placement for new partitions: automatic (rack-aware, leaders spread) or validated manual assignments.
/// Pure over the image it is given, except for the random start broker (seedable for tests).</summary>
internal sealed class ReplicaPlacement
{
    private readonly Random _random;

    public ReplicaPlacement(int? seed)
    {
        _random = seed is { } value ? new Random(value) : new Random();
    }

    /// <summary>
    /// Places <paramref name="count"/> partitions over the ACTIVE brokers, after Kafka's rack-aware assignment: brokers are
    /// listed rack by rack, interleaved (r1b1, r2b1, r3b1, r1b2, …), so consecutive brokers sit on different racks. A
    /// partition's leader is the broker at (start + partition) in that list — one leader per broker in turn, from a
    /// random start per topic — and its followers are taken after it with a shift that grows every full round (so
    /// follower sets vary), skipping racks that already hold a replica while unused racks remain.
    /// </summary>
    public Placement PlaceReplicas(MetadataImage image, int firstPartition, int count, short replicationFactor)
    {
        if (count <= 0)
        {
            return Placement.Failed(ErrorCode.InvalidPartitions, "Number of partitions must be larger than 0.");
        }

        if (replicationFactor <= 0)
        {
            return Placement.Failed(ErrorCode.InvalidReplicationFactor, "Replication factor must be larger than 0.");
        }

        var brokers = RackInterleaved(image.Brokers.Values.Where(b => b.IsActive).ToList());
        var n = brokers.Count;
        if (replicationFactor > n)
        {
            return Placement.Failed(ErrorCode.InvalidReplicationFactor,
                $"Unable to replicate the partition {replicationFactor} time(s): The target replication factor of {replicationFactor} cannot be reached because only {n} broker(s) are registered.");
        }

        var rackCount = brokers.Select(RackOf).Distinct().Count();
        var start = _random.Next(n);
        var shift = _random.Next(n);
        var result = new List<int[]>(count);
        for (var i = 0; i < count; i++)
        {
            var partition = firstPartition + i;
            if (i > 0 && i % n == 0)
            {
                shift++;
            }

            var first = (start + partition) % n;
            var chosen = new List<BrokerRegistration>(replicationFactor) { brokers[first] };
            var racks = new HashSet<string> { RackOf(brokers[first]) };
            var candidates = Enumerable.Range(0, n - 1).Select(k => brokers[(first + 1 + (shift + k) % (n - 1)) % n]).ToList();
            foreach (var candidate in candidates)
            {
                if (chosen.Count == replicationFactor)
                {
                    break;
                }

                if (racks.Count < rackCount && racks.Add(RackOf(candidate)))
                {
                    chosen.Add(candidate);
                }
            }

            // Fewer racks than replicas: fill up with the remaining brokers in the same order.
            foreach (var candidate in candidates)
            {
                if (chosen.Count == replicationFactor)
                {
                    break;
                }

                if (!chosen.Contains(candidate))
                {
                    chosen.Add(candidate);
                }
            }

            result.Add(chosen.Select(b => b.NodeId).ToArray());
        }

        return new Placement(result, null);
    }

    private static string RackOf(BrokerRegistration broker) => broker.Rack ?? "";

    /// <summary>Brokers by id within each rack, racks by name, taken one broker per rack in turn.</summary>
    private static List<BrokerRegistration> RackInterleaved(List<BrokerRegistration> brokers)
    {
        var byRack = brokers.GroupBy(RackOf).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.OrderBy(b => b.NodeId).ToList()).ToList();
        var result = new List<BrokerRegistration>(brokers.Count);
        for (var round = 0; result.Count < brokers.Count; round++)
        {
            foreach (var rack in byRack.Where(r => round < r.Count))
            {
                result.Add(rack[round]);
            }
        }

        return result;
    }

    /// <summary>Manual assignments may name any registered broker (fenced ones too, as Kafka allows), but each partition
    /// needs at least one active replica to lead it.</summary>
    public static Placement ValidateAssignments(MetadataImage image, IReadOnlyDictionary<int, int[]> assignments, int firstPartition)
    {
        var result = new List<int[]>(assignments.Count);
        int? replicationFactor = null;
        for (var partition = firstPartition; partition < firstPartition + assignments.Count; partition++)
        {
            if (!assignments.TryGetValue(partition, out var replicas) || replicas.Length == 0)
            {
                return Placement.Failed(ErrorCode.InvalidReplicaAssignment,
                    $"Partitions must be numbered consecutively from {firstPartition}; partition {partition} has no assignment.");
            }

            if (replicas.Distinct().Count() != replicas.Length)
            {
                return Placement.Failed(ErrorCode.InvalidReplicaAssignment,
                    $"Duplicate brokers not allowed in replica assignment: {string.Join(", ", replicas)} for partition id {partition}.");
            }

            var unknown = replicas.Where(b => !image.Brokers.ContainsKey(b)).ToList();
            if (unknown.Count > 0)
            {
                return Placement.Failed(ErrorCode.InvalidReplicaAssignment,
                    $"The manual partition assignment includes broker {unknown[0]}, which is not registered.");
            }

            replicationFactor ??= replicas.Length;
            if (replicas.Length != replicationFactor)
            {
                return Placement.Failed(ErrorCode.InvalidReplicaAssignment, "All partitions must have the same replication factor.");
            }

            if (!replicas.Any(image.IsActiveBroker))
            {
                return Placement.Failed(ErrorCode.InvalidReplicaAssignment,
                    $"All brokers specified in the manual partition assignment for partition {partition} are fenced or in controlled shutdown.");
            }

            result.Add(replicas.ToArray());
        }

        return new Placement(result, null);
    }
}
