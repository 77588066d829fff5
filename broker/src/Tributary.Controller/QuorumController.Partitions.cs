using Microsoft.Extensions.Logging;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller;

/// <summary>Partition state changes: leader election, ISR changes (AlterPartition), ElectLeaders and reassignments.</summary>
public sealed partial class QuorumController
{
    private const string UncleanElectionKey = "unclean.leader.election.enable";

    private async Task<ControllerReply> AlterPartitionAsync(AlterPartitionCommand command)
    {
        var image = _state.Current;
        if (!image.Brokers.TryGetValue(command.BrokerId, out var sender) || sender.Epoch != command.BrokerEpoch)
        {
            return new AlterPartitionReply(ErrorCode.StaleBrokerEpoch, -1, -1, -1, [],
                $"Broker {command.BrokerId} epoch {command.BrokerEpoch} is not its current registration.");
        }

        if (!image.TopicsById.TryGetValue(command.TopicId, out var topic))
        {
            return new AlterPartitionReply(ErrorCode.UnknownTopicId, -1, -1, -1, [], $"Unknown topic id {command.TopicId}.");
        }

        if (command.Partition < 0 || command.Partition >= topic.Partitions.Length)
        {
            return new AlterPartitionReply(ErrorCode.UnknownTopicOrPartition, -1, -1, -1, [],
                $"Topic {topic.Name} has no partition {command.Partition}.");
        }

        var partition = topic.Partitions[command.Partition];
        var error = ValidateAlterPartition(image, partition, command);
        if (error is { } failure)
        {
            return StateReply(partition, failure.Error, failure.Message);
        }

        var brokers = new BrokerView(image);
        var plan = new PartitionPlan(topic.Id, partition) { Isr = command.NewIsr.Distinct().ToList() };
        // KIP-455: the leader's ISR expansion is what completes a reassignment.
        var completed = TryCompleteReassignment(plan, brokers, AllowsUnclean(topic));
        if (plan.ToRecord() is not { } change)
        {
            return StateReply(partition, ErrorCode.None, null);
        }

        var (writeError, offset) = await WriteAsync([change]).ConfigureAwait(false);
        if (writeError != ErrorCode.None)
        {
            return StateReply(partition, writeError, "Leadership of the metadata quorum moved; retry.");
        }

        LogIsrChanged(_logger, topic.Name, partition.Partition, string.Join(",", partition.Isr), string.Join(",", plan.Isr), command.BrokerId);
        if (completed)
        {
            LogReassignmentCompleted(_logger, topic.Name, partition.Partition, string.Join(",", plan.Replicas));
        }

        var after = _state.Current.TopicsById.TryGetValue(topic.Id, out var updated) && command.Partition < updated.Partitions.Length
            ? updated.Partitions[command.Partition]
            : partition;
        return StateReply(after, ErrorCode.None, null) with { Offset = offset };
    }

    private static (ErrorCode Error, string Message)? ValidateAlterPartition(MetadataImage image, PartitionImage partition, AlterPartitionCommand command)
    {
        if (partition.Leader != command.BrokerId)
        {
            return (ErrorCode.NotLeaderOrFollower, $"Broker {command.BrokerId} is not the leader of partition {partition.Partition} (leader is {partition.Leader}).");
        }

        if (partition.LeaderEpoch != command.LeaderEpoch)
        {
            return (ErrorCode.FencedLeaderEpoch, $"Leader epoch {command.LeaderEpoch} does not match the current {partition.LeaderEpoch}.");
        }

        if (partition.PartitionEpoch != command.PartitionEpoch)
        {
            return (ErrorCode.InvalidUpdateVersion, $"Partition epoch {command.PartitionEpoch} does not match the current {partition.PartitionEpoch}.");
        }

        if (command.NewIsr.Count == 0 || command.NewIsr.Distinct().Count() != command.NewIsr.Count)
        {
            return (ErrorCode.InvalidRequest, "The new ISR must be non-empty and without duplicates.");
        }

        var outsider = command.NewIsr.FirstOrDefault(b => !partition.Replicas.Contains(b), -1);
        if (outsider != -1 || command.NewIsr.Contains(-1))
        {
            return (ErrorCode.InvalidRequest, $"The new ISR contains broker {outsider}, which is not a replica of the partition.");
        }

        if (!command.NewIsr.Contains(partition.Leader))
        {
            return (ErrorCode.InvalidRequest, "The new ISR does not contain the leader.");
        }

        // Only replicas that may lead can join: a fenced or shutting-down broker must not become electable.
        var ineligible = command.NewIsr.Where(b => !partition.Isr.Contains(b) && !image.IsActiveBroker(b)).ToList();
        if (ineligible.Count > 0)
        {
            return (ErrorCode.IneligibleReplica, $"Replicas {string.Join(",", ineligible)} are fenced or shutting down and cannot join the ISR.");
        }

        return null;
    }

