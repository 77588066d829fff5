using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Tributary.Operator.Api;
using Tributary.Operator.Kube;
using Tributary.Operator.Queue;
using Tributary.Operator.Reconcilers;

namespace Tributary.Operator.Hosting;

/// <summary>
/// What runs while this replica leads: one watcher per kind (and one on the broker pods, which wakes their Broker), one
/// work queue keyed by object, and a few workers that take keys and call the kind's reconciler. Failures back the key
/// off; a reconcile that asks to look again later is re-added after its delay.
/// </summary>
public sealed class OperatorController(
    KubeApi kube,
    BrokerReconciler brokers,
    TopicReconciler topics,
    ConnectorConfigReconciler connectors,
    OperatorMetrics metrics,
    ILoggerFactory loggers,
    TimeProvider time,
    int workers)
{
    private const string PodSelector = "app.kubernetes.io/managed-by=tributary-operator";
    private readonly ILogger _logger = loggers.CreateLogger<OperatorController>();
    private readonly ConcurrentDictionary<ObjectKey, string> _topicClusters = new();

    public WorkQueue<ObjectKey>? Queue { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var queue = new WorkQueue<ObjectKey>(time);
        Queue = queue;
        var client = kube.Client;
        var tasks = new List<Task>
        {
            CustomWatcher<Broker>(Broker.Plural, b =>
            {
                var key = new ObjectKey(Broker.KindName, b.Metadata.NamespaceProperty, b.Metadata.Name);
                queue.Add(key);
                // Topics that named this Broker before it existed (UnknownCluster) are looked at again.
                foreach (var (topicKey, cluster) in _topicClusters)
                {
                    if (topicKey.Namespace == key.Namespace && cluster == key.Name)
                    {
                        queue.Add(topicKey);
                    }
                }
            }).RunAsync(cancellationToken),
            CustomWatcher<Topic>(Topic.Plural, t =>
            {
                var key = new ObjectKey(Topic.KindName, t.Metadata.NamespaceProperty, t.Metadata.Name);
                _topicClusters[key] = t.Metadata.Labels?.TryGetValue(TributaryApi.ClusterLabel, out var c) == true ? c : "";
                queue.Add(key);
            }).RunAsync(cancellationToken),
            CustomWatcher<ConnectorConfig>(ConnectorConfig.Plural, c =>
                queue.Add(new ObjectKey(ConnectorConfig.KindName, c.Metadata.NamespaceProperty, c.Metadata.Name))).RunAsync(cancellationToken),
            new ResourceWatcher<V1Pod>(
                "pods",
                async ct =>
                {
                    var list = await client.CoreV1.ListPodForAllNamespacesAsync(labelSelector: PodSelector, cancellationToken: ct).ConfigureAwait(false);
                    return (list.Items.ToArray(), list.Metadata.ResourceVersion);
                },
                (rv, onError, ct) => client.CoreV1.WatchListPodForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: PodSelector,
                    resourceVersion: rv, timeoutSeconds: 300, onError: onError, cancellationToken: ct),
                pod =>
                {
                    if (pod.Metadata.Labels?.TryGetValue(TributaryApi.ClusterLabel, out var cluster) == true)
                    {
                        queue.Add(new ObjectKey(Broker.KindName, pod.Metadata.NamespaceProperty, cluster));
                    }
                },
                metrics, loggers.CreateLogger("Tributary.Operator.Watch.Pods"), time).RunAsync(cancellationToken),
        };
        for (var i = 0; i < workers; i++)
        {
            tasks.Add(WorkAsync(queue, cancellationToken));
        }

        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            Queue = null;
        }
    }

    private ResourceWatcher<T> CustomWatcher<T>(string plural, Action<T> onChange)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var client = kube.Client;
        return new ResourceWatcher<T>(
            plural,
            async ct =>
            {
                var raw = await client.CustomObjects.ListClusterCustomObjectAsync(TributaryApi.Group, TributaryApi.Version, plural, cancellationToken: ct).ConfigureAwait(false);
                var list = KubeApi.Convert<CustomResourceList<T>>(raw) ?? new CustomResourceList<T>();
                return (list.Items, list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => Typed<T>(client.CustomObjects.WatchListClusterCustomObjectAsync(TributaryApi.Group, TributaryApi.Version, plural,
                allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: 300, onError: onError, cancellationToken: ct), ct),
            onChange, metrics, loggers.CreateLogger("Tributary.Operator.Watch." + plural), time);
    }

    private static async IAsyncEnumerable<(WatchEventType, T)> Typed<T>(IAsyncEnumerable<(WatchEventType, object)> events, [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        await foreach (var (type, raw) in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (KubeApi.Convert<T>(raw) is { } typed)
            {
                yield return (type, typed);
            }
        }
    }

    private async Task WorkAsync(WorkQueue<ObjectKey> queue, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            ObjectKey key;
            try
            {
                key = await queue.TakeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var started = Stopwatch.GetTimestamp();
            try
            {
                var result = key.Kind switch
                {
                    Broker.KindName => await brokers.ReconcileAsync(key, cancellationToken).ConfigureAwait(false),
                    Topic.KindName => await topics.ReconcileAsync(key, cancellationToken).ConfigureAwait(false),
                    ConnectorConfig.KindName => await connectors.ReconcileAsync(key, cancellationToken).ConfigureAwait(false),
                    _ => ReconcileResult.Done("unknown kind"),
                };
                queue.Forget(key);
                if (result.RequeueAfter is { } delay)
                {
                    queue.AddAfter(key, delay, cancellationToken);
                }

                metrics.Reconciles.Add(1, new("kind", key.Kind), new("result", result.RequeueAfter is null ? "ok" : "requeue"));
                OperatorLog.Reconciled(_logger, key.ToString(), (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, result.Outcome);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Never crash on one object: log, back off this key, keep serving the others.
                var delay = queue.AddRateLimited(key, cancellationToken);
                metrics.Reconciles.Add(1, new("kind", key.Kind), new("result", "error"));
                OperatorLog.ReconcileFailed(_logger, e, key.ToString(), (long)delay.TotalMilliseconds, e.Message);
            }
            finally
            {
                metrics.ReconcileSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("kind", key.Kind));
                queue.Done(key);
            }
        }
    }
}
