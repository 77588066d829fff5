using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Tributary.Operator.Api;
using Tributary.Operator.Api.Schema;
using Tributary.Operator.Connect;
using Tributary.Operator.Hosting;
using Tributary.Operator.Kube;
using Tributary.Operator.Model;
using Tributary.Operator.Queue;

namespace Tributary.Operator.Reconcilers;

/// <summary>
/// ConnectorConfig → a connector on a Connect worker set, through the workers' REST API (spec.workerUrl, else the
/// operator's --connect-url): the config is validated by the workers and put when it differs, the target state (running,
/// paused, stopped) is set, and the connector's /status (its state, each task's state and worker, a FAILED one's trace) is
/// mirrored into status and its Ready condition. Deletion goes through a finalizer that deletes the connector first. A
/// worker that cannot be reached, or that refuses the config, is a condition with the message and a retry with back-off,
/// never a failed reconcile.
/// </summary>
public sealed class ConnectorConfigReconciler(KubeApi kube, IConnectWorkers workers, string? defaultWorkerUrl, ILogger<ConnectorConfigReconciler> logger, TimeProvider time)
{
    /// <summary>How often a settled connector's /status is read again (Connect has no watch; a task may fail at any time).</summary>
    public static readonly TimeSpan StatusPoll = TimeSpan.FromSeconds(30);

    /// <summary>How soon a connector on its way to spec.state is looked at again.</summary>
    public static readonly TimeSpan ConvergePoll = TimeSpan.FromSeconds(2);

    /// <summary>Longest wait between attempts on a worker that is unreachable or refuses.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<ObjectKey, int> _failures = new();

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var connector = await kube.GetAsync<ConnectorConfig>(ConnectorConfig.Plural, key.Namespace, key.Name, cancellationToken).ConfigureAwait(false);
        if (connector is null)
        {
            _failures.TryRemove(key, out _);
            return ReconcileResult.Done("gone");
        }

        var url = ConnectorModel.WorkerUrl(connector, defaultWorkerUrl);
        if (connector.Metadata.DeletionTimestamp is not null)
        {
            return await FinalizeAsync(key, connector, url, cancellationToken).ConfigureAwait(false);
        }

        var errors = SpecValidator.Validate(connector.Spec);
        if (errors.Count > 0)
        {
            return await InvalidAsync(key, connector, "InvalidSpec", string.Join("; ", errors), cancellationToken).ConfigureAwait(false);
        }

        if (url is null)
        {
            return await InvalidAsync(key, connector, "NoWorkerUrl",
                "no Connect worker URL: set spec.workerUrl, or install the chart with connect.enabled (or connect.url) so the operator has --connect-url", cancellationToken).ConfigureAwait(false);
        }