    private static AlterPartitionReply StateReply(PartitionImage partition, ErrorCode error, string? message) =>
        new(error, partition.Leader, partition.LeaderEpoch, partition.PartitionEpoch, partition.Isr.ToArray(), message);

    private async Task<ControllerReply> ElectLeadersAsync(ElectLeadersCommand command)
    {
        var image = _state.Current;
        var brokers = new BrokerView(image);
        var outcomes = new List<PartitionOutcome>();
        var records = new List<MetadataRecord>();
        var everyPartition = command.Partitions is null;
        var requested = command.Partitions
            ?? image.Topics.Values.SelectMany(t => t.Partitions.Select(p => new TopicPartitionRef(t.Name, p.Partition))).ToList();
        foreach (var target in requested.Distinct())
        {
            if (!image.Topics.TryGetValue(target.Topic, out var topic) || target.Partition < 0 || target.Partition >= topic.Partitions.Length)
            {
                outcomes.Add(new(target.Topic, target.Partition, ErrorCode.UnknownTopicOrPartition, "This server does not host this topic-partition."));
                continue;
            }

            var plan = new PartitionPlan(topic.Id, topic.Partitions[target.Partition]);
            var (error, message) = command.Type == ElectionType.Preferred ? ElectPreferred(plan, brokers) : ElectUnclean(plan, brokers);
            if (error == ErrorCode.ElectionNotNeeded && everyPartition)
            {
                continue; // as Kafka: "all partitions" reports only those where an election was needed
            }

            outcomes.Add(new(target.Topic, target.Partition, error, message));
            if (error == ErrorCode.None && plan.ToRecord() is { } change)
            {
                records.Add(change);
                LogLeaderElected(_logger, LogLevel.Information, topic.Name, target.Partition, plan.Leader, command.Type.ToString());
            }
        }

        if (records.Count == 0)
        {
            return new PartitionOutcomesReply(ErrorCode.None, outcomes);
        }

        var (writeError, offset) = await WriteAsync(records).ConfigureAwait(false);
        return writeError != ErrorCode.None
            ? new PartitionOutcomesReply(writeError, [], "Leadership of the metadata quorum moved; retry.")
            : new PartitionOutcomesReply(ErrorCode.None, outcomes, Offset: offset);
    }

    private static (ErrorCode, string?) ElectPreferred(PartitionPlan plan, BrokerView brokers)
    {
        var preferred = plan.Replicas[0];
        if (plan.Leader == preferred)
        {
            return (ErrorCode.ElectionNotNeeded, "Leader is already the preferred replica.");
        }

        if (!brokers.IsActive(preferred) || !plan.Isr.Contains(preferred))
        {
            return (ErrorCode.PreferredLeaderNotAvailable,
                $"Failed to elect leader for partition {plan.Partition} under strategy PreferredElectionStrategy: preferred replica {preferred} is not an active in-sync replica.");
        }

        plan.Leader = preferred;
        return (ErrorCode.None, null);
    }

