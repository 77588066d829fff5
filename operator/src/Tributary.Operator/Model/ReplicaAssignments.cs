namespace Tributary.Operator.Model;

/// <summary>
/// Pure replica-placement decisions for partition reassignments: a replication-factor change and draining brokers that
/// are about to be removed. Replacements go to the broker holding the fewest replicas (ties: lowest id), so load stays
/// even; a partition keeps its surviving replicas in their order, so its preferred leader only changes when it must.
/// </summary>
public static class ReplicaAssignments
{
    /// <summary>New replica lists for partitions whose replication factor differs from <paramref name="replicationFactor"/>;
    /// null when there are too few brokers.</summary>
    public static Dictionary<int, IReadOnlyList<int>>? ChangeReplicationFactor(
        IReadOnlyDictionary<int, IReadOnlyList<int>> current, int replicationFactor, IReadOnlyList<int> brokers, IReadOnlyDictionary<int, int>? load = null)
    {
        if (replicationFactor > brokers.Count || replicationFactor < 1)
        {
            return null;
        }

        var counts = StartingLoad(brokers, load);
        var result = new Dictionary<int, IReadOnlyList<int>>();
        foreach (var (partition, replicas) in current.OrderBy(kv => kv.Key))
        {
            if (replicas.Count == replicationFactor)
            {
                continue;
            }

            var next = replicas.ToList();
            while (next.Count > replicationFactor)
            {
                // Drop from the end: the first replica is the preferred leader.
                counts[next[^1]] = counts.GetValueOrDefault(next[^1]) - 1;
                next.RemoveAt(next.Count - 1);
            }

            while (next.Count < replicationFactor)
            {
                var pick = LeastLoaded(counts, brokers, next);
                next.Add(pick);
                counts[pick]++;
            }

            result[partition] = next;
        }

        return result;
    }

    /// <summary>New replica lists moving every replica off <paramref name="removed"/> onto <paramref name="remaining"/>;
    /// null when a partition has more replicas than remaining brokers.</summary>
    public static Dictionary<int, IReadOnlyList<int>>? Drain(
        IReadOnlyDictionary<int, IReadOnlyList<int>> current, IReadOnlySet<int> removed, IReadOnlyList<int> remaining, IReadOnlyDictionary<int, int>? load = null)
    {
        var counts = StartingLoad(remaining, load);
        var result = new Dictionary<int, IReadOnlyList<int>>();
        foreach (var (partition, replicas) in current.OrderBy(kv => kv.Key))
        {
            if (!replicas.Any(removed.Contains))
            {
                continue;
            }

            if (replicas.Count > remaining.Count)
            {
                return null;
            }

            var next = replicas.ToList();
            for (var i = 0; i < next.Count; i++)
            {
                if (removed.Contains(next[i]))
                {
                    var pick = LeastLoaded(counts, remaining, next);
                    next[i] = pick;
                    counts[pick]++;
                }
            }

            result[partition] = next;
        }

        return result;
    }

    private static Dictionary<int, int> StartingLoad(IReadOnlyList<int> brokers, IReadOnlyDictionary<int, int>? load) =>
        brokers.ToDictionary(b => b, b => load?.GetValueOrDefault(b) ?? 0);

    private static int LeastLoaded(Dictionary<int, int> counts, IReadOnlyList<int> brokers, List<int> taken) =>
        brokers.Where(b => !taken.Contains(b)).OrderBy(b => counts.GetValueOrDefault(b)).ThenBy(b => b).First();
}
