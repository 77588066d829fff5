namespace Tributary.Operator.Model;

/// <summary>What the roller knows about one broker pod.</summary>
/// <param name="Name">pod name (<c>&lt;cluster&gt;-&lt;ordinal&gt;</c>).</param>
/// <param name="NodeId">KRaft node id (the ordinal).</param>
/// <param name="Exists">the pod object exists (a deleted pod is re-created by the StatefulSet controller).</param>
/// <param name="Terminating">the pod has a deletion timestamp: a restart is under way.</param>
/// <param name="Ready">the pod's Ready condition (the broker's /readyz).</param>
/// <param name="UpToDate">the pod runs the StatefulSet's current revision (template and config hash).</param>
public sealed record PodState(string Name, int NodeId, bool Exists, bool Terminating, bool Ready, bool UpToDate);

/// <summary>One partition as the brokers report it (Metadata), with the min.insync.replicas in force for its topic.</summary>
public sealed record PartitionState(string Topic, int Partition, IReadOnlyList<int> Replicas, IReadOnlyList<int> Isr, int MinIsr)
{
    public bool UnderReplicated => Isr.Count < Replicas.Count;
}

/// <summary>What the brokers say about the cluster; null members mean the question could not be answered.</summary>
public sealed record ClusterState(int? ActiveController, IReadOnlyList<PartitionState>? Partitions);

/// <summary>The roller's next step.</summary>
public abstract record RollAction
{
    /// <summary>Nothing to restart: every pod runs the current revision.</summary>
    public sealed record Done : RollAction;

    /// <summary>Do nothing now; look again soon. <see cref="Reason"/> says what is awaited.</summary>
    public sealed record Wait(string Reason) : RollAction;

    /// <summary>Delete <see cref="Pod"/> so the StatefulSet re-creates it with the current revision.</summary>
    public sealed record Restart(string Pod, string Reason) : RollAction;
}

