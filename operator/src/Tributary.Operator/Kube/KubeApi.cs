using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Tributary.Operator.Api;
using Tributary.Operator.Hosting;
using Tributary.Operator.Model;

namespace Tributary.Operator.Kube;

/// <summary>
/// The Kubernetes calls the reconcilers make, each behind one Polly pipeline: transient failures (connection errors,
/// 429, 5xx, timeouts) are retried with jittered exponential back-off; anything else surfaces to the work queue, which
/// backs the whole reconcile off.
/// </summary>
public sealed class KubeApi
{
    private readonly IKubernetes _client;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;

    public KubeApi(IKubernetes client, ILogger<KubeApi> logger)
    {
        _client = client;
        _logger = logger;
        _pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>().Handle<IOException>()
                    .Handle<TaskCanceledException>().Handle<HttpOperationException>(IsTransient),
                MaxRetryAttempts = 4,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    OperatorLog.ApiRetry(_logger, args.Context.OperationKey ?? "api call", args.AttemptNumber + 1, args.Outcome.Exception?.Message ?? "?");
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public IKubernetes Client => _client;

    public static bool IsNotFound(Exception e) => e is HttpOperationException { Response.StatusCode: HttpStatusCode.NotFound };

    private static bool IsTransient(HttpOperationException e) =>
        e.Response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private async Task<T> Run<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(operation, cancellationToken);
        try
        {
            return await _pipeline.ExecuteAsync(async ctx => await call(ctx.CancellationToken).ConfigureAwait(false), context).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Reads a custom resource; null when it does not exist.</summary>
    public async Task<T?> GetAsync<T>(string plural, string ns, string name, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            var raw = await Run($"get {plural} {ns}/{name}", ct => _client.CustomObjects.GetNamespacedCustomObjectAsync(TributaryApi.Group, TributaryApi.Version, ns, plural, name, ct), cancellationToken).ConfigureAwait(false);
            return Convert<T>(raw);
        }
        catch (HttpOperationException e) when (IsNotFound(e))
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<T>> ListAsync<T>(string plural, string? ns, string? labelSelector, CancellationToken cancellationToken)
    {
        var raw = ns is null
            ? await Run($"list {plural}", ct => _client.CustomObjects.ListClusterCustomObjectAsync(TributaryApi.Group, TributaryApi.Version, plural, labelSelector: labelSelector, cancellationToken: ct), cancellationToken).ConfigureAwait(false)
            : await Run($"list {plural}", ct => _client.CustomObjects.ListNamespacedCustomObjectAsync(TributaryApi.Group, TributaryApi.Version, ns, plural, labelSelector: labelSelector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        return Convert<CustomResourceList<T>>(raw)?.Items ?? [];
    }

    /// <summary>Replaces the whole status (a JSON patch "add /status", which replaces it when present). Not a merge patch: a
    /// field the new status leaves out must disappear (pendingRestarts once a roll is done), and nulls are not schema-valid.</summary>
    public Task PatchStatusAsync(string plural, string ns, string name, object status, CancellationToken cancellationToken) =>
        Run($"status {plural} {ns}/{name}", ct => _client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch(StatusPatchBody(status), V1Patch.PatchType.JsonPatch),
            TributaryApi.Group, TributaryApi.Version, ns, plural, name, cancellationToken: ct), cancellationToken);

    /// <summary>The JSON patch that replaces a status; nulls are left out.</summary>
    public static string StatusPatchBody(object status) =>
        JsonSerializer.Serialize(new object[] { new { op = "add", path = "/status", value = status } }, StatusJson);

    private static readonly JsonSerializerOptions StatusJson = new()
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Sets metadata.finalizers, failing with 409 if the object changed since <paramref name="resourceVersion"/>.</summary>
    public Task SetFinalizersAsync(string plural, string ns, string name, IList<string> finalizers, string resourceVersion, CancellationToken cancellationToken) =>
        Run($"finalizers {plural} {ns}/{name}", ct => _client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(KubernetesJson.Serialize(new { metadata = new { finalizers, resourceVersion } }), V1Patch.PatchType.MergePatch),
            TributaryApi.Group, TributaryApi.Version, ns, plural, name, cancellationToken: ct), cancellationToken);

    /// <summary>Server-side apply of a desired object: idempotent, and fields other managers own stay theirs.</summary>
    public async Task ApplyAsync(IKubernetesObject<V1ObjectMeta> desired, CancellationToken cancellationToken)
    {
        var ns = desired.Metadata.NamespaceProperty;
        var name = desired.Metadata.Name;
        var patch = new V1Patch(KubernetesJson.Serialize(desired), V1Patch.PatchType.ApplyPatch);
        var operation = $"apply {desired.Kind} {ns}/{name}";
        switch (desired.ApiVersion, desired.Kind)
        {
            case ("v1", "ConfigMap"):
                await Run(operation, ct => _client.CoreV1.PatchNamespacedConfigMapAsync(patch, name, ns, fieldManager: BrokerManifests.FieldManager, force: true, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
                break;
            case ("v1", "Service"):
                await Run(operation, ct => _client.CoreV1.PatchNamespacedServiceAsync(patch, name, ns, fieldManager: BrokerManifests.FieldManager, force: true, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
                break;
            default:
                // Any grouped resource (apps/v1 StatefulSet, policy/v1 or v1beta1 PodDisruptionBudget) through the generic path.
                var slash = desired.ApiVersion.IndexOf('/', StringComparison.Ordinal);
                var plural = desired.Kind.ToLowerInvariant() + "s";
                await Run(operation, ct => _client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, desired.ApiVersion[..slash], desired.ApiVersion[(slash + 1)..], ns, plural, name,
                    fieldManager: BrokerManifests.FieldManager, force: true, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    public async Task<V1StatefulSet?> GetStatefulSetAsync(string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await Run($"get statefulset {ns}/{name}", ct => _client.AppsV1.ReadNamespacedStatefulSetAsync(name, ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (IsNotFound(e))
        {
            return null;
        }
    }

    public async Task<IList<V1Pod>> ListPodsAsync(string ns, string labelSelector, CancellationToken cancellationToken) =>
        (await Run($"list pods {ns}", ct => _client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: labelSelector, cancellationToken: ct), cancellationToken).ConfigureAwait(false)).Items;

    /// <summary>Deletes a pod, but only the incarnation the caller looked at (UID precondition).</summary>
    public async Task DeletePodAsync(string ns, string name, string uid, CancellationToken cancellationToken)
    {
        try
        {
            await Run($"delete pod {ns}/{name}", ct => _client.CoreV1.DeleteNamespacedPodAsync(name, ns,
                new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = uid } }, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (IsNotFound(e) || e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Already gone, or re-created meanwhile: the next plan sees it.
        }
    }

    /// <summary>Records a Kubernetes Event on a Tributary resource (best effort: an event is never worth failing a reconcile).</summary>
    public async Task RecordEventAsync(string kind, V1ObjectMeta about, string type, string reason, string message, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var ev = new Corev1Event
        {
            Metadata = new V1ObjectMeta { GenerateName = about.Name + ".", NamespaceProperty = about.NamespaceProperty },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = TributaryApi.ApiVersion, Kind = kind, Name = about.Name, NamespaceProperty = about.NamespaceProperty, Uid = about.Uid,
                ResourceVersion = about.ResourceVersion,
            },
            Type = type,
            Reason = reason,
            Message = message.Length > 1024 ? message[..1024] : message,
            Source = new V1EventSource { Component = "tributary-operator" },
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
        };
        try
        {
            await _client.CoreV1.CreateNamespacedEventAsync(ev, about.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException)
        {
        }
        catch (HttpRequestException)
        {
        }
    }

    /// <summary>policy/v1 when the API server serves it (1.21+), else policy/v1beta1.</summary>
    public async Task<PdbApi> DiscoverPdbApiAsync(CancellationToken cancellationToken)
    {
        var group = await Run("discover policy", ct => _client.Policy.GetAPIGroupAsync(ct), cancellationToken).ConfigureAwait(false);
        return group.Versions.Any(v => v.Version == "v1") ? PdbApi.V1 : PdbApi.V1Beta1;
    }

    public static T? Convert<T>(object? raw)
        where T : class => raw switch
        {
            null => null,
            T typed => typed,
            JsonElement json => KubernetesJson.Deserialize<T>(json.GetRawText()),
            _ => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(raw)),
        };
}
