using System.Collections.Concurrent;
using k8s;

namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// Polls the pods of a namespace and records when each pod incarnation that existed at the start began to go away
/// (deletion timestamp set, or gone): the order and moments of a roll as the API shows them.
/// </summary>
public sealed class PodRestartRecorder : IAsyncDisposable
{
    private readonly Kubernetes client;
    private readonly string @namespace;
    private readonly string labelSelector;
    private readonly CancellationTokenSource stop = new();
    private readonly ConcurrentDictionary<string, string> watchedUids = new();
    private readonly ConcurrentQueue<(string Pod, string Uid, DateTime At)> restarts = new();
    private readonly Task loop;

    private PodRestartRecorder(Kubernetes client, string @namespace, string labelSelector, IEnumerable<(string Name, string Uid)> initial)
    {
        this.client = client;
        this.@namespace = @namespace;
        this.labelSelector = labelSelector;
        foreach (var (name, uid) in initial)
        {
            watchedUids[uid] = name;
        }

        loop = Task.Run(RunAsync);
    }

    /// <summary>Each pod incarnation's restart, in the order they began.</summary>
    public IReadOnlyList<(string Pod, string Uid, DateTime At)> Restarts => restarts.ToList();

    public static async Task<PodRestartRecorder> StartAsync(Kubernetes client, string @namespace, string labelSelector)
    {
        var pods = await client.CoreV1.ListNamespacedPodAsync(@namespace, labelSelector: labelSelector);
        return new PodRestartRecorder(client, @namespace, labelSelector, pods.Items.Select(p => (p.Metadata.Name, p.Metadata.Uid)));
    }

    private async Task RunAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var pods = await client.CoreV1.ListNamespacedPodAsync(@namespace, labelSelector: labelSelector);
                var now = DateTime.UtcNow;
                var present = pods.Items.ToDictionary(p => p.Metadata.Uid);
                foreach (var pod in pods.Items.Where(p => p.Metadata.DeletionTimestamp is null))
                {
                    // New incarnations are watched too, so a pod restarted twice shows up twice.
                    watchedUids.TryAdd(pod.Metadata.Uid, pod.Metadata.Name);
                }

                foreach (var (uid, name) in watchedUids)
                {
                    var going = !present.TryGetValue(uid, out var pod) || pod.Metadata.DeletionTimestamp is not null;
                    if (going && watchedUids.TryRemove(uid, out _))
                    {
                        restarts.Enqueue((name, uid, now));
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or k8s.Autorest.HttpOperationException)
            {
            }

            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await loop;
    }
}
