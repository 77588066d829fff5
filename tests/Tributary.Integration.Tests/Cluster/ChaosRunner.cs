using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>Shape of a chaos run.</summary>
public sealed record ChaosSettings
{
    /// <summary>Schedule i uses seed <c>Seed + i</c>, so any one schedule of a run can be replayed alone.</summary>
    public int Seed { get; init; } = 1;
    public int Schedules { get; init; } = 1;
    public int Brokers { get; init; } = 3;
    public int FaultsPerSchedule { get; init; } = 3;

    /// <summary>Upper bound of the stream; it stops early once the schedule has finished.</summary>
    public int MaxRecordsPerSchedule { get; init; } = 100_000;

    /// <summary>Use network-namespace partitions as a fault kind when namespaces can be created.</summary>
    public bool NetworkPartitions { get; init; }

    /// <summary>CHAOS_SCHEDULES, CHAOS_SEED, CHAOS_BROKERS and CHAOS_NETNS (0/1) from the environment (as <c>make chaos</c> sets them) over these defaults.</summary>
    public ChaosSettings FromEnvironment() => this with
    {
        Schedules = EnvInt("CHAOS_SCHEDULES") ?? Schedules,
        Seed = EnvInt("CHAOS_SEED") ?? Seed,
        Brokers = EnvInt("CHAOS_BROKERS") ?? Brokers,
        NetworkPartitions = EnvInt("CHAOS_NETNS") is { } netns ? netns != 0 : NetworkPartitions,
    };

    private static int? EnvInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
}

/// <summary>Totals of a chaos run; <see cref="Lost"/>, <see cref="Duplicated"/> and <see cref="FailedSeeds"/> must be empty/zero.</summary>
/// <param name="FailedSeeds">Schedules that lost or duplicated a record, or did not finish (an error or their time bound).</param>
public sealed record ChaosReport(int SchedulesRun, long Acked, long Lost, long Duplicated, int Seed, IReadOnlyList<int> FailedSeeds)
{
    public override string ToString() =>
        $"schedules run {SchedulesRun}, acked {Acked}, lost {Lost}, duplicated {Duplicated}, failed schedules {FailedSeeds.Count}" +
        (FailedSeeds.Count > 0 ? $" (seeds {string.Join(", ", FailedSeeds)}; replay one with CHAOS_SEED=<seed> CHAOS_SCHEDULES=1 make chaos)" : "") +
        $", first seed {Seed}";
}

/// <summary>
/// Runs randomized fault schedules against fresh clusters while an idempotent acks=all producer streams sequence-keyed
/// records, heals everything, reads every partition back and checks acked ⊆ read, counting duplicates.
/// </summary>
public sealed class ChaosRunner(ITestOutputHelper output)
{
    private const int Partitions = 3;
    private static readonly TimeSpan StreamDrain = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Bound on one schedule from cluster start to audit: faults (≤ 4.5 s each), the stream's drain, the ISR wait and
    /// the read-back, with room for a loaded machine. A schedule that exceeds it fails and is reported by its seed.
    /// </summary>
    private static readonly TimeSpan ScheduleBound = TimeSpan.FromMinutes(6);

    public async Task<ChaosReport> RunAsync(ChaosSettings settings)
    {
        long acked = 0, lost = 0, duplicated = 0;
        var failedSeeds = new List<int>();
        var run = 0;
        for (; run < settings.Schedules; run++)
        {
            var seed = settings.Seed + run;
            var clock = Stopwatch.StartNew();
            string outcome;
            try
            {
                var audit = await RunScheduleAsync(settings, seed).WaitAsync(ScheduleBound);
                acked += audit.Acked;
                lost += audit.Lost.Count;
                duplicated += audit.Duplicated;
                if (audit.Lost.Count > 0 || audit.Duplicated > 0)
                {
                    failedSeeds.Add(seed);
                }

                outcome = audit.ToString();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // One schedule that cannot finish (a cluster that never heals, the bound) fails the run but not the
                // schedules after it: the run still reports every seed's outcome.
                failedSeeds.Add(seed);
                outcome = $"did not finish: {e.GetType().Name}: {e.Message.Split('\n')[0]}";
            }

            Progress($"[chaos] schedule {run + 1}/{settings.Schedules} seed {seed} ({clock.Elapsed.TotalSeconds:F0} s): {outcome}");
        }

        var report = new ChaosReport(run, acked, lost, duplicated, settings.Seed, failedSeeds);
        Progress(report.ToString());
        return report;
    }

    /// <summary>To the test log and to the console, so <c>make chaos</c> shows each seed without test-output verbosity.</summary>
    private void Progress(string line)
    {
        output.WriteLine(line);
        Console.WriteLine(line);
    }

