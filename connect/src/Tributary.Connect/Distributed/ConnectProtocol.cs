using System.Buffers;
using Tributary.Connect.Storage;
using Tributary.Protocol;

namespace Tributary.Connect.Distributed;

/// <summary>A connector task's id.</summary>
public readonly record struct TaskId(string Connector, int Task)
{
    public override string ToString() => $"{Connector}-{Task}";
}

/// <summary>What a member tells the group when it joins: its REST URL, the config offset it read, and what it runs now.</summary>
public sealed record WorkerMetadata(string Url, long ConfigOffset, IReadOnlyCollection<string> Connectors, IReadOnlyCollection<TaskId> Tasks);

/// <summary>What the leader hands a member: everything it should run now, what it must stop first, and who leads.</summary>
public sealed record ConnectAssignment(short Error, string LeaderId, string LeaderUrl, long ConfigOffset,
    IReadOnlyCollection<string> Connectors, IReadOnlyCollection<TaskId> Tasks,
    IReadOnlyCollection<string> RevokedConnectors, IReadOnlyCollection<TaskId> RevokedTasks)
{
    public static readonly ConnectAssignment Empty = new(0, "", "", -1, [], [], [], []);
}

/// <summary>
/// The member metadata and assignment bytes of our <c>connect</c> group protocol: the layout of Kafka's incremental cooperative
/// protocol (version, URL, config offset, connectors and tasks, revocations) under our own protocol name, so a Java worker in
/// the same group fails to agree on a protocol instead of misreading ours.
/// </summary>
public static class ConnectProtocol
{
    public const string ProtocolType = "connect";
    public const string ProtocolName = "tributary-cooperative";
    private const short Version = 1;
    private const int MaxEntries = 100_000;

    public static byte[] Encode(WorkerMetadata m)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new KafkaWriter(buffer);
        w.WriteInt16(Version);
        w.WriteString(m.Url, compact: false);
        w.WriteInt64(m.ConfigOffset);
        WriteAssignment(w, m.Connectors, m.Tasks);
        return buffer.WrittenSpan.ToArray();
    }

    public static WorkerMetadata DecodeMetadata(byte[] bytes)
    {
        var r = new KafkaReader(bytes);
        ReadVersion(ref r);
        var url = r.ReadString(compact: false);
        var offset = r.ReadInt64();
        var (c, t) = ReadAssignment(ref r);
        return new WorkerMetadata(url, offset, c, t);
    }

    public static byte[] Encode(ConnectAssignment a)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new KafkaWriter(buffer);
        w.WriteInt16(Version);
        w.WriteInt16(a.Error);
        w.WriteString(a.LeaderId, compact: false);
        w.WriteString(a.LeaderUrl, compact: false);
        w.WriteInt64(a.ConfigOffset);
        WriteAssignment(w, a.Connectors, a.Tasks);
        WriteAssignment(w, a.RevokedConnectors, a.RevokedTasks);
        return buffer.WrittenSpan.ToArray();
    }

    public static ConnectAssignment DecodeAssignment(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return ConnectAssignment.Empty;
        }

        var r = new KafkaReader(bytes);
        ReadVersion(ref r);
        var error = r.ReadInt16();
        var leader = r.ReadString(compact: false);
        var leaderUrl = r.ReadString(compact: false);
        var offset = r.ReadInt64();
        var (c, t) = ReadAssignment(ref r);
        var (rc, rt) = ReadAssignment(ref r);
        return new ConnectAssignment(error, leader, leaderUrl, offset, c, t, rc, rt);
    }

    private static void ReadVersion(ref KafkaReader r)
    {
        var v = r.ReadInt16();
        if (v < Version)
        {
            throw new MalformedMessageException($"Connect protocol version {v} is not supported.");
        }
    }

    // Per connector: its name and the task numbers, -1 standing for the connector itself (Kafka's CONNECTOR_TASK).
    private static void WriteAssignment(KafkaWriter w, IReadOnlyCollection<string> connectors, IReadOnlyCollection<TaskId> tasks)
    {
        var byConnector = new SortedDictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (var c in connectors)
        {
            Entry(byConnector, c).Add(-1);
        }

        foreach (var t in tasks)
        {
            Entry(byConnector, t.Connector).Add(t.Task);
        }

        w.WriteInt32(byConnector.Count);
        foreach (var (c, ids) in byConnector)
        {
            w.WriteString(c, compact: false);
            w.WriteInt32(ids.Count);
            foreach (var id in ids)
            {
                w.WriteInt32(id);
            }
        }
    }

    private static List<int> Entry(SortedDictionary<string, List<int>> map, string c)
    {
        if (!map.TryGetValue(c, out var list))
        {
            map[c] = list = [];
        }

        return list;
    }

    private static (List<string>, List<TaskId>) ReadAssignment(ref KafkaReader r)
    {
        var connectors = new List<string>();
        var tasks = new List<TaskId>();
        var count = r.ReadInt32();
        if (count < 0 || count > MaxEntries)
        {
            throw new MalformedMessageException($"Connect assignment with {count} connectors.");
        }

        for (var i = 0; i < count; i++)
        {
            var c = r.ReadString(compact: false);
            var n = r.ReadInt32();
            if (n < 0 || n > MaxEntries)
            {
                throw new MalformedMessageException($"Connect assignment with {n} tasks for {c}.");
            }

            for (var j = 0; j < n; j++)
            {
                var id = r.ReadInt32();
                if (id == -1)
                {
                    connectors.Add(c);
                }
                else
                {
                    tasks.Add(new TaskId(c, id));
                }
            }
        }

        return (connectors, tasks);
    }
}

