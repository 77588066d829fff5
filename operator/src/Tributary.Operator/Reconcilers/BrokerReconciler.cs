using System.Globalization;
using System.Net;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Tributary.Operator.Api;
using Tributary.Operator.Api.Schema;
using Tributary.Operator.Hosting;
using Tributary.Operator.Kafka;
using Tributary.Operator.Kube;
using Tributary.Operator.Model;
using Tributary.Operator.Queue;
using Tributary.Protocol;

namespace Tributary.Operator.Reconcilers;

/// <summary>
/// Broker → its StatefulSet, Services, ConfigMap and PodDisruptionBudget (server-side apply of what BrokerManifests
/// builds), then the roller (RollPlanner decides, this class deletes one pod and records why), then status. Scale-down
/// first drains the brokers being removed. Level-based: every step reads the world first, so running it twice is a no-op.
/// </summary>
public sealed class BrokerReconciler(
    KubeApi kube, IClusterAdminFactory admins, OperatorMetrics metrics, ILogger<BrokerReconciler> logger, TimeProvider time, Func<PdbApi> pdbApi)
{
    /// <summary>How soon to look again while something is in motion (a roll, a drain, pods starting).</summary>
    public static readonly TimeSpan Busy = TimeSpan.FromSeconds(3);

    /// <summary>How often a settled cluster's status (ready brokers, active controller) is refreshed.</summary>
    public static readonly TimeSpan Idle = TimeSpan.FromSeconds(60);

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var broker = await kube.GetAsync<Broker>(Broker.Plural, key.Namespace, key.Name, cancellationToken).ConfigureAwait(false);
        if (broker is null || broker.Metadata.DeletionTimestamp is not null)
        {
            return ReconcileResult.Done("gone (owned objects are garbage-collected)");
        }

        var generation = broker.Metadata.Generation;
        var errors = SpecValidator.Validate(broker.Spec).Concat(BrokerProperties.Validate(broker.Spec)).ToArray();
        if (errors.Length > 0)
        {
            return await InvalidAsync(broker, "InvalidSpec", string.Join("; ", errors), cancellationToken).ConfigureAwait(false);
        }

        var layout = ClusterLayout.For(broker);
        var existing = await kube.GetStatefulSetAsync(key.Namespace, layout.StatefulSetName, cancellationToken).ConfigureAwait(false);
        var voters = VotersOf(existing) ?? ClusterLayout.VotersFor(broker.Spec.Replicas);
        if (broker.Spec.Replicas < voters)
        {
            return await InvalidAsync(broker, "BelowQuorumVoters",
                $"spec.replicas {broker.Spec.Replicas} is below the cluster's {voters} fixed KRaft voters (pods 0..{voters - 1}); the voter set cannot shrink",
                cancellationToken).ConfigureAwait(false);
        }

        var currentReplicas = existing?.Spec.Replicas ?? broker.Spec.Replicas;
        string? drainWait = null;
        if (currentReplicas > broker.Spec.Replicas)
        {
            try
            {
                drainWait = await DrainAsync(broker, layout, currentReplicas, cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaAdminException e)
            {
                // Without the brokers' word that the leaving ones are empty, the StatefulSet keeps its size.
                drainWait = $"cannot drain brokers {broker.Spec.Replicas}..{currentReplicas - 1} yet: {e.Message}";
            }
        }

        // While a drain runs the StatefulSet keeps its size; it shrinks in the reconcile that finds the brokers empty.
        var effective = drainWait is null ? broker.Spec.Replicas : currentReplicas;
        // The nodes this reconcile removes are unregistered once their pods are gone (as Kafka and Strimzi do it: after the
        // broker shut down). Kept in status, so an operator restart in between still unregisters them.
        var pendingUnregistrations = (broker.Status?.PendingUnregistrations ?? []).ToHashSet();
        if (drainWait is null && currentReplicas > broker.Spec.Replicas)
        {
            pendingUnregistrations.UnionWith(Enumerable.Range(broker.Spec.Replicas, currentReplicas - broker.Spec.Replicas));
        }

        // A node back in range (scaled up again) is not unregistered.
        pendingUnregistrations.RemoveWhere(id => id < broker.Spec.Replicas);
        var desiredBroker = drainWait is null ? broker : WithReplicas(broker, effective);
        var resources = BrokerManifests.Build(desiredBroker, voters, pdbApi());
        try
        {
            await kube.ApplyAsync(resources.ConfigMap, cancellationToken).ConfigureAwait(false);
            await kube.ApplyAsync(resources.HeadlessService, cancellationToken).ConfigureAwait(false);
            await kube.ApplyAsync(resources.BootstrapService, cancellationToken).ConfigureAwait(false);
            await kube.ApplyAsync(resources.StatefulSet, cancellationToken).ConfigureAwait(false);
            await kube.ApplyAsync(resources.DisruptionBudget, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest)
        {
            // The API server refused what the spec asks for (e.g. a changed storage size: StatefulSet volume claims are
            // immutable). That is the spec's problem, not a transient one: report it and look again slowly.
            await InvalidAsync(broker, "ApplyRejected", $"the API server rejected the desired objects: {e.Response.Content}", cancellationToken).ConfigureAwait(false);
            return ReconcileResult.After(TimeSpan.FromSeconds(30), "apply rejected");
        }

        var statefulSet = await kube.GetStatefulSetAsync(key.Namespace, layout.StatefulSetName, cancellationToken).ConfigureAwait(false);
        var pods = await kube.ListPodsAsync(key.Namespace, string.Join(",", layout.SelectorLabels().Select(kv => $"{kv.Key}={kv.Value}")), cancellationToken).ConfigureAwait(false);
        var podStates = PodStates(layout, effective, statefulSet, pods);
        var readyCount = podStates.Count(p => p.Exists && !p.Terminating && p.Ready);
        var revisionKnown = statefulSet?.Status?.UpdateRevision is { Length: > 0 }
            && statefulSet.Status.ObservedGeneration >= statefulSet.Metadata.Generation;
        var pending = revisionKnown ? podStates.Where(p => !p.UpToDate).ToArray() : [];

        var unregistered = (broker.Status?.UnregisteredBrokers ?? []).Where(id => id >= broker.Spec.Replicas).ToHashSet();
        if (pendingUnregistrations.Count > 0 && readyCount > 0)
        {
            await UnregisterAsync(broker, layout, effective, pods, pendingUnregistrations, unregistered, cancellationToken).ConfigureAwait(false);
        }

        var cluster = await ClusterStateAsync(key, layout, effective, readyCount > 0, broker.Spec, cancellationToken).ConfigureAwait(false);
        string? rollWait = null;
        if (!revisionKnown)
        {
            rollWait = "waiting for the StatefulSet controller to observe the new spec";
        }
        else if (pending.Length > 0)
        {
            switch (RollPlanner.Next(podStates, cluster))
            {
                case RollAction.Restart restart:
                    var pod = pods.First(p => p.Metadata.Name == restart.Pod);
                    OperatorLog.PodRestart(logger, restart.Pod, key.ToString(), restart.Reason);
                    metrics.PodRestarts.Add(1);
                    await kube.RecordEventAsync(Broker.KindName, broker.Metadata, "Normal", "PodRestart", $"Restarting pod {restart.Pod}: {restart.Reason}", time, cancellationToken).ConfigureAwait(false);
                    await kube.DeletePodAsync(key.Namespace, restart.Pod, pod.Metadata.Uid, cancellationToken).ConfigureAwait(false);
                    rollWait = $"restarted {restart.Pod} ({restart.Reason})";
                    break;
                case RollAction.Wait wait:
                    OperatorLog.RollWaiting(logger, key.ToString(), wait.Reason);
                    rollWait = wait.Reason;
                    break;
            }
        }

        var settled = drainWait is null && rollWait is null && pending.Length == 0 && readyCount == effective && pendingUnregistrations.Count == 0;
        var previous = broker.Status?.Conditions;
        var (readyReason, readyMessage) = settled
            ? ("ClusterReady", $"{readyCount}/{effective} brokers ready")
            : drainWait is not null ? ("Draining", drainWait)
            : pendingUnregistrations.Count > 0 && pending.Length == 0 && rollWait is null
                ? ("Unregistering", $"waiting to unregister removed broker(s) {string.Join(",", pendingUnregistrations.Order())} once their pods are gone")
            : pending.Length > 0 || rollWait is not null ? ("RollingUpdate", rollWait ?? "pods pending restart")
            : ("BrokersNotReady", $"{readyCount}/{effective} brokers ready");
        var status = new BrokerStatus
        {
            ObservedGeneration = generation,
            Replicas = effective,
            ReadyReplicas = readyCount,
            ActiveController = cluster.ActiveController ?? broker.Status?.ActiveController,
            Version = pending.Length == 0 && revisionKnown ? broker.Spec.Version : broker.Status?.Version,
            BootstrapServers = $"{layout.BootstrapServiceName}.{layout.Namespace}.svc:{ClusterLayout.KafkaPort}",
            PendingRestarts = pending.Length > 0 ? pending.Select(p => p.Name).ToList() : null,
            PendingUnregistrations = pendingUnregistrations.Count > 0 ? pendingUnregistrations.Order().ToList() : null,
            UnregisteredBrokers = unregistered.Count > 0 ? unregistered.Order().ToList() : null,
            Conditions = Conditions.Build(previous, generation, time.GetUtcNow(),
                (settled, readyReason, readyMessage),
                (!settled, settled ? "Settled" : readyReason, settled ? "nothing in progress" : readyMessage),
                (false, "NoError", "")),
        };
        await kube.PatchStatusAsync(Broker.Plural, key.Namespace, key.Name, status, cancellationToken).ConfigureAwait(false);
        return settled ? ReconcileResult.After(Idle, "ready") : ReconcileResult.After(Busy, readyMessage);
    }

    private async Task<ReconcileResult> InvalidAsync(Broker broker, string reason, string message, CancellationToken cancellationToken)
    {
        OperatorLog.BrokerInvalid(logger, $"{broker.Metadata.NamespaceProperty}/{broker.Metadata.Name}", message);
        var status = new BrokerStatus
        {
            ObservedGeneration = broker.Metadata.Generation,
            Replicas = broker.Status?.Replicas,
            ReadyReplicas = broker.Status?.ReadyReplicas,
            ActiveController = broker.Status?.ActiveController,
            Version = broker.Status?.Version,
            PendingUnregistrations = broker.Status?.PendingUnregistrations,
            UnregisteredBrokers = broker.Status?.UnregisteredBrokers,
            Conditions = Conditions.Invalid(broker.Status?.Conditions, broker.Metadata.Generation, time.GetUtcNow(), reason, message),
        };
        await kube.PatchStatusAsync(Broker.Plural, broker.Metadata.NamespaceProperty, broker.Metadata.Name, status, cancellationToken).ConfigureAwait(false);
        return ReconcileResult.Done($"invalid: {message}");
    }

    /// <summary>Moves every replica off the pods above spec.replicas; null once none is left there (the StatefulSet may shrink).</summary>
    private async Task<string?> DrainAsync(Broker broker, ClusterLayout layout, int currentReplicas, CancellationToken cancellationToken)
    {
        var removed = Enumerable.Range(broker.Spec.Replicas, currentReplicas - broker.Spec.Replicas).ToHashSet();
        var remaining = Enumerable.Range(0, broker.Spec.Replicas).ToArray();
        await using var admin = admins.Create(Enumerable.Range(0, broker.Spec.Replicas).Select(layout.KafkaAddress).ToArray());
        var topics = await admin.DescribeTopicsAsync(null, cancellationToken).ConfigureAwait(false);
        var load = topics.SelectMany(t => t.Partitions).SelectMany(p => p.Replicas).Where(r => !removed.Contains(r))
            .GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        var moving = 0;
        foreach (var topic in topics)
        {
            var current = topic.Partitions.ToDictionary(p => p.Index, p => p.Replicas);
            if (!current.Values.Any(r => r.Any(removed.Contains)))
            {
                continue;
            }

            moving += current.Values.Count(r => r.Any(removed.Contains));
            var ongoing = await admin.OngoingReassignmentsAsync(topic.Name, cancellationToken).ConfigureAwait(false);
            if (ongoing.Count > 0)
            {
                continue;
            }

            var plan = ReplicaAssignments.Drain(current, removed, remaining, load)
                ?? throw new InvalidOperationException($"topic {topic.Name} has more replicas than the {remaining.Length} brokers that would remain");
            var result = await admin.ReassignAsync(topic.Name, plan, cancellationToken).ConfigureAwait(false);
            if (!result.Ok)
            {
                throw new KafkaAdminException($"reassigning {topic.Name} off brokers {string.Join(",", removed)} failed: {result}");
            }

            await kube.RecordEventAsync(Broker.KindName, broker.Metadata, "Normal", "Draining",
                $"Moving {plan.Count} partition(s) of {topic.Name} off broker(s) {string.Join(",", removed.Order())}", time, cancellationToken).ConfigureAwait(false);
        }

        return moving == 0 ? null : $"moving {moving} partition(s) off broker(s) {string.Join(",", removed.Order())} before the StatefulSet shrinks";
    }

    /// <summary>
    /// UnregisterBroker for each removed node whose pod is gone; done ones move from <paramref name="pending"/> to
    /// <paramref name="done"/>. BROKER_ID_NOT_REGISTERED counts as done (an earlier attempt, or another operator replica, did it).
    /// </summary>
    private async Task UnregisterAsync(Broker broker, ClusterLayout layout, int replicas, IList<V1Pod> pods, HashSet<int> pending, HashSet<int> done,
        CancellationToken cancellationToken)
    {
        var key = $"{broker.Metadata.NamespaceProperty}/{broker.Metadata.Name}";
        var podNames = pods.Select(p => p.Metadata.Name).ToHashSet();
        try
        {
            await using var admin = admins.Create(Enumerable.Range(0, replicas).Select(layout.KafkaAddress).ToArray());
            foreach (var id in pending.Order().ToArray())
            {
                if (podNames.Contains(layout.PodName(id)))
                {
                    continue;
                }

                var result = await admin.UnregisterBrokerAsync(id, cancellationToken).ConfigureAwait(false);
                OperatorLog.BrokerUnregistered(logger, key, id, result.ToString());
                if (!result.Ok && result.Error != ErrorCode.BrokerIdNotRegistered)
                {
                    continue;
                }

                pending.Remove(id);
                done.Add(id);
                await kube.RecordEventAsync(Broker.KindName, broker.Metadata, "Normal", "BrokerUnregistered",
                    $"Unregistered removed broker {id} from the cluster metadata ({result})", time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (KafkaAdminException e)
        {
            OperatorLog.ClusterStateUnavailable(logger, key, $"unregistering removed brokers: {e.Message}");
        }
    }

    private async Task<ClusterState> ClusterStateAsync(ObjectKey key, ClusterLayout layout, int replicas, bool anyReady, BrokerSpec spec, CancellationToken cancellationToken)
    {
        if (!anyReady)
        {
            return new ClusterState(null, null);
        }

        try
        {
            await using var admin = admins.Create(Enumerable.Range(0, replicas).Select(layout.KafkaAddress).ToArray());
            var topics = await admin.DescribeTopicsAsync(null, cancellationToken).ConfigureAwait(false);
            var configs = await admin.DescribeTopicConfigsAsync(topics.Select(t => t.Name).ToArray(), cancellationToken).ConfigureAwait(false);
            var defaultMinIsr = int.Parse(BrokerProperties.Common(layout, spec, "", 1)["min.insync.replicas"], CultureInfo.InvariantCulture);
            var partitions = topics.SelectMany(t => t.Partitions.Select(p => new PartitionState(t.Name, p.Index, p.Replicas, p.Isr,
                    configs.TryGetValue(t.Name, out var c) && c.TryGetValue("min.insync.replicas", out var m) && int.TryParse(m.Value, CultureInfo.InvariantCulture, out var v) ? v : defaultMinIsr)))
                .ToArray();
            int? controller = null;
            try
            {
                controller = await admin.ActiveControllerAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaAdminException e)
            {
                OperatorLog.ClusterStateUnavailable(logger, key.ToString(), e.Message);
            }

            return new ClusterState(controller, partitions);
        }
        catch (KafkaAdminException e)
        {
            OperatorLog.ClusterStateUnavailable(logger, key.ToString(), e.Message);
            return new ClusterState(null, null);
        }
    }

    private static List<PodState> PodStates(ClusterLayout layout, int replicas, V1StatefulSet? statefulSet, IList<V1Pod> pods)
    {
        var updateRevision = statefulSet?.Status?.UpdateRevision;
        var result = new List<PodState>();
        for (var ordinal = 0; ordinal < replicas; ordinal++)
        {
            var name = layout.PodName(ordinal);
            var pod = pods.FirstOrDefault(p => p.Metadata.Name == name);
            if (pod is null)
            {
                result.Add(new PodState(name, ordinal, Exists: false, Terminating: false, Ready: false, UpToDate: true));
                continue;
            }

            var ready = pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
            var revision = pod.Metadata.Labels?.TryGetValue("controller-revision-hash", out var r) == true ? r : null;
            result.Add(new PodState(name, ordinal, Exists: true, Terminating: pod.Metadata.DeletionTimestamp is not null, ready,
                UpToDate: updateRevision is null || revision == updateRevision));
        }

        return result;
    }

    private static int? VotersOf(V1StatefulSet? statefulSet) =>
        statefulSet?.Metadata.Annotations?.TryGetValue(BrokerManifests.VotersAnnotation, out var text) == true
        && int.TryParse(text, CultureInfo.InvariantCulture, out var voters) && voters > 0
            ? voters
            : null;

    private static Broker WithReplicas(Broker broker, int replicas) => new()
    {
        ApiVersion = broker.ApiVersion,
        Kind = broker.Kind,
        Metadata = broker.Metadata,
        Spec = new BrokerSpec
        {
            Replicas = replicas,
            Version = broker.Spec.Version,
            Image = broker.Spec.Image,
            ImagePullPolicy = broker.Spec.ImagePullPolicy,
            Storage = broker.Spec.Storage,
            Config = broker.Spec.Config,
            Resources = broker.Spec.Resources,
            Rack = broker.Spec.Rack,
            TopicDeletionPolicy = broker.Spec.TopicDeletionPolicy,
        },
        Status = broker.Status,
    };
}
