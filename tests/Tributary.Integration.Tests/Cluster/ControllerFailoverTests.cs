using System.Diagnostics;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>kill -9 of the active controller: the remaining voters elect a new one quickly, never two at once for long.</summary>
public sealed class ControllerFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ElectionTimeout = TimeSpan.FromMilliseconds(ClusterProcess.ElectionTimeoutMs);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(40);

    [Fact]
    public async Task New_controller_is_elected_within_five_election_timeouts_without_overlapping_controllers_and_creates_topics()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 3 });
        var clients = new ClusterClients(cluster);
        var oldController = await cluster.ActiveControllerIdAsync();

        cluster.Broker(oldController).Kill();
        var watch = await WatchControllersAsync(cluster, observeAfterElection: TimeSpan.FromSeconds(3), bound: TimeSpan.FromSeconds(15));
        output.WriteLine($"controller failover {oldController} -> {watch.NewController}: {watch.ElectedAfter?.TotalMilliseconds.ToString("F0") ?? "none"} ms; " +
                         $"longest overlap of two active controllers {watch.LongestOverlap.TotalMilliseconds:F0} ms");

        var topic = $"after-failover-{Guid.NewGuid():N}"[..31];
        await clients.CreateTopicAsync(topic, partitions: 1, replicationFactor: 2);
        using var producer = clients.CreateProducer();
        var codes = ClusterClients.ProduceAndWait(producer, topic, ["after-0000000"], TimeSpan.FromSeconds(30));

        Assert.NotNull(watch.ElectedAfter);
        Assert.NotEqual(oldController, watch.NewController);
        Assert.True(watch.ElectedAfter <= 5 * ElectionTimeout, $"new controller after {watch.ElectedAfter}");
        Assert.True(watch.LongestOverlap <= ElectionTimeout, $"two active controllers for {watch.LongestOverlap}");
        Assert.Equal(ErrorCode.NoError, codes.Single());
    }

    /// <summary>
    /// Polls every live broker's activecontrollercount every <see cref="PollInterval"/>: records when exactly one first
    /// reports 1, then keeps watching <paramref name="observeAfterElection"/> for overlapping controllers.
    /// </summary>
    private static async Task<ControllerWatch> WatchControllersAsync(ClusterProcess cluster, TimeSpan observeAfterElection, TimeSpan bound)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan? electedAt = null;
        int? newController = null;
        TimeSpan? overlapStart = null;
        var longestOverlap = TimeSpan.Zero;
        while (clock.Elapsed < bound && (electedAt is null || clock.Elapsed < electedAt + observeAfterElection))
        {
            var counts = await cluster.ActiveControllerCountsAsync();
            var now = clock.Elapsed;
            var active = counts.Where(c => c.Value == 1).Select(c => c.Key).ToList();
            if (active.Count == 1 && electedAt is null)
            {
                electedAt = now;
                newController = active[0];
            }

            var sum = counts.Values.Sum(v => v ?? 0);
            if (sum >= 2)
            {
                overlapStart ??= now;
                longestOverlap = Max(longestOverlap, now - overlapStart.Value);
            }
            else
            {
                overlapStart = null;
            }

            await Task.Delay(PollInterval);
        }

        return new ControllerWatch(electedAt, newController, longestOverlap);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private sealed record ControllerWatch(TimeSpan? ElectedAfter, int? NewController, TimeSpan LongestOverlap);
}