/// <summary>
/// The leader's incremental cooperative assignment: members keep what they run and still exists; what nobody runs (new work,
/// or work of a member that left) goes to the least loaded members; a member above its fair share gives the excess up
/// (revoked now, assigned in the follow-up rebalance that member triggers), so nothing ever runs on two workers at once.
/// KIP-415 (<c>scheduled.rebalance.max.delay.ms</c>): work that was assigned in the previous generation and that no member
/// runs now (its worker left) is held back for up to that delay, so a worker that restarts gets its own work back instead of
/// everything moving twice; a member that joins meanwhile takes it at once, and when the delay is over the leader rebalances
/// and it goes to whoever is there. New work is never held. The memory of the previous generation is the leader's: a new
/// leader starts without it and assigns lost work at once.
/// </summary>
public sealed class IncrementalCooperativeAssignor(TimeSpan maxDelay, TimeProvider time)
{
    private HashSet<string> previousMembers = new(StringComparer.Ordinal);
    private HashSet<string> previousConnectors = new(StringComparer.Ordinal);
    private HashSet<TaskId> previousTasks = [];
    private DateTimeOffset? lostDeadline;

    /// <summary>A stateless assignor (no delay): what nobody runs is assigned at once.</summary>
    public static Dictionary<string, ConnectAssignment> Assign(string leaderId, IReadOnlyDictionary<string, WorkerMetadata> members, ClusterConfigState config) =>
        new IncrementalCooperativeAssignor(TimeSpan.Zero, TimeProvider.System).AssignWithDelay(leaderId, members, config).Assignments;

