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
/// Topic → a Kafka topic on the Broker named by its tributary.dev/cluster label, through the admin protocol: created,
/// partitions raised (never lowered: refused with a condition), configs set and drift corrected, replication factor
/// changed through a partition reassignment followed in status until done. Deletion goes through a finalizer and only
/// deletes the Kafka topic when the Topic or its Broker allows it. Kafka topics without a Topic resource are never
/// touched (the operator lists no topics to delete and adopts none).
/// </summary>
public sealed class TopicReconciler(KubeApi kube, IClusterAdminFactory admins, ILogger<TopicReconciler> logger, TimeProvider time)
{
    /// <summary>How often a settled topic is compared with Kafka again, so changes made behind the operator's back are undone
    /// (Strimzi's topic operator does a full pass every 2 minutes).</summary>
    public static readonly TimeSpan DriftCheck = TimeSpan.FromSeconds(60);

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var topic = await kube.GetAsync<Topic>(Topic.Plural, key.Namespace, key.Name, cancellationToken).ConfigureAwait(false);
        if (topic is null)
        {
            return ReconcileResult.Done("gone");
        }

        var clusterName = topic.Metadata.Labels?.TryGetValue(TributaryApi.ClusterLabel, out var c) == true ? c : null;
        var broker = string.IsNullOrEmpty(clusterName) ? null
            : await kube.GetAsync<Broker>(Broker.Plural, key.Namespace, clusterName, cancellationToken).ConfigureAwait(false);

        if (topic.Metadata.DeletionTimestamp is not null)
        {
            return await FinalizeAsync(key, topic, broker, cancellationToken).ConfigureAwait(false);
        }

        var errors = SpecValidator.Validate(topic.Spec);
        if (errors.Count > 0)
        {
            return await InvalidAsync(key, topic, "InvalidSpec", string.Join("; ", errors), cancellationToken).ConfigureAwait(false);
        }

        if (broker is null)
        {
            var message = string.IsNullOrEmpty(clusterName)
                ? $"the Topic has no {TributaryApi.ClusterLabel} label naming its Broker"
                : $"no Broker '{clusterName}' in namespace {key.Namespace} (label {TributaryApi.ClusterLabel})";
            return await InvalidAsync(key, topic, "UnknownCluster", message, cancellationToken).ConfigureAwait(false);
        }

        if (topic.Spec.Replicas > broker.Spec.Replicas)
        {
            return await InvalidAsync(key, topic, "NotEnoughBrokers",
                $"spec.replicas {topic.Spec.Replicas} exceeds the {broker.Spec.Replicas} brokers of {broker.Metadata.Name}", cancellationToken).ConfigureAwait(false);
        }

