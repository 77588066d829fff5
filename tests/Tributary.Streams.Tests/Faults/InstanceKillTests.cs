using Tributary.Streams.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Faults;

/// <summary>
/// Two instances of one exactly_once_v2 count application, each its own OS process (the sample's <c>count</c> mode);
/// one is SIGKILLed by PID while records flow. Kafka Streams' contract: the group notices the dead member after its
/// session timeout, the survivor takes over its tasks, restores their count stores from the changelogs and resumes from
/// the last committed offsets; the dead instance's open transaction is aborted (transaction timeout), so a
/// read_committed consumer sees every count update exactly once.
/// </summary>
[Collection(StreamsClusterCollection.Name)]
[Trait("Category", "ExactlyOnce")]
// Outside `make test`: it fails in about half the runs (an extra count after the kill), a Streamiz 1.8.2 bug (a poll batch
// that straddles the rebalance hands already-fetched records to the recreated task, which fetches them again:
// streams/README.md "Open"); `make streams-open` runs it.
[Trait("Category", "OpenBug")]
public sealed class InstanceKillTests
{
    private readonly StreamsCluster cluster;

    public InstanceKillTests(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        cluster.Attach(output);
    }

    [Fact]
    public Task Kill_9_of_one_instance_process_leaves_no_duplicate_and_no_gap_in_read_committed_counts() =>
        KillOneInstanceAsync(new CountScenario(cluster), maxPollRecords: null);

    /// <summary>Two count processes, one SIGKILLed mid-stream, the read_committed counts checked exactly once; the scenario sets
    /// the input pacing, <paramref name="maxPollRecords"/> Streamiz's batch size (null: its default).</summary>
    internal async Task KillOneInstanceAsync(CountScenario scenario, int? maxPollRecords)
    {
        await scenario.CreateTopicsAsync();
        await using var survivor = await StreamsProcess.StartAsync(cluster, "count-a", scenario.ApplicationId, scenario.Input, scenario.Output,
            maxPollRecords: maxPollRecords);
        await using var victim = await StreamsProcess.StartAsync(cluster, "count-b", scenario.ApplicationId, scenario.Input, scenario.Output,
            maxPollRecords: maxPollRecords);
        // The second member's join rebalances the group; both are RUNNING with two of the four tasks each afterwards.
        await Eventually.TrueAsync(() => survivor.State == "RUNNING" && victim.State == "RUNNING", "both instances RUNNING",
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));

        var producing = scenario.ProduceAsync();
        await scenario.WaitForOutputAsync(scenario.Total / 5);
        victim.Kill();
        cluster.Cluster.Log.WriteLine($"[harness] count-b PID {victim.ProcessId} killed with SIGKILL mid-stream");
        await producing;

        var updates = await scenario.ReadCommittedCountsAsync();
        Assert.True(victim.HasExited);
        Assert.False(survivor.HasExited, "the surviving instance is still running");
        CountScenario.AssertExactlyOnce(updates);
    }
}

/// <summary>
/// The instance kill with Streamiz's batches limited to one record (<c>MaxPollRecords = 1</c>), the workaround for the
/// Streamiz 1.8.2 bug the default-config test above shows (streams/README.md, "Open"): a batch is then one Consume call and
/// cannot straddle librdkafka's rebalance callbacks. Records paced 25 ms apart so the rebalance after the kill lands while
/// the survivor still has input to process (at 10 ms it has often finished and the case is not exercised). Part of
/// <c>make test</c>: exactly-once across the kill -9 of an instance process, every count checked in read_committed.
/// </summary>
[Collection(StreamsClusterCollection.Name)]
[Trait("Category", "ExactlyOnce")]
public sealed class InstanceKillSingleRecordBatchTests(StreamsCluster cluster, ITestOutputHelper output)
{
    [Fact]
    public Task Kill_9_of_one_instance_process_with_one_record_batches_leaves_no_duplicate_and_no_gap_in_read_committed_counts() =>
        new InstanceKillTests(cluster, output).KillOneInstanceAsync(new CountScenario(cluster, paceMs: 25), maxPollRecords: 1);
}
