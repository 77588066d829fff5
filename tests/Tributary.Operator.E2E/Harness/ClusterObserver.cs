using System.Collections.Concurrent;
using Confluent.Kafka;

namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// Watches a running cluster through a real Kafka admin client while something disruptive happens: the smallest ISR
/// seen per partition of the watched topics, and the active controller over time.
/// </summary>
public sealed class ClusterObserver : IAsyncDisposable
{
    private readonly string bootstrap;
    private readonly IReadOnlyList<string> topics;
    private readonly CancellationTokenSource stop = new();
    private readonly ConcurrentDictionary<string, int> smallestIsr = new();
    private readonly ConcurrentQueue<(DateTime At, int Controller)> controllers = new();
    private readonly ConcurrentDictionary<int, DateTime> lastSeenHoldingReplicas = new();
    private readonly Task loop;

    public ClusterObserver(string bootstrap, IReadOnlyList<string> topics)
    {
        this.bootstrap = bootstrap;
        this.topics = topics;
        loop = Task.Run(RunAsync);
    }

    /// <summary>Partition ("topic/p") → the fewest in-sync replicas ever observed.</summary>
    public IReadOnlyDictionary<string, int> SmallestIsr => smallestIsr;

    public int Samples { get; private set; }

    /// <summary>The active controller observed last at or before <paramref name="at"/>.</summary>
    public int? ControllerAt(DateTime at) =>
        controllers.Where(c => c.At <= at).Select(c => (int?)c.Controller).LastOrDefault();

    /// <summary>The last moment broker <paramref name="node"/> was seen in a watched partition's replica set.</summary>
    public DateTime? LastSeenHoldingReplicas(int node) => lastSeenHoldingReplicas.TryGetValue(node, out var at) ? at : null;

    private async Task RunAsync()
    {
        using var admin = KafkaProbe.Admin(bootstrap);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                foreach (var topic in topics)
                {
                    var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
                    var seenAt = DateTime.UtcNow;
                    foreach (var partition in metadata.Topics.Single().Partitions)
                    {
                        foreach (var replica in partition.Replicas)
                        {
                            lastSeenHoldingReplicas[replica] = seenAt;
                        }

                        smallestIsr.AddOrUpdate($"{topic}/{partition.PartitionId}", partition.InSyncReplicas.Length,
                            (_, seen) => Math.Min(seen, partition.InSyncReplicas.Length));
                    }
                }

                var cluster = await admin.DescribeClusterAsync(new Confluent.Kafka.Admin.DescribeClusterOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
                if (cluster.Controller is { } controller)
                {
                    controllers.Enqueue((DateTime.UtcNow, controller.Id));
                }

                Samples++;
            }
            catch (KafkaException)
            {
                // A broker restarting mid-request; the next sample asks again.
            }

            await Task.Delay(250).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await loop;
    }
}