        if (Conditions.Find(broker.Status?.Conditions, Condition.Ready) is not { Status: "True" } && broker.Status?.ReadyReplicas is not > 0)
        {
            // A cluster still starting: say so and look again soon, rather than failing admin calls into a long back-off.
            var waiting = $"waiting for Broker {broker.Metadata.Name} to have a ready broker";
            await kube.PatchStatusAsync(Topic.Plural, key.Namespace, key.Name, new TopicStatus
            {
                ObservedGeneration = topic.Status?.ObservedGeneration,
                TopicName = topic.Status?.TopicName,
                TopicId = topic.Status?.TopicId,
                Partitions = topic.Status?.Partitions,
                Replicas = topic.Status?.Replicas,
                Conditions = Conditions.Build(topic.Status?.Conditions, topic.Metadata.Generation, time.GetUtcNow(),
                    (false, "ClusterNotReady", waiting), (true, "ClusterNotReady", waiting), (false, "NoError", "")),
            }, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.After(TimeSpan.FromSeconds(5), waiting);
        }

        if (!(topic.Metadata.Finalizers?.Contains(TributaryApi.TopicFinalizer) ?? false))
        {
            var finalizers = (topic.Metadata.Finalizers ?? []).Append(TributaryApi.TopicFinalizer).ToList();
            await kube.SetFinalizersAsync(Topic.Plural, key.Namespace, key.Name, finalizers, topic.Metadata.ResourceVersion, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.After(TimeSpan.Zero, "finalizer added");
        }

        var layout = ClusterLayout.For(broker);
        await using var admin = admins.Create(Enumerable.Range(0, broker.Spec.Replicas).Select(layout.KafkaAddress).ToArray());
        var name = topic.TopicName;
        var existing = (await admin.DescribeTopicsAsync([name], cancellationToken).ConfigureAwait(false)).FirstOrDefault(t => t.Name == name);
        if (existing is null)
        {
            var created = await admin.CreateTopicAsync(name, topic.Spec.Partitions, (short)topic.Spec.Replicas, topic.Spec.Config, cancellationToken).ConfigureAwait(false);
            if (!created.Ok && created.Error != ErrorCode.TopicAlreadyExists)
            {
                return await KafkaRefusedAsync(key, topic, "CreateFailed", $"creating topic {name} failed: {created}", cancellationToken).ConfigureAwait(false);
            }

            OperatorLog.TopicChanged(logger, key.ToString(), $"created {name} ({topic.Spec.Partitions} partitions, RF {topic.Spec.Replicas})");
            return ReconcileResult.After(TimeSpan.FromSeconds(1), "created");
        }

        var busy = false;
        string? refusal = null;

        // Partitions: Kafka can only add.
        if (topic.Spec.Partitions < existing.Partitions.Count)
        {
            refusal = $"spec.partitions {topic.Spec.Partitions} is below the topic's {existing.Partitions.Count}: Kafka cannot remove partitions";
        }
        else if (topic.Spec.Partitions > existing.Partitions.Count)
        {
            var grown = await admin.CreatePartitionsAsync(name, topic.Spec.Partitions, cancellationToken).ConfigureAwait(false);
            if (!grown.Ok)
            {
                return await KafkaRefusedAsync(key, topic, "CreatePartitionsFailed", $"raising partitions of {name} failed: {grown}", cancellationToken).ConfigureAwait(false);
            }

            OperatorLog.TopicChanged(logger, key.ToString(), $"partitions {existing.Partitions.Count} -> {topic.Spec.Partitions}");
            busy = true;
        }

        // Configs: what the spec names is set (and set back after drift); overrides the spec does not name are removed.
        var configs = await admin.DescribeTopicConfigsAsync([name], cancellationToken).ConfigureAwait(false);
        var actual = configs.TryGetValue(name, out var a) ? a : new Dictionary<string, TopicConfigEntry>();
        var set = topic.Spec.Config
            .Where(kv => !actual.TryGetValue(kv.Key, out var entry) || !entry.IsTopicOverride || entry.Value != kv.Value)
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        var delete = actual.Where(kv => kv.Value.IsTopicOverride && !topic.Spec.Config.ContainsKey(kv.Key)).Select(kv => kv.Key).ToArray();
        if (set.Count > 0 || delete.Length > 0)
        {
            var altered = await admin.AlterTopicConfigsAsync(name, set, delete, cancellationToken).ConfigureAwait(false);
            if (!altered.Ok)
            {
                return await KafkaRefusedAsync(key, topic, "ConfigRejected", $"setting configs of {name} failed: {altered}", cancellationToken).ConfigureAwait(false);
            }

            OperatorLog.TopicChanged(logger, key.ToString(), $"configs set [{string.Join(",", set.Keys)}] removed [{string.Join(",", delete)}]");
            busy = true;
        }

        // Replication factor: a reassignment, followed until Kafka reports none in progress.
        string? reassignment = null;
        var ongoing = await admin.OngoingReassignmentsAsync(name, cancellationToken).ConfigureAwait(false);
        if (ongoing.Count > 0)
        {
            reassignment = $"{ongoing.Count} partition(s) moving: {string.Join(",", ongoing)}";
            busy = true;
        }
        else if (existing.Partitions.Any(p => p.Replicas.Count != topic.Spec.Replicas))
        {
            var brokers = await admin.BrokerIdsAsync(cancellationToken).ConfigureAwait(false);
            var load = existing.Partitions.SelectMany(p => p.Replicas).GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
            var plan = ReplicaAssignments.ChangeReplicationFactor(existing.Partitions.ToDictionary(p => p.Index, p => p.Replicas), topic.Spec.Replicas, brokers, load);
            if (plan is null)
            {
                refusal = $"spec.replicas {topic.Spec.Replicas} exceeds the {brokers.Count} registered brokers";
            }
            else
            {
                var moved = await admin.ReassignAsync(name, plan, cancellationToken).ConfigureAwait(false);
                if (!moved.Ok)
                {
                    return await KafkaRefusedAsync(key, topic, "ReassignmentFailed", $"changing the replication factor of {name} failed: {moved}", cancellationToken).ConfigureAwait(false);
                }

                OperatorLog.TopicChanged(logger, key.ToString(), $"replication factor -> {topic.Spec.Replicas} ({plan.Count} partitions reassigned)");
                reassignment = $"{plan.Count} partition(s) moving to replication factor {topic.Spec.Replicas}";
                busy = true;
            }
        }

        var now = time.GetUtcNow();
        var generation = topic.Metadata.Generation;
        var ready = refusal is null && !busy;
        var status = new TopicStatus
        {
            ObservedGeneration = generation,
            TopicName = name,
            TopicId = existing.TopicId,
            Partitions = Math.Max(existing.Partitions.Count, refusal is null ? topic.Spec.Partitions : 0),
            Replicas = existing.Partitions.Count > 0 ? existing.Partitions.Min(p => p.Replicas.Count) : null,
            Reassignment = reassignment,
            Conditions = refusal is not null
                ? Conditions.Build(topic.Status?.Conditions, generation, now, (false, "PartitionDecreaseRefused", refusal), (false, "Refused", refusal), (true, "PartitionDecreaseRefused", refusal))
                : Conditions.Build(topic.Status?.Conditions, generation, now,
                    (ready, ready ? "TopicReady" : "Changing", ready ? $"{name}: {existing.Partitions.Count} partitions" : reassignment ?? "applying changes"),
                    (!ready, ready ? "Settled" : "Changing", reassignment ?? (ready ? "nothing in progress" : "applying changes")),
                    (false, "NoError", "")),
        };
        if (refusal is not null && refusal.Contains("registered brokers", StringComparison.Ordinal))
        {
            status.Conditions = Conditions.Invalid(topic.Status?.Conditions, generation, now, "NotEnoughBrokers", refusal);
        }

        await kube.PatchStatusAsync(Topic.Plural, key.Namespace, key.Name, status, cancellationToken).ConfigureAwait(false);
        return busy ? ReconcileResult.After(TimeSpan.FromSeconds(2), reassignment ?? "changed") : ReconcileResult.After(DriftCheck, refusal ?? "ready");
    }

    private async Task<ReconcileResult> FinalizeAsync(ObjectKey key, Topic topic, Broker? broker, CancellationToken cancellationToken)
    {
        if (!(topic.Metadata.Finalizers?.Contains(TributaryApi.TopicFinalizer) ?? false))
        {
            return ReconcileResult.Done("deleting (not ours to finalize)");
        }

        if (broker is not null)
        {
            var annotated = topic.Metadata.Annotations?.TryGetValue(TributaryApi.DeletionAllowedAnnotation, out var v) == true
                && string.Equals(v, "true", StringComparison.OrdinalIgnoreCase);
            var policyAllows = broker.Spec.TopicDeletionPolicy == "Allow";
            if (!annotated && !policyAllows)
            {
                var why = $"the Kafka topic {topic.TopicName} is kept: annotate the Topic {TributaryApi.DeletionAllowedAnnotation}=\"true\" " +
                          $"(or set the Broker's spec.topicDeletionPolicy: Allow) to delete it, or remove the finalizer {TributaryApi.TopicFinalizer} to drop the resource and keep the topic";
                OperatorLog.TopicDeletionRefused(logger, key.ToString(), why);
                await kube.PatchStatusAsync(Topic.Plural, key.Namespace, key.Name, new TopicStatus
                {
                    ObservedGeneration = topic.Metadata.Generation,
                    TopicName = topic.Status?.TopicName,
                    TopicId = topic.Status?.TopicId,
                    Partitions = topic.Status?.Partitions,
                    Replicas = topic.Status?.Replicas,
                    Conditions = Conditions.Build(topic.Status?.Conditions, topic.Metadata.Generation, time.GetUtcNow(),
                        (true, "DeletionNotAllowed", why), (false, "DeletionNotAllowed", why), (true, "DeletionNotAllowed", why)),
                }, cancellationToken).ConfigureAwait(false);
                return ReconcileResult.Done("deletion refused");
            }

            var layout = ClusterLayout.For(broker);
            await using var admin = admins.Create(Enumerable.Range(0, broker.Spec.Replicas).Select(layout.KafkaAddress).ToArray());
            var deleted = await admin.DeleteTopicAsync(topic.TopicName, cancellationToken).ConfigureAwait(false);
            if (!deleted.Ok && deleted.Error != ErrorCode.UnknownTopicOrPartition)
            {
                throw new KafkaAdminException($"deleting topic {topic.TopicName} failed: {deleted}");
            }

            OperatorLog.TopicChanged(logger, key.ToString(), $"deleted {topic.TopicName}");
        }

        var remaining = topic.Metadata.Finalizers!.Where(f => f != TributaryApi.TopicFinalizer).ToList();
        await kube.SetFinalizersAsync(Topic.Plural, key.Namespace, key.Name, remaining, topic.Metadata.ResourceVersion, cancellationToken).ConfigureAwait(false);
        return ReconcileResult.Done(broker is null ? "finalized (its Broker is gone)" : "deleted");
    }

    private async Task<ReconcileResult> InvalidAsync(ObjectKey key, Topic topic, string reason, string message, CancellationToken cancellationToken)
    {
        OperatorLog.TopicInvalid(logger, key.ToString(), message);
        await kube.PatchStatusAsync(Topic.Plural, key.Namespace, key.Name, new TopicStatus
        {
            ObservedGeneration = topic.Metadata.Generation,
            TopicName = topic.Status?.TopicName,
            TopicId = topic.Status?.TopicId,
            Partitions = topic.Status?.Partitions,
            Replicas = topic.Status?.Replicas,
            Conditions = Conditions.Invalid(topic.Status?.Conditions, topic.Metadata.Generation, time.GetUtcNow(), reason, message),
        }, cancellationToken).ConfigureAwait(false);
        return ReconcileResult.Done($"invalid: {message}");
    }

    /// <summary>Kafka refused a change (bad config value, policy): an Error condition, retried slowly in case the cause goes away.</summary>
    private async Task<ReconcileResult> KafkaRefusedAsync(ObjectKey key, Topic topic, string reason, string message, CancellationToken cancellationToken)
    {
        await InvalidAsync(key, topic, reason, message, cancellationToken).ConfigureAwait(false);
        return ReconcileResult.After(TimeSpan.FromSeconds(30), message);
    }
}