    private static (ErrorCode, string?) ElectUnclean(PartitionPlan plan, BrokerView brokers)
    {
        if (plan.Leader >= 0)
        {
            return (ErrorCode.ElectionNotNeeded, "The partition has a leader.");
        }

        ElectLeader(plan, brokers, allowUnclean: true);
        return plan.Leader >= 0
            ? (ErrorCode.None, null)
            : (ErrorCode.EligibleLeadersNotAvailable,
                $"Failed to elect leader for partition {plan.Partition} under strategy UncleanElectionStrategy: no replica is active.");
    }

    private async Task<ControllerReply> AlterReassignmentsAsync(AlterReassignmentsCommand command)
    {
        if (RefuseIfTooManyRecords(command.Targets.Count, "reassigning partitions:") is { } tooMany)
        {
            return ErrorReply(command, tooMany.Error, tooMany.Message);
        }

        var image = _state.Current;
        var brokers = new BrokerView(image);
        var outcomes = new List<PartitionOutcome>();
        var plans = new Dictionary<(Uuid, int), PartitionPlan>();
        foreach (var target in command.Targets)
        {
            if (!image.Topics.TryGetValue(target.Topic, out var topic) || target.Partition < 0 || target.Partition >= topic.Partitions.Length)
            {
                outcomes.Add(new(target.Topic, target.Partition, ErrorCode.UnknownTopicOrPartition, "This server does not host this topic-partition."));
                continue;
            }

            var key = (topic.Id, target.Partition);
            var plan = plans.GetValueOrDefault(key) ?? new PartitionPlan(topic.Id, topic.Partitions[target.Partition]);
            var (error, message) = target.Replicas is null
                ? CancelReassignment(plan, brokers, AllowsUnclean(topic))
                : StartReassignment(plan, image, target.Replicas, brokers, AllowsUnclean(topic));
            outcomes.Add(new(target.Topic, target.Partition, error, message));
            if (error == ErrorCode.None)
            {
                plans[key] = plan;
                LogReassignment(_logger, topic.Name, target.Partition, target.Replicas is null ? "cancelled" : "started",
                    string.Join(",", plan.Replicas));
            }
        }

        var records = plans.Values.Select(p => p.ToRecord()).OfType<MetadataRecord>().ToList();
        if (records.Count == 0)
        {
            return new PartitionOutcomesReply(ErrorCode.None, outcomes);
        }

        var (writeError, offset) = await WriteAsync(records).ConfigureAwait(false);
        return writeError != ErrorCode.None
            ? new PartitionOutcomesReply(writeError, [], "Leadership of the metadata quorum moved; retry.")
            : new PartitionOutcomesReply(ErrorCode.None, outcomes, Offset: offset);
    }

    /// <summary>KIP-455: replicas become target + (original − target); the leader stays until the reassignment completes.</summary>
    private static (ErrorCode, string?) StartReassignment(PartitionPlan plan, MetadataImage image, IReadOnlyList<int> target,
        BrokerView brokers, bool allowUnclean)
    {
        if (target.Count == 0)
        {
            return (ErrorCode.InvalidReplicaAssignment, "The target replica list is empty.");
        }

        if (target.Distinct().Count() != target.Count)
        {
            return (ErrorCode.InvalidReplicaAssignment, $"Duplicate brokers in the target replicas: {string.Join(",", target)}.");
        }

        var unknown = target.Where(b => !image.Brokers.ContainsKey(b)).ToList();
        if (unknown.Count > 0)
        {
            return (ErrorCode.InvalidReplicaAssignment, $"The target replicas include brokers {string.Join(",", unknown)}, which are not registered.");
        }

        var original = plan.OriginalReplicas();
        plan.Replicas = target.Concat(original.Where(b => !target.Contains(b))).ToList();
        plan.Adding = target.Where(b => !original.Contains(b)).ToList();
        plan.Removing = original.Where(b => !target.Contains(b)).ToList();
        // A replaced reassignment may leave earlier additions in the ISR that are no longer replicas.
        var isr = plan.Isr.Where(plan.Replicas.Contains).ToList();
        plan.Isr = isr.Count > 0 ? isr : [plan.Replicas[0]];
        if (!plan.Replicas.Contains(plan.Leader))
        {
            plan.Leader = -1;
            ElectLeader(plan, brokers, allowUnclean);
        }

        TryCompleteReassignment(plan, brokers, allowUnclean);
        return (ErrorCode.None, null);
    }

