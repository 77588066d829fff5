using System.Globalization;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>What a chaos fault does to its broker.</summary>
public enum ChaosFaultKind
{
    /// <summary>SIGKILL, stay down for the hold time, restart on the same data.</summary>
    KillAndRestart,

    /// <summary>SIGSTOP for the hold time, then SIGCONT: the broker comes back believing no time passed.</summary>
    PauseAndResume,

    /// <summary>SIGTERM (controlled shutdown), stay down for the hold time, restart.</summary>
    GracefulRestart,

    /// <summary>Cut the broker off from the other brokers for the hold time (network namespaces only).</summary>
    Partition,
}

/// <summary>Which broker a fault hits; roles are resolved when the fault fires, a fixed node id otherwise (and as the fallback).</summary>
public enum ChaosTarget
{
    Node,
    PartitionLeader,
    ActiveController,
}

/// <summary>One fault: wait <see cref="Before"/>, apply <see cref="Kind"/> to the target, undo it after <see cref="Hold"/>.</summary>
public sealed record ChaosFault(ChaosFaultKind Kind, ChaosTarget Target, int NodeId, TimeSpan Before, TimeSpan Hold)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Kind} on {(Target == ChaosTarget.Node ? "" : Target + " else ")}b{NodeId} after {Before.TotalMilliseconds:F0} ms for {Hold.TotalMilliseconds:F0} ms");
}

/// <summary>A fault schedule, a pure function of its seed: the same seed and shape always plan the same faults.</summary>
public sealed record ChaosSchedule(int Seed, IReadOnlyList<ChaosFault> Faults)
{
    /// <summary>
    /// Plans <paramref name="faults"/> sequential faults over <paramref name="brokers"/> brokers. One broker is impaired
    /// at a time, so a majority of voters and min.insync.replicas=2 of three replicas always remain: a lost acked
    /// record is then a bug, never an accepted risk.
    /// </summary>
    public static ChaosSchedule Plan(int seed, int brokers, int faults, bool partitionsAvailable)
    {
        var random = new Random(seed);
        var kinds = partitionsAvailable
            ? new[] { ChaosFaultKind.KillAndRestart, ChaosFaultKind.PauseAndResume, ChaosFaultKind.GracefulRestart, ChaosFaultKind.Partition }
            : new[] { ChaosFaultKind.KillAndRestart, ChaosFaultKind.PauseAndResume, ChaosFaultKind.GracefulRestart };
        var targets = Enum.GetValues<ChaosTarget>();
        var planned = new List<ChaosFault>(faults);
        for (var i = 0; i < faults; i++)
        {
            planned.Add(new ChaosFault(
                kinds[random.Next(kinds.Length)],
                targets[random.Next(targets.Length)],
                random.Next(1, brokers + 1),
                TimeSpan.FromMilliseconds(random.Next(200, 1_500)),
                TimeSpan.FromMilliseconds(random.Next(500, 3_000))));
        }

        return new ChaosSchedule(seed, planned);
    }

    public override string ToString() => $"seed {Seed}: {string.Join("; ", Faults)}";
}
