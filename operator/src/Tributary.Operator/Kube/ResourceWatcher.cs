using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Tributary.Operator.Hosting;
using Tributary.Operator.Queue;

namespace Tributary.Operator.Kube;

/// <summary>
/// List, then watch from the list's resourceVersion, forever: bookmarks advance the resourceVersion; a closed or failed
/// watch reconnects from the last one seen (with back-off); a 410 Gone (the version fell out of etcd's window) lists
/// again, and every listed object is handed over, so an event missed in the gap is made up for. Reconcilers are
/// level-based, so seeing an object twice is harmless.
/// </summary>
public sealed class ResourceWatcher<T>(
    string resource,
    Func<CancellationToken, Task<(IReadOnlyList<T> Items, string ResourceVersion)>> list,
    Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType Type, T Object)>> watch,
    Action<T> onChange,
    OperatorMetrics metrics,
    ILogger logger,
    TimeProvider time)
    where T : IKubernetesObject<V1ObjectMeta>
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        string? resourceVersion = null;
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            Exception? streamError = null;
            try
            {
                if (resourceVersion is null)
                {
                    var (items, version) = await list(cancellationToken).ConfigureAwait(false);
                    foreach (var item in items)
                    {
                        onChange(item);
                    }

                    resourceVersion = version;
                    OperatorLog.WatchListed(logger, resource, items.Count, version);
                }

                await foreach (var (type, obj) in watch(resourceVersion, e => streamError ??= e, cancellationToken).ConfigureAwait(false))
                {
                    failures = 0;
                    if (obj?.Metadata?.ResourceVersion is { Length: > 0 } seen)
                    {
                        resourceVersion = seen;
                    }

                    if (type is WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted)
                    {
                        onChange(obj!);
                    }
                }

                if (streamError is KubernetesException { Status.Code: (int)HttpStatusCode.Gone })
                {
                    OperatorLog.WatchGone(logger, resource, resourceVersion ?? "");
                    metrics.WatchRestarts.Add(1, new("resource", resource), new("cause", "gone"));
                    resourceVersion = null;
                    continue;
                }

                if (streamError is not null)
                {
                    throw streamError;
                }

                // The server ended the watch (its timeout): resume from the last version seen.
                metrics.WatchRestarts.Add(1, new("resource", resource), new("cause", "closed"));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpOperationException { Response.StatusCode: HttpStatusCode.Gone })
            {
                OperatorLog.WatchGone(logger, resource, resourceVersion ?? "");
                metrics.WatchRestarts.Add(1, new("resource", resource), new("cause", "gone"));
                resourceVersion = null;
            }
            catch (Exception e)
            {
                failures++;
                var delay = WorkQueue<string>.BackoffFor(failures, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));
                OperatorLog.WatchFailed(logger, resource, (long)delay.TotalMilliseconds, e.Message);
                metrics.WatchRestarts.Add(1, new("resource", resource), new("cause", "error"));
                try
                {
                    await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