    private static (ErrorCode, string?) CancelReassignment(PartitionPlan plan, BrokerView brokers, bool allowUnclean)
    {
        if (!plan.IsReassigning)
        {
            return (ErrorCode.NoReassignmentInProgress, $"No reassignment is in progress for partition {plan.Partition}.");
        }

        var original = plan.OriginalReplicas();
        plan.Replicas = original;
        var isr = plan.Isr.Where(original.Contains).ToList();
        // Every in-sync replica was one being added: keep the first original one (Kafka's revert does the same).
        plan.Isr = isr.Count > 0 ? isr : [original[0]];
        plan.Adding = [];
        plan.Removing = [];
        if (!plan.Isr.Contains(plan.Leader))
        {
            plan.Leader = -1;
        }

        ElectLeader(plan, brokers, allowUnclean);
        return (ErrorCode.None, null);
    }

    /// <summary>Completes a reassignment whose target replicas are all in sync: drop the removed replicas and re-elect if
    /// the leader was one of them.</summary>
    private static bool TryCompleteReassignment(PartitionPlan plan, BrokerView brokers, bool allowUnclean)
    {
        if (!plan.IsReassigning)
        {
            return false;
        }

        var target = plan.Replicas.Where(b => !plan.Removing.Contains(b)).ToList();
        if (!target.All(plan.Isr.Contains))
        {
            return false;
        }

        plan.Replicas = target;
        plan.Isr = plan.Isr.Where(target.Contains).ToList();
        plan.Adding = [];
        plan.Removing = [];
        if (!target.Contains(plan.Leader))
        {
            plan.Leader = -1;
        }

        ElectLeader(plan, brokers, allowUnclean);
        return true;
    }

    /// <summary>
    /// The election rule everywhere: keep an active in-sync leader; else the first replica (in replica order) that is in
    /// the ISR and active; else, only when unclean election is allowed, the first active replica with ISR = [it] (it may
    /// lack acknowledged records); else no leader, ISR kept so that only an in-sync replica can lead again.
    /// </summary>
    private static void ElectLeader(PartitionPlan plan, BrokerView brokers, bool allowUnclean)
    {
        if (plan.Leader >= 0 && brokers.IsActive(plan.Leader) && plan.Isr.Contains(plan.Leader))
        {
            return;
        }

        var clean = plan.Replicas.FirstOrDefault(b => plan.Isr.Contains(b) && brokers.IsActive(b), -1);
        if (clean >= 0)
        {
            plan.Leader = clean;
            return;
        }

        var unclean = allowUnclean ? plan.Replicas.FirstOrDefault(brokers.IsActive, -1) : -1;
        if (unclean >= 0)
        {
            plan.Leader = unclean;
            plan.Isr = [unclean];
            plan.Unclean = true;
            return;
        }

        plan.Leader = -1;
    }

    /// <summary>Takes <paramref name="leaving"/> (already inactive in <paramref name="brokers"/>) out of the partition:
    /// out of the ISR unless that would empty it, and out of leadership.</summary>
    private static void RemoveFromPartition(PartitionPlan plan, IReadOnlySet<int> leaving, BrokerView brokers, bool allowUnclean)
    {
        var remaining = plan.Isr.Where(b => !leaving.Contains(b)).ToList();
        if (remaining.Count > 0)
        {
            plan.Isr = remaining;
        }

        ElectLeader(plan, brokers, allowUnclean);
    }