        if (!(connector.Metadata.Finalizers?.Contains(TributaryApi.ConnectorFinalizer) ?? false))
        {
            var finalizers = (connector.Metadata.Finalizers ?? []).Append(TributaryApi.ConnectorFinalizer).ToList();
            await kube.SetFinalizersAsync(ConnectorConfig.Plural, key.Namespace, key.Name, finalizers, connector.Metadata.ResourceVersion, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.After(TimeSpan.Zero, "finalizer added");
        }

        try
        {
            return await ApplyAsync(key, connector, url, cancellationToken).ConfigureAwait(false);
        }
        catch (ConnectWorkerUnreachableException e)
        {
            return await TroubleAsync(key, connector, url, "WorkerUnreachable", $"Connect worker {url} unreachable: {e.Message}", cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<ReconcileResult> ApplyAsync(ObjectKey key, ConnectorConfig connector, string url, CancellationToken cancellationToken)
    {
        var name = connector.ConnectorName;
        var path = "/connectors/" + Uri.EscapeDataString(name);
        var desired = ConnectorModel.DesiredConfig(connector);

        var current = await workers.SendAsync(url, HttpMethod.Get, path + "/config", null, cancellationToken).ConfigureAwait(false);
        if (!current.Ok && !current.NotFound)
        {
            return await WorkerRefusedAsync(key, connector, url, "GET config", current, cancellationToken).ConfigureAwait(false);
        }

        var actual = current.Ok ? ConnectorModel.ParseConfig(current.Body) : null;
        if (actual is null || !ConnectorModel.SameConfig(desired, actual))
        {
            // Validate first: the answer names each bad field, where a refused PUT gives one line.
            var validation = await workers.SendAsync(url, HttpMethod.Put, "/connector-plugins/" + Uri.EscapeDataString(connector.Spec.Class) + "/config/validate",
                ConnectorModel.ConfigJson(desired), cancellationToken).ConfigureAwait(false);
            if ((int)validation.Status is >= 400 and < 500)
            {
                return await RejectedAsync(key, connector, url, $"the workers refused the config: {validation.Message}", cancellationToken).ConfigureAwait(false);
            }

            if (!validation.Ok)
            {
                return await WorkerRefusedAsync(key, connector, url, "validate", validation, cancellationToken).ConfigureAwait(false);
            }

            var invalid = ConnectorModel.ValidationErrors(validation.Body);
            if (invalid.Count > 0)
            {
                return await RejectedAsync(key, connector, url, $"config invalid ({invalid.Count} error(s)): {string.Join("; ", invalid)}", cancellationToken).ConfigureAwait(false);
            }

            var put = await workers.SendAsync(url, HttpMethod.Put, path + "/config", ConnectorModel.ConfigJson(desired), cancellationToken).ConfigureAwait(false);
            if ((int)put.Status is >= 400 and < 500 && put.Status != HttpStatusCode.Conflict)
            {
                return await RejectedAsync(key, connector, url, $"the workers refused the config: {put.Message}", cancellationToken).ConfigureAwait(false);
            }

            if (!put.Ok)
            {
                return await WorkerRefusedAsync(key, connector, url, "PUT config", put, cancellationToken).ConfigureAwait(false);
            }

            OperatorLog.ConnectorChanged(logger, key.ToString(), actual is null ? $"created {name} on {url}" : $"config of {name} updated on {url}");
        }

        var statusAnswer = await workers.SendAsync(url, HttpMethod.Get, path + "/status", null, cancellationToken).ConfigureAwait(false);
        if (!statusAnswer.Ok && !statusAnswer.NotFound)
        {
            return await WorkerRefusedAsync(key, connector, url, "GET status", statusAnswer, cancellationToken).ConfigureAwait(false);
        }

        var status = statusAnswer.Ok ? ConnectorModel.ParseStatus(statusAnswer.Body) : null;
        var change = ConnectorModel.StateChange(connector.Spec.State, status?.State);
        if (status is not null && change != ConnectorStateChange.None)
        {
            var verb = change switch
            {
                ConnectorStateChange.Pause => "/pause",
                ConnectorStateChange.Resume => "/resume",
                _ => "/stop",
            };
            var changed = await workers.SendAsync(url, HttpMethod.Put, path + verb, null, cancellationToken).ConfigureAwait(false);
            if (!changed.Ok)
            {
                return await WorkerRefusedAsync(key, connector, url, "PUT " + verb, changed, cancellationToken).ConfigureAwait(false);
            }

            OperatorLog.ConnectorChanged(logger, key.ToString(), $"{name}: {change} (was {status.State})");
        }

        _failures.TryRemove(key, out _);
        var generation = connector.Metadata.Generation;
        var now = time.GetUtcNow();
        ConnectorConfigStatus written;
        bool ready;
        if (status is null)
        {
            ready = false;
            const string waiting = "the workers have no status for the connector yet";
            written = new ConnectorConfigStatus
            {
                ObservedGeneration = generation,
                WorkerUrl = url,
                Conditions = Conditions.Build(connector.Status?.Conditions, generation, now, (false, "Converging", waiting), (true, "Converging", waiting), (false, "NoError", "")),
            };
        }
        else
        {
            var (isReady, failed, reason, message) = ConnectorModel.Assess(connector.Spec.State, status);
            ready = isReady && change == ConnectorStateChange.None;
            written = new ConnectorConfigStatus
            {
                ObservedGeneration = generation,
                WorkerUrl = url,
                Type = status.Type,
                ConnectorState = status.State,
                WorkerId = status.WorkerId,
                Trace = status.Trace,
                Tasks = [.. status.Tasks],
                Conditions = Conditions.Build(connector.Status?.Conditions, generation, now,
                    (ready, ready ? reason : failed ? reason : "Converging", message),
                    (!ready && !failed, ready ? "Settled" : failed ? reason : "Converging", ready ? "nothing in progress" : message),
                    (failed, failed ? reason : "NoError", failed ? message : "")),
            };
        }

        await kube.PatchStatusAsync(ConnectorConfig.Plural, key.Namespace, key.Name, written, cancellationToken).ConfigureAwait(false);
        return ready || written.Conditions.Any(c => c.Type == Condition.Error && c.Status == "True")
            ? ReconcileResult.After(StatusPoll, written.ConnectorState ?? "no status")
            : ReconcileResult.After(ConvergePoll, "converging");
    }

    private async Task<ReconcileResult> FinalizeAsync(ObjectKey key, ConnectorConfig connector, string? url, CancellationToken cancellationToken)
    {
        if (!(connector.Metadata.Finalizers?.Contains(TributaryApi.ConnectorFinalizer) ?? false))
        {
            return ReconcileResult.Done("deleting (not ours to finalize)");
        }

        if (url is not null)
        {
            try
            {
                var deleted = await workers.SendAsync(url, HttpMethod.Delete, "/connectors/" + Uri.EscapeDataString(connector.ConnectorName), null, cancellationToken).ConfigureAwait(false);
                if (!deleted.Ok && !deleted.NotFound)
                {
                    return await WorkerRefusedAsync(key, connector, url, "DELETE connector", deleted, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (ConnectWorkerUnreachableException e)
            {
                return await TroubleAsync(key, connector, url, "WorkerUnreachable",
                    $"deleting: Connect worker {url} unreachable: {e.Message} (remove the finalizer {TributaryApi.ConnectorFinalizer} to drop the resource and keep the connector)", cancellationToken).ConfigureAwait(false);
            }

            OperatorLog.ConnectorChanged(logger, key.ToString(), $"deleted {connector.ConnectorName} from {url}");
        }

        var remaining = connector.Metadata.Finalizers!.Where(f => f != TributaryApi.ConnectorFinalizer).ToList();
        await kube.SetFinalizersAsync(ConnectorConfig.Plural, key.Namespace, key.Name, remaining, connector.Metadata.ResourceVersion, cancellationToken).ConfigureAwait(false);
        _failures.TryRemove(key, out _);
        return ReconcileResult.Done(url is null ? "finalized (no worker URL)" : "deleted");
    }

    private async Task<ReconcileResult> InvalidAsync(ObjectKey key, ConnectorConfig connector, string reason, string message, CancellationToken cancellationToken)
    {
        OperatorLog.ConnectorInvalid(logger, key.ToString(), message);
        await kube.PatchStatusAsync(ConnectorConfig.Plural, key.Namespace, key.Name, Keep(connector, connector.Status?.WorkerUrl,
            Conditions.Invalid(connector.Status?.Conditions, connector.Metadata.Generation, time.GetUtcNow(), reason, message)), cancellationToken).ConfigureAwait(false);
        return ReconcileResult.Done(reason);
    }

    /// <summary>The workers refused the config (4xx from validate or put, or validation errors): it stays refused until the spec
    /// changes (a watch event), but is tried again with back-off in case a plugin was installed meanwhile.</summary>
    private Task<ReconcileResult> RejectedAsync(ObjectKey key, ConnectorConfig connector, string url, string message, CancellationToken cancellationToken)
    {
        OperatorLog.ConnectorRejected(logger, key.ToString(), message);
        return TroubleAsync(key, connector, url, "ConfigRejected", message, cancellationToken);
    }

    private Task<ReconcileResult> WorkerRefusedAsync(ObjectKey key, ConnectorConfig connector, string url, string call, ConnectAnswer answer, CancellationToken cancellationToken) =>
        TroubleAsync(key, connector, url, "WorkerError", $"{call} on {url}: {(int)answer.Status}: {answer.Message}", cancellationToken);

    private async Task<ReconcileResult> TroubleAsync(ObjectKey key, ConnectorConfig connector, string url, string reason, string message, CancellationToken cancellationToken)
    {
        var failures = _failures.AddOrUpdate(key, 1, (_, n) => Math.Min(n + 1, 30));
        var delay = TimeSpan.FromSeconds(Math.Min(Math.Pow(2, failures - 1), MaxBackoff.TotalSeconds));
        if (reason != "ConfigRejected")
        {
            OperatorLog.ConnectWorkerTrouble(logger, key.ToString(), (long)delay.TotalMilliseconds, message);
        }

        var generation = connector.Metadata.Generation;
        await kube.PatchStatusAsync(ConnectorConfig.Plural, key.Namespace, key.Name, Keep(connector, url,
            Conditions.Build(connector.Status?.Conditions, generation, time.GetUtcNow(), (false, reason, message), (false, reason, "retrying with back-off"), (true, reason, message))),
            cancellationToken).ConfigureAwait(false);
        return ReconcileResult.After(delay, reason);
    }

    /// <summary>A status with new conditions that keeps what was last seen of the connector (it is still the best knowledge).</summary>
    private static ConnectorConfigStatus Keep(ConnectorConfig connector, string? url, List<Condition> conditions) => new()
    {
        ObservedGeneration = connector.Metadata.Generation,
        WorkerUrl = url,
        Type = connector.Status?.Type,
        ConnectorState = connector.Status?.ConnectorState,
        WorkerId = connector.Status?.WorkerId,
        Trace = connector.Status?.Trace,
        Tasks = connector.Status?.Tasks,
        Conditions = conditions,
    };
}