    /// <summary>The assignment of a generation, and how long until the leader must rebalance to hand out held work (zero: no need).</summary>
    public (Dictionary<string, ConnectAssignment> Assignments, TimeSpan RebalanceDelay) AssignWithDelay(
        string leaderId, IReadOnlyDictionary<string, WorkerMetadata> members, ClusterConfigState config)
    {
        var leaderUrl = members[leaderId].Url;
        var desiredConnectors = config.Connectors.Keys.ToHashSet(StringComparer.Ordinal);
        var desiredTasks = config.Connectors.Keys.SelectMany(c => Enumerable.Range(0, config.TaskCount(c)).Select(i => new TaskId(c, i))).ToHashSet();
        var ids = members.Keys.Order(StringComparer.Ordinal).ToList();

        var keptC = ids.ToDictionary(m => m, _ => new List<string>());
        var keptT = ids.ToDictionary(m => m, _ => new List<TaskId>());
        var revokedC = ids.ToDictionary(m => m, _ => new List<string>());
        var revokedT = ids.ToDictionary(m => m, _ => new List<TaskId>());
        var seenC = new HashSet<string>(StringComparer.Ordinal);
        var seenT = new HashSet<TaskId>();
        foreach (var m in ids)
        {
            foreach (var c in members[m].Connectors.Order(StringComparer.Ordinal))
            {
                (desiredConnectors.Contains(c) && seenC.Add(c) ? keptC[m] : revokedC[m]).Add(c);
            }

            foreach (var t in members[m].Tasks.OrderBy(t => t.Connector, StringComparer.Ordinal).ThenBy(t => t.Task))
            {
                (desiredTasks.Contains(t) && seenT.Add(t) ? keptT[m] : revokedT[m]).Add(t);
            }
        }

        var unassignedC = desiredConnectors.Except(seenC).Order(StringComparer.Ordinal).ToList();
        var unassignedT = desiredTasks.Except(seenT).OrderBy(t => t.Connector, StringComparer.Ordinal).ThenBy(t => t.Task).ToList();

        // KIP-415: lost work (assigned last generation, run by nobody now) waits for its worker, up to maxDelay.
        var lostC = unassignedC.Where(previousConnectors.Contains).ToList();
        var lostT = unassignedT.Where(previousTasks.Contains).ToList();
        var heldC = new List<string>();
        var heldT = new List<TaskId>();
        var delay = TimeSpan.Zero;
        var spreadOver = ids;
        if (maxDelay > TimeSpan.Zero && lostC.Count + lostT.Count > 0)
        {
            var now = time.GetUtcNow();
            var joined = ids.Where(m => !previousMembers.Contains(m)).ToList();
            if (lostDeadline is null)
            {
                lostDeadline = now + maxDelay;
            }

            if (now >= lostDeadline)
            {
                lostDeadline = null;
            }
            else if (joined.Count > 0)
            {
                // A worker came (back) within the delay: the lost work is its, and nobody else's work moves for it.
                lostDeadline = null;
                Spread(joined, keptC, lostC);
                Spread(joined, keptT, lostT);
                unassignedC = unassignedC.Except(lostC).ToList();
                unassignedT = unassignedT.Except(lostT).ToList();
            }
            else
            {
                heldC = lostC;
                heldT = lostT;
                unassignedC = unassignedC.Except(lostC).ToList();
                unassignedT = unassignedT.Except(lostT).ToList();
                delay = lostDeadline.Value - now;
            }
        }
        else if (lostC.Count + lostT.Count == 0)
        {
            lostDeadline = null;
        }

        if (heldC.Count + heldT.Count == 0)
        {
            Balance(ids, keptC, revokedC, desiredConnectors.Count);
            Balance(ids, keptT, revokedT, desiredTasks.Count);
        }

        Spread(spreadOver, keptC, unassignedC);
        Spread(spreadOver, keptT, unassignedT);

        previousMembers = ids.ToHashSet(StringComparer.Ordinal);
        previousConnectors = keptC.Values.SelectMany(c => c).Concat(heldC).ToHashSet(StringComparer.Ordinal);
        previousTasks = keptT.Values.SelectMany(t => t).Concat(heldT).ToHashSet();
        var assignments = ids.ToDictionary(m => m, m => new ConnectAssignment(0, leaderId, leaderUrl, config.Offset, keptC[m], keptT[m], revokedC[m], revokedT[m]));
        return (assignments, delay);
    }

    /// <summary>Work held back for a departed worker (for logs and tests).</summary>
    public bool HoldsLostWork => lostDeadline is not null;

    private static void Balance<T>(List<string> ids, Dictionary<string, List<T>> kept, Dictionary<string, List<T>> revoked, int total)
    {
        var ceiling = (total + ids.Count - 1) / ids.Count;
        foreach (var m in ids)
        {
            while (kept[m].Count > ceiling)
            {
                var last = kept[m][^1];
                kept[m].RemoveAt(kept[m].Count - 1);
                revoked[m].Add(last);
            }
        }
    }

    private static void Spread<T>(List<string> ids, Dictionary<string, List<T>> kept, List<T> unassigned)
    {
        foreach (var item in unassigned)
        {
            var target = ids.OrderBy(m => kept[m].Count).ThenBy(m => m, StringComparer.Ordinal).First();
            kept[target].Add(item);
        }
    }
}