    /// <summary>Records that take <paramref name="leaving"/> out of every partition they lead or are in sync for.</summary>
    private List<MetadataRecord> MoveAwayFrom(MetadataImage image, IReadOnlySet<int> leaving, BrokerView brokers)
    {
        var records = new List<MetadataRecord>();
        var changes = new PartitionChangeLog(_logger, "Moving away from brokers " + string.Join(",", leaving));
        foreach (var topic in image.Topics.Values)
        {
            var allowUnclean = AllowsUnclean(topic);
            foreach (var partition in topic.Partitions)
            {
                if (!leaving.Contains(partition.Leader) && !partition.Isr.Any(leaving.Contains))
                {
                    continue;
                }

                var plan = new PartitionPlan(topic.Id, partition);
                RemoveFromPartition(plan, leaving, brokers, allowUnclean);
                if (plan.ToRecord() is { } change)
                {
                    records.Add(change);
                    LogPartitionMoved(_logger, changes.NextLevel(), topic.Name, partition.Partition, partition.Leader, plan.Leader, string.Join(",", plan.Isr));
                    if (plan.Unclean)
                    {
                        LogUncleanElection(_logger, topic.Name, partition.Partition, plan.Leader);
                    }
                }
            }
        }

        changes.Summarize();
        return records;
    }

    /// <summary>Records that give offline partitions a leader where one is eligible now.</summary>
    private List<MetadataRecord> ElectOffline(MetadataImage image, BrokerView brokers, Func<PartitionImage, bool> filter)
    {
        var records = new List<MetadataRecord>();
        var changes = new PartitionChangeLog(_logger, "Offline elections");
        foreach (var topic in image.Topics.Values)
        {
            foreach (var partition in topic.Partitions)
            {
                if (!partition.IsOffline || !filter(partition))
                {
                    continue;
                }

                var plan = new PartitionPlan(topic.Id, partition);
                ElectLeader(plan, brokers, AllowsUnclean(topic));
                if (plan.Leader >= 0 && plan.ToRecord() is { } change)
                {
                    records.Add(change);
                    LogLeaderElected(_logger, changes.NextLevel(), topic.Name, partition.Partition, plan.Leader, plan.Unclean ? "unclean" : "offline");
                    if (plan.Unclean)
                    {
                        LogUncleanElection(_logger, topic.Name, partition.Partition, plan.Leader);
                    }
                }
            }
        }

        changes.Summarize();
        return records;
    }

    /// <summary>The topic's override, else the cluster-wide dynamic default (KIP-226), else the controller's static config.</summary>
    private bool AllowsUnclean(TopicImage topic) =>
        topic.Configs.TryGetValue(UncleanElectionKey, out var value) && bool.TryParse(value, out var enabled)
            ? enabled
            : _state.Current.BrokerConfigsOf("").TryGetValue(UncleanElectionKey, out var clusterValue) && bool.TryParse(clusterValue, out var clusterEnabled)
                ? clusterEnabled
                : _options.UncleanLeaderElectionEnable;

    /// <summary>Which brokers may lead and join ISRs, as seen by a decision that is about to change some of them.</summary>
    private sealed class BrokerView(MetadataImage image)
    {
        private readonly Dictionary<int, bool> _overrides = [];

        public bool IsActive(int brokerId) =>
            _overrides.TryGetValue(brokerId, out var active) ? active : image.IsActiveBroker(brokerId);

        public BrokerView With(int brokerId, bool active)
        {
            _overrides[brokerId] = active;
            return this;
        }
    }

    /// <summary>A partition's next state, built up by a decision and written as one PartitionChangeRecord (or none).</summary>
    private sealed class PartitionPlan(Uuid topicId, PartitionImage original)
    {
        public int Partition => original.Partition;
        public int Leader { get; set; } = original.Leader;
        public List<int> Isr { get; set; } = original.Isr.ToList();
        public List<int> Replicas { get; set; } = original.Replicas.ToList();
        public List<int> Adding { get; set; } = original.AddingReplicas.ToList();
        public List<int> Removing { get; set; } = original.RemovingReplicas.ToList();

        /// <summary>The leader was elected from outside the ISR.</summary>
        public bool Unclean { get; set; }

        public bool IsReassigning => Adding.Count > 0 || Removing.Count > 0;