/// <summary>
/// The roller's plan as a pure function: pod and partition state in, the next action out. <see cref="Next"/> is called
/// again after every action (and on every reconcile), so the plan never remembers anything: a roll interrupted by an
/// operator restart or a leader change resumes from what the cluster looks like.
/// </summary>
/// <remarks>
/// <para><b>Which pods need a restart.</b> The StatefulSet uses the OnDelete strategy, so a changed pod template (image,
/// resources, or the config hash annotation that covers every property the pods share) creates a new revision without
/// touching any pod. A pod needs a restart while it runs an older revision. Nothing else is recorded: the revision
/// labels are the roll's state, so "resume after restart" is the same code as "start".</para>
/// <para><b>One at a time.</b> If any pod is missing or terminating, a restart is under way: wait for the StatefulSet
/// controller to re-create it.</para>
/// <para><b>Unready pods first.</b> A pending pod that is not ready serves nothing and holds no ISR membership worth
/// protecting; restarting it cannot reduce availability and may be the fix (a bad old config). Like Strimzi's
/// KafkaRoller, these go first, lowest ordinal first, without the ISR check.</para>
/// <para><b>Then a healthy cluster.</b> Before any ready pod is restarted, every pod must be ready (the one restarted last
/// included) and no partition may be under-replicated, so the restarted broker has caught up before the next one goes.
/// If the brokers cannot be asked (no metadata), wait: restarting blind is how data becomes unavailable. The min ISR
/// guard below is evaluated first, so while replicas catch up the status names the partition a restart would hurt.</para>
/// <para><b>The min.insync.replicas guard.</b> A ready pod may be restarted only if, for every partition whose ISR contains
/// it, the ISR minus that broker still has at least min.insync.replicas members, so acks=all producers keep writing
/// throughout. Partitions whose replication factor is at most their min.insync.replicas cannot tolerate any broker
/// restart; like Strimzi, they do not block a roll (otherwise a single RF=1 topic would make the cluster unrollable).</para>
/// <para><b>The active controller last.</b> Restarting the active controller forces a quorum election; doing it once, at
/// the end, instead of possibly after every other restart (a new leader may be a not-yet-rolled pod) keeps elections to
/// one. Among the remaining candidates, the lowest ordinal goes first.</para>
/// <para><b>Blocked.</b> When every candidate fails the guard the plan waits with the partition that blocks it; the
/// reason ends up in the Broker's status.</para>
/// </remarks>
public static class RollPlanner
{
    public static RollAction Next(IReadOnlyList<PodState> pods, ClusterState cluster)
    {
        ArgumentNullException.ThrowIfNull(pods);
        ArgumentNullException.ThrowIfNull(cluster);
        var ordered = pods.OrderBy(p => p.NodeId).ToArray();
        if (ordered.FirstOrDefault(p => !p.Exists || p.Terminating) is { } restarting)
        {
            return new RollAction.Wait($"pod {restarting.Name} is being (re)created");
        }

        var pending = ordered.Where(p => !p.UpToDate).ToArray();
        if (pending.Length == 0)
        {
            return new RollAction.Done();
        }

        if (pending.FirstOrDefault(p => !p.Ready) is { } unready)
        {
            return new RollAction.Restart(unready.Name, "pod runs an old revision and is not ready: restarted first");
        }

        if (ordered.FirstOrDefault(p => !p.Ready) is { } notReady)
        {
            return new RollAction.Wait($"pod {notReady.Name} is not ready yet");
        }

        if (cluster.Partitions is null)
        {
            return new RollAction.Wait("the brokers' partition state is unknown (metadata request failed)");
        }

        var candidates = pending
            .OrderBy(p => p.NodeId == cluster.ActiveController ? 1 : 0)
            .ThenBy(p => p.NodeId)
            .ToArray();
        var blocked = new List<string>();
        foreach (var pod in candidates)
        {
            if (pod.NodeId == cluster.ActiveController && candidates.Length > 1)
            {
                continue;
            }

            if (WouldBreakMinIsr(pod.NodeId, cluster.Partitions) is { } partition)
            {
                blocked.Add($"{pod.Name} ({partition.Topic}-{partition.Partition}: ISR {Ids(partition.Isr)}, min.insync.replicas {partition.MinIsr})");
                continue;
            }

            // The guard picked a pod; it may still go only once the previous restart has fully caught up.
            if (cluster.Partitions.FirstOrDefault(p => p.UnderReplicated) is { } lagging)
            {
                var underReplicated = cluster.Partitions.Count(p => p.UnderReplicated);
                return new RollAction.Wait(
                    $"{underReplicated} partition(s) under-replicated, e.g. {lagging.Topic}-{lagging.Partition} (ISR {Ids(lagging.Isr)} of {Ids(lagging.Replicas)})");
            }

            var reason = pod.NodeId == cluster.ActiveController
                ? "pod runs an old revision; active controller, restarted last"
                : "pod runs an old revision";
            return new RollAction.Restart(pod.Name, reason);
        }

        if (blocked.Count == 0)
        {
            // Only the active controller is left but other pods are pending: cannot happen (it would be the last one);
            // kept as a safe answer rather than an exception.
            return new RollAction.Wait("waiting for the other pods before the active controller");
        }

        return new RollAction.Wait("restarting would take a partition below min.insync.replicas: " + string.Join("; ", blocked));
    }

    /// <summary>The first partition that would drop below its min.insync.replicas if <paramref name="nodeId"/> went down.</summary>
    public static PartitionState? WouldBreakMinIsr(int nodeId, IReadOnlyList<PartitionState> partitions)
    {
        foreach (var partition in partitions)
        {
            if (partition.Replicas.Count <= partition.MinIsr)
            {
                continue;
            }

            if (partition.Isr.Contains(nodeId) && partition.Isr.Count - 1 < partition.MinIsr)
            {
                return partition;
            }
        }

        return null;
    }

    private static string Ids(IReadOnlyList<int> ids) => "[" + string.Join(",", ids) + "]";
}
