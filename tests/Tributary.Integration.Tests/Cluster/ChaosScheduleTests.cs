using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// Randomized fault schedules (<see cref="ChaosRunner"/>). In <c>make test</c> one short schedule with a fixed seed;
/// <c>make chaos</c> runs the Category=Chaos test with CHAOS_SCHEDULES / CHAOS_SEED / CHAOS_NETNS from the environment.
/// </summary>
public sealed class ChaosScheduleTests(ITestOutputHelper output)
{
    [Fact]
    public void Same_seed_plans_the_same_fault_schedule()
    {
        var first = ChaosSchedule.Plan(seed: 42, brokers: 3, faults: 6, partitionsAvailable: true);
        var second = ChaosSchedule.Plan(seed: 42, brokers: 3, faults: 6, partitionsAvailable: true);

        Assert.Equal(first.Faults, second.Faults);
    }

    [Fact]
    public void Schedules_without_network_namespaces_plan_no_partitions()
    {
        var faults = Enumerable.Range(0, 50).SelectMany(seed => ChaosSchedule.Plan(seed, brokers: 5, faults: 4, partitionsAvailable: false).Faults);

        Assert.DoesNotContain(faults, f => f.Kind == ChaosFaultKind.Partition);
    }

    [Fact]
    public void Planned_faults_target_existing_brokers_with_bounded_timings()
    {
        var faults = Enumerable.Range(0, 50).SelectMany(seed => ChaosSchedule.Plan(seed, brokers: 3, faults: 4, partitionsAvailable: true).Faults).ToList();

        Assert.All(faults, f => Assert.InRange(f.NodeId, 1, 3));
        Assert.All(faults, f => Assert.InRange(f.Before.TotalMilliseconds + f.Hold.TotalMilliseconds, 700, 4_500));
    }

    [Fact]
    [Trait("Category", "Chaos")]
    public async Task Random_fault_schedules_lose_no_acknowledged_record()
    {
        var settings = new ChaosSettings { Seed = 1, Schedules = 1, FaultsPerSchedule = 3 }.FromEnvironment();

        var report = await new ChaosRunner(output).RunAsync(settings);

        Assert.True(report.Acked > 0, report.ToString());
        Assert.True(report.Lost == 0, report.ToString());
        Assert.True(report.Duplicated == 0, report.ToString());
        Assert.True(report.FailedSeeds.Count == 0, report.ToString());
    }
}