        /// <summary>The replicas before the current reassignment (all of them when none is in progress).</summary>
        public List<int> OriginalReplicas() => Replicas.Where(b => !Adding.Contains(b)).ToList();

        /// <summary>Only what changed; null when nothing did (the applier bumps epochs for every record).</summary>
        public PartitionChangeRecord? ToRecord()
        {
            var leaderChanged = Leader != original.Leader;
            var isrChanged = !Isr.SequenceEqual(original.Isr);
            var replicasChanged = !Replicas.SequenceEqual(original.Replicas);
            var reassignmentChanged = !Adding.SequenceEqual(original.AddingReplicas) || !Removing.SequenceEqual(original.RemovingReplicas);
            if (!leaderChanged && !isrChanged && !replicasChanged && !reassignmentChanged)
            {
                return null;
            }

            return new PartitionChangeRecord(topicId, original.Partition,
                leaderChanged ? Leader : PartitionChangeRecord.LeaderNoChange,
                isrChanged ? Isr.ToArray() : null,
                replicasChanged ? Replicas.ToArray() : null,
                reassignmentChanged ? Adding.ToArray() : null,
                reassignmentChanged ? Removing.ToArray() : null);
        }
    }

    [LoggerMessage(EventId = 1270, EventName = "ControllerIsrChanged", Level = LogLevel.Information, Message = "Partition {Topic}-{Partition} ISR [{Before}] -> [{After}] at the request of leader {BrokerId}")]
    private static partial void LogIsrChanged(ILogger logger, string topic, int partition, string before, string after, int brokerId);

    [LoggerMessage(EventId = 1271, EventName = "ControllerLeaderElected", Message = "Partition {Topic}-{Partition} leader is now {Leader} ({Reason} election)")]
    private static partial void LogLeaderElected(ILogger logger, LogLevel level, string topic, int partition, int leader, string reason);

    [LoggerMessage(EventId = 1272, EventName = "ControllerUncleanElection", Level = LogLevel.Warning, Message = "Partition {Topic}-{Partition}: out-of-sync replica {Leader} elected leader; acknowledged records may be lost")]
    private static partial void LogUncleanElection(ILogger logger, string topic, int partition, int leader);

    [LoggerMessage(EventId = 1273, EventName = "ControllerPartitionMoved", Message = "Partition {Topic}-{Partition} leader {Before} -> {After}, ISR [{Isr}]")]
    private static partial void LogPartitionMoved(ILogger logger, LogLevel level, string topic, int partition, int before, int after, string isr);

    [LoggerMessage(EventId = 1276, EventName = "ControllerMorePartitionChanges", Level = LogLevel.Information, Message = "{What}: {Count} more partition changes like the above (logged at Debug)")]
    private static partial void LogMorePartitionChanges(ILogger logger, string what, int count);

    /// <summary>
    /// Per-partition lines of one controller decision: the first <see cref="InformationLines"/> at Information, the rest at Debug
    /// with one summary line, so moving 10,000 leaderships does not write 10,000 lines while a broker waits on this controller.
    /// </summary>
    private sealed class PartitionChangeLog(ILogger logger, string what)
    {
        private const int InformationLines = 20;
        private int _lines;

        public LogLevel NextLevel() => _lines++ < InformationLines ? LogLevel.Information : LogLevel.Debug;

        public void Summarize()
        {
            if (_lines > InformationLines)
            {
                LogMorePartitionChanges(logger, what, _lines - InformationLines);
            }
        }
    }

    [LoggerMessage(EventId = 1274, EventName = "ControllerReassignment", Level = LogLevel.Information, Message = "Reassignment of {Topic}-{Partition} {Action}; replicas [{Replicas}]")]
    private static partial void LogReassignment(ILogger logger, string topic, int partition, string action, string replicas);

    [LoggerMessage(EventId = 1275, EventName = "ControllerReassignmentCompleted", Level = LogLevel.Information, Message = "Reassignment of {Topic}-{Partition} completed; replicas [{Replicas}]")]
    private static partial void LogReassignmentCompleted(ILogger logger, string topic, int partition, string replicas);
}