    private async Task<StreamAudit> RunScheduleAsync(ChaosSettings settings, int seed)
    {
        var log = new TestOutputSink(output);
        NetworkLab? lab = null;
        if (settings.NetworkPartitions)
        {
            var (created, unavailable) = await NetworkLab.TryCreateAsync(settings.Brokers, log);
            lab = created;
            if (unavailable is not null)
            {
                output.WriteLine($"[chaos] no network partitions in this run: {unavailable}");
            }
        }

        try
        {
            var schedule = ChaosSchedule.Plan(seed, settings.Brokers, settings.FaultsPerSchedule, partitionsAvailable: lab is not null);
            Progress($"[chaos] schedule {schedule}");
            var options = new ClusterOptions { Brokers = settings.Brokers };
            await using var cluster = await ClusterProcess.StartAsync(output, lab is null ? options : options with { Placement = lab.Placement });
            var clients = new ClusterClients(cluster);
            var topic = $"chaos-{seed}-{Guid.NewGuid():N}"[..24];
            var replication = (short)Math.Min(settings.Brokers, 3);
            await clients.CreateTopicAsync(topic, Partitions, replication, new Dictionary<string, string> { ["min.insync.replicas"] = Math.Min((int)replication, 2).ToString(CultureInfo.InvariantCulture) });

            using var producer = clients.CreateProducer();
            var stream = new RecordStream(topic, $"c{seed}", settings.MaxRecordsPerSchedule, recordsPerPause: 20, pauseMs: 20);
            using var stopProducing = new CancellationTokenSource();
            var streaming = stream.RunAsync(producer, StreamDrain, stopProducing.Token);
            try
            {
                foreach (var fault in schedule.Faults)
                {
                    await Task.Delay(fault.Before);
                    await ApplyAsync(fault, cluster, clients, lab, topic);
                }

                await Task.Delay(1_000);
            }
            finally
            {
                stopProducing.Cancel();
                await HealAsync(cluster, lab, settings.Brokers);
            }

            await streaming.WaitAsync(StreamDrain + TimeSpan.FromSeconds(30));
            await WaitForFullIsrAsync(clients, topic, replication, log);
            var audit = stream.Audit(clients.ReadAll(topic, Partitions, TimeSpan.FromSeconds(60)).Select(r => r.Key));
            output.WriteLine($"[chaos] seed {seed}: {audit}; produce failures: {string.Join(", ", stream.Failures.Select(f => $"{f.Key}={f.Value}"))}");
            return audit;
        }
        finally
        {
            if (lab is not null)
            {
                await lab.DisposeAsync();
            }
        }
    }

    private async Task ApplyAsync(ChaosFault fault, ClusterProcess cluster, ClusterClients clients, NetworkLab? lab, string topic)
    {
        var nodeId = await ResolveAsync(fault, cluster, clients, topic);
        var broker = cluster.Broker(nodeId);
        var clock = Stopwatch.StartNew();
        switch (fault.Kind)
        {
            case ChaosFaultKind.KillAndRestart:
                broker.Kill();
                await Task.Delay(fault.Hold);
                await broker.RestartAsync();
                break;
            case ChaosFaultKind.PauseAndResume:
                broker.Pause();
                await Task.Delay(fault.Hold);
                broker.Resume();
                break;
            case ChaosFaultKind.GracefulRestart:
                await broker.StopAsync();
                await Task.Delay(fault.Hold);
                await broker.RestartAsync();
                break;
            case ChaosFaultKind.Partition when lab is not null:
                await lab.IsolateAsync(nodeId);
                await Task.Delay(fault.Hold);
                await lab.HealAsync(nodeId);
                break;
            default:
                throw new InvalidOperationException($"{fault.Kind} planned without network namespaces.");
        }

        output.WriteLine($"[chaos] {fault.Kind} on b{nodeId} done in {clock.ElapsedMilliseconds} ms");
    }

    /// <summary>The broker a fault hits now: its role's holder if that can be found, its fixed node id otherwise.</summary>
    private static async Task<int> ResolveAsync(ChaosFault fault, ClusterProcess cluster, ClusterClients clients, string topic)
    {
        try
        {
            var resolved = fault.Target switch
            {
                ChaosTarget.PartitionLeader => clients.Partition(topic, 0)?.Leader ?? fault.NodeId,
                ChaosTarget.ActiveController => await cluster.ActiveControllerIdAsync(TimeSpan.FromSeconds(5)),
                _ => fault.NodeId,
            };
            return cluster.Brokers.Any(b => b.NodeId == resolved && b.IsRunning) ? resolved : fault.NodeId;
        }
        catch (Exception e) when (e is KafkaException or TimeoutException)
        {
            return fault.NodeId;
        }
    }

    private static async Task HealAsync(ClusterProcess cluster, NetworkLab? lab, int brokers)
    {
        if (lab is not null)
        {
            foreach (var id in Enumerable.Range(1, brokers))
            {
                await lab.HealAsync(id);
            }
        }

        await cluster.HealAllAsync();
    }

    /// <summary>Bounded; a replica that never catches up is reported, the audit still decides the run.</summary>
    private static async Task WaitForFullIsrAsync(ClusterClients clients, string topic, short replication, TestOutputSink log)
    {
        for (var p = 0; p < Partitions; p++)
        {
            try
            {
                await clients.WaitForPartitionAsync(topic, p, s => s.Leader >= 0 && s.Isr.Count == replication, TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException e)
            {
                log.WriteLine($"[chaos] {e.Message}");
            }
        }
    }
}
