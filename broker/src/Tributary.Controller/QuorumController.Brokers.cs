using Microsoft.Extensions.Logging;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller;

/// <summary>Broker lifecycle: registration, heartbeats (sessions, unfencing, controlled shutdown), fencing on session
/// expiry, unregistration, producer-id blocks.</summary>
/// <remarks>
/// Lifecycle as in KRaft (KIP-631): a broker registers fenced; it is unfenced once its heartbeat shows it has applied the
/// metadata up to its registration; it is fenced again when its session expires. Controlled shutdown moves its
/// leaderships away first, then lets it go. Sessions live only in the active controller's memory: a new controller gives
/// every broker a full session.
/// </remarks>
public sealed partial class QuorumController
{
    private async Task<ControllerReply> RegisterBrokerAsync(RegisterBrokerCommand command)
    {
        if (command.BrokerId < 0)
        {
            return new RegisterBrokerReply(ErrorCode.InvalidRequest, -1, $"Invalid broker id {command.BrokerId}.");
        }

        if (command.Endpoints.Count == 0)
        {
            return new RegisterBrokerReply(ErrorCode.InvalidRequest, -1, "A broker must register at least one listener.");
        }

        var image = _state.Current;
        // Epochs only grow: above every epoch in the image and above the image's offset (the next record lands after
        // it), so a stale incarnation — even of a broker that was unregistered and came back — never matches again.
        var epoch = Math.Max(image.Brokers.Values.Select(b => b.Epoch).DefaultIfEmpty(0).Max() + 1, image.Offset + 1);
        var records = new List<MetadataRecord>
        {
            new RegisterBrokerRecord(command.BrokerId, command.IncarnationId, epoch, command.Endpoints, command.Rack, Fenced: true),
        };
        if (image.Brokers.TryGetValue(command.BrokerId, out var previous) && previous.IsActive)
        {
            // The old incarnation is gone (a restart without a controlled shutdown): its partitions must not keep
            // a leader that is no longer serving.
            var leaving = new HashSet<int> { command.BrokerId };
            records.AddRange(MoveAwayFrom(image, leaving, new BrokerView(image).With(command.BrokerId, active: false)));
        }

        var (error, offset) = await WriteAsync(records).ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            return new RegisterBrokerReply(error, -1, "Leadership of the metadata quorum moved; retry.");
        }

        _registrationOffsets[command.BrokerId] = offset;
        _sessionDeadlines[command.BrokerId] = _time.GetUtcNow() + _options.BrokerSessionTimeout;
        _shutdownOffsets.Remove(command.BrokerId);
        LogBrokerRegistered(_logger, command.BrokerId, epoch, command.Rack ?? "", offset);
        return new RegisterBrokerReply(ErrorCode.None, epoch, Offset: offset);
    }

    private async Task<ControllerReply> HeartbeatAsync(BrokerHeartbeatCommand command)
    {
        var image = _state.Current;
        if (!image.Brokers.TryGetValue(command.BrokerId, out var broker) || broker.Epoch != command.BrokerEpoch)
        {
            return new BrokerHeartbeatReply(ErrorCode.StaleBrokerEpoch, false, true, false,
                $"Broker {command.BrokerId} epoch {command.BrokerEpoch} is not its current registration.");
        }

        _sessionDeadlines[command.BrokerId] = _time.GetUtcNow() + _options.BrokerSessionTimeout;
        var caughtUp = command.MetadataOffset >= _registrationOffsets.GetValueOrDefault(command.BrokerId, _activationOffset);
        if (command.WantShutdown)
        {
            return await ControlledShutdownAsync(image, broker, command, caughtUp).ConfigureAwait(false);
        }

        if (broker.Fenced && caughtUp && !command.WantFence)
        {
            return await UnfenceAsync(image, broker, caughtUp).ConfigureAwait(false);
        }

        if (!broker.Fenced && command.WantFence)
        {
            // The broker asks to be fenced (it cannot serve, e.g. its log directories failed).
            var (error, offset) = await FenceAsync(image, [broker], "requested by the broker").ConfigureAwait(false);
            return new BrokerHeartbeatReply(error, caughtUp, IsFenced: error == ErrorCode.None, ShouldShutdown: false, Offset: offset);
        }

        return new BrokerHeartbeatReply(ErrorCode.None, caughtUp, broker.Fenced, ShouldShutdown: false);
    }

    private async Task<ControllerReply> UnfenceAsync(MetadataImage image, BrokerRegistration broker, bool caughtUp)
    {
        var brokers = new BrokerView(image).With(broker.NodeId, active: true);
        var records = new List<MetadataRecord> { new UnfenceBrokerRecord(broker.NodeId, broker.Epoch) };
        // Offline partitions it can lead: those whose ISR it is in (or, where unclean election is on, any it hosts).
        records.AddRange(ElectOffline(image, brokers, p => p.Replicas.Contains(broker.NodeId)));
        var (error, offset) = await WriteAsync(records).ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            return new BrokerHeartbeatReply(error, caughtUp, IsFenced: true, ShouldShutdown: false, "Leadership of the metadata quorum moved; retry.");
        }

        LogBrokerUnfenced(_logger, broker.NodeId, broker.Epoch, records.Count - 1);
        return new BrokerHeartbeatReply(ErrorCode.None, caughtUp, IsFenced: false, ShouldShutdown: false, Offset: offset);
    }

    /// <summary>
    /// First heartbeat with WantShutdown: mark the broker shutting down and move its leaderships and ISR memberships
    /// away in one batch. Later heartbeats: once it leads nothing and has applied that batch (so it has stopped acting
    /// as leader), fence it and tell it to stop.
    /// </summary>
    private async Task<ControllerReply> ControlledShutdownAsync(MetadataImage image, BrokerRegistration broker, BrokerHeartbeatCommand command,
        bool caughtUp)
    {
        if (broker.Fenced)
        {
            return new BrokerHeartbeatReply(ErrorCode.None, caughtUp, IsFenced: true, ShouldShutdown: true);
        }

        var leaving = new HashSet<int> { broker.NodeId };
        if (!broker.InControlledShutdown)
        {
            var records = new List<MetadataRecord> { new BrokerRegistrationChangeRecord(broker.NodeId, broker.Epoch, Fenced: null, InControlledShutdown: true) };
            records.AddRange(MoveAwayFrom(image, leaving, new BrokerView(image).With(broker.NodeId, active: false)));
            var (error, offset) = await WriteAsync(records).ConfigureAwait(false);
            if (error != ErrorCode.None)
            {
                return new BrokerHeartbeatReply(error, caughtUp, IsFenced: false, ShouldShutdown: false, "Leadership of the metadata quorum moved; retry.");
            }

            _shutdownOffsets[broker.NodeId] = offset;
            LogControlledShutdownStarted(_logger, broker.NodeId, records.Count - 1);
            return new BrokerHeartbeatReply(ErrorCode.None, caughtUp, IsFenced: false, ShouldShutdown: false, Offset: offset);
        }

        var leadsSomething = image.Topics.Values.Any(t => t.Partitions.Any(p => p.Leader == broker.NodeId));
        var sawShutdown = command.MetadataOffset >= _shutdownOffsets.GetValueOrDefault(broker.NodeId, _activationOffset);
        if (leadsSomething || !sawShutdown)
        {
            return new BrokerHeartbeatReply(ErrorCode.None, caughtUp, IsFenced: false, ShouldShutdown: false);
        }

        var (fenceError, fenceOffset) = await WriteAsync([new FenceBrokerRecord(broker.NodeId, broker.Epoch)]).ConfigureAwait(false);
        if (fenceError != ErrorCode.None)
        {
            return new BrokerHeartbeatReply(fenceError, caughtUp, IsFenced: false, ShouldShutdown: false, "Leadership of the metadata quorum moved; retry.");
        }

        _shutdownOffsets.Remove(broker.NodeId);
        LogControlledShutdownCompleted(_logger, broker.NodeId);
        return new BrokerHeartbeatReply(ErrorCode.None, caughtUp, IsFenced: true, ShouldShutdown: true, Offset: fenceOffset);
    }

    /// <summary>Fences <paramref name="fenced"/> and moves their leaderships and ISR memberships away, in one batch.</summary>
    private async Task<(ErrorCode Error, long Offset)> FenceAsync(MetadataImage image, IReadOnlyList<BrokerRegistration> fenced, string reason)
    {
        var brokers = new BrokerView(image);
        var leaving = new HashSet<int>();
        var records = new List<MetadataRecord>();
        foreach (var broker in fenced)
        {
            brokers.With(broker.NodeId, active: false);
            leaving.Add(broker.NodeId);
            records.Add(new FenceBrokerRecord(broker.NodeId, broker.Epoch));
        }

        records.AddRange(MoveAwayFrom(image, leaving, brokers));
        var result = await WriteAsync(records).ConfigureAwait(false);
        if (result.Error == ErrorCode.None)
        {
            foreach (var broker in fenced)
            {
                LogBrokerFenced(_logger, broker.NodeId, broker.Epoch, reason);
            }
        }

        return result;
    }

    private async Task<ControllerReply> UnregisterBrokerAsync(UnregisterBrokerCommand command)
    {
        var image = _state.Current;
        if (!image.Brokers.TryGetValue(command.BrokerId, out var broker))
        {
            return new ControllerReply(ErrorCode.BrokerIdNotRegistered, $"Broker {command.BrokerId} is not registered.");
        }

        var hosted = image.Topics.Values
            .SelectMany(t => t.Partitions.Where(p => p.Replicas.Contains(command.BrokerId)).Select(p => $"{t.Name}-{p.Partition}"))
            .ToList();
        if (hosted.Count > 0)
        {
            return new ControllerReply(ErrorCode.InvalidRequest,
                $"Broker {command.BrokerId} still hosts {hosted.Count} partition replica(s) (for example {hosted[0]}); reassign them first.");
        }

        var (error, offset) = await WriteAsync([new UnregisterBrokerRecord(broker.NodeId, broker.Epoch)]).ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            return new ControllerReply(error, "Leadership of the metadata quorum moved; retry.");
        }

        _sessionDeadlines.Remove(broker.NodeId);
        _registrationOffsets.Remove(broker.NodeId);
        _shutdownOffsets.Remove(broker.NodeId);
        LogBrokerUnregistered(_logger, broker.NodeId);
        return new ControllerReply(ErrorCode.None, Offset: offset);
    }

    private async Task<ControllerReply> AllocateProducerIdsAsync(AllocateProducerIdsCommand command)
    {
        var image = _state.Current;
        if (!image.Brokers.TryGetValue(command.BrokerId, out var broker) || broker.Epoch != command.BrokerEpoch)
        {
            return new ProducerIdsReply(ErrorCode.StaleBrokerEpoch, -1, 0,
                $"Broker {command.BrokerId} epoch {command.BrokerEpoch} is not its current registration.");
        }

        var size = _options.ProducerIdBlockSize;
        var first = image.NextProducerId;
        if (first > long.MaxValue - size)
        {
            return new ProducerIdsReply(ErrorCode.UnknownServerError, -1, 0, "Exhausted all producer ids.");
        }

        var (error, offset) = await WriteAsync([new ProducerIdsRecord(command.BrokerId, command.BrokerEpoch, first + size)]).ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            return new ProducerIdsReply(error, -1, 0, "Leadership of the metadata quorum moved; retry.");
        }

        LogProducerIdsAllocated(_logger, first, first + size - 1, command.BrokerId);
        return new ProducerIdsReply(ErrorCode.None, first, size, Offset: offset);
    }

    /// <summary>Periodic work, each step applied before the next looks: session expiry, reassignment completion,
    /// leaderless partitions, preferred-leader rebalance.</summary>
    private async Task TickAsync()
    {
        var now = _time.GetUtcNow();
        var image = _state.Current;
        var expired = new List<BrokerRegistration>();
        foreach (var broker in image.Brokers.Values)
        {
            if (!_sessionDeadlines.TryGetValue(broker.NodeId, out var deadline))
            {
                _sessionDeadlines[broker.NodeId] = deadline = now + _options.BrokerSessionTimeout;
            }

            if (!broker.Fenced && deadline <= now && _heartbeatArrivals.TryGetValue(broker.NodeId, out var arrival)
                && arrival.Epoch == broker.Epoch && arrival.At + _options.BrokerSessionTimeout > now)
            {
                // A heartbeat arrived in time but still waits in the queue behind earlier work.
                _sessionDeadlines[broker.NodeId] = deadline = arrival.At + _options.BrokerSessionTimeout;
            }

            if (!broker.Fenced && deadline <= now)
            {
                expired.Add(broker);
            }
        }

        if (expired.Count > 0 && (await FenceAsync(image, expired, "session expired").ConfigureAwait(false)).Error != ErrorCode.None)
        {
            return;
        }

        if (!await CompleteReassignmentsAsync().ConfigureAwait(false))
        {
            return;
        }

        image = _state.Current;
        var offline = ElectOffline(image, new BrokerView(image), _ => true);
        if (offline.Count > 0 && (await WriteAsync(offline).ConfigureAwait(false)).Error != ErrorCode.None)
        {
            return;
        }

        if (_options.AutoLeaderRebalanceEnable && now >= _nextRebalance)
        {
            _nextRebalance = now + _options.LeaderImbalanceCheckInterval;
            await RebalanceLeadersAsync().ConfigureAwait(false);
        }
    }

    private async Task<bool> CompleteReassignmentsAsync()
    {
        var image = _state.Current;
        var brokers = new BrokerView(image);
        var records = new List<MetadataRecord>();
        foreach (var topic in image.Topics.Values)
        {
            foreach (var partition in topic.Partitions.Where(p => p.IsReassigning))
            {
                var plan = new PartitionPlan(topic.Id, partition);
                if (TryCompleteReassignment(plan, brokers, AllowsUnclean(topic)) && plan.ToRecord() is { } change)
                {
                    records.Add(change);
                    LogReassignmentCompleted(_logger, topic.Name, partition.Partition, string.Join(",", plan.Replicas));
                }
            }
        }

        return records.Count == 0 || (await WriteAsync(records).ConfigureAwait(false)).Error == ErrorCode.None;
    }

    /// <summary>Moves leadership back to preferred replicas of every broker whose share of preferred partitions led
    /// elsewhere exceeds leader.imbalance.per.broker.percentage (Kafka's auto.leader.rebalance).</summary>
    private async Task RebalanceLeadersAsync()
    {
        var image = _state.Current;
        var brokers = new BrokerView(image);
        var byPreferred = image.Topics.Values
            .SelectMany(t => t.Partitions.Where(p => p.Replicas.Length > 0).Select(p => (Topic: t, Partition: p)))
            .GroupBy(x => x.Partition.Replicas[0]);
        var records = new List<MetadataRecord>();
        var rebalanced = new PartitionChangeLog(_logger, "Preferred-leader rebalance");
        foreach (var group in byPreferred)
        {
            var preferred = group.Key;
            var all = group.ToList();
            var imbalanced = all.Where(x => x.Partition.Leader != preferred).ToList();
            if (imbalanced.Count == 0 || imbalanced.Count * 100 <= _options.LeaderImbalancePerBrokerPercentage * all.Count
                || !brokers.IsActive(preferred))
            {
                continue;
            }

            foreach (var (topic, partition) in imbalanced)
            {
                var plan = new PartitionPlan(topic.Id, partition);
                if (ElectPreferred(plan, brokers).Item1 == ErrorCode.None && plan.ToRecord() is { } change)
                {
                    records.Add(change);
                    LogLeaderElected(_logger, rebalanced.NextLevel(), topic.Name, partition.Partition, preferred, "preferred (rebalance)");
                }
            }
        }

        rebalanced.Summarize();
        if (records.Count > 0)
        {
            await WriteAsync(records).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 1260, EventName = "ControllerBrokerRegistered", Level = LogLevel.Information, Message = "Broker {BrokerId} registered with epoch {Epoch} (rack '{Rack}') at offset {Offset}; fenced until caught up")]
    private static partial void LogBrokerRegistered(ILogger logger, int brokerId, long epoch, string rack, long offset);

    [LoggerMessage(EventId = 1261, EventName = "ControllerBrokerUnfenced", Level = LogLevel.Information, Message = "Broker {BrokerId} (epoch {Epoch}) caught up and is unfenced; it now leads {Partitions} offline partition(s)")]
    private static partial void LogBrokerUnfenced(ILogger logger, int brokerId, long epoch, int partitions);

    [LoggerMessage(EventId = 1262, EventName = "ControllerBrokerFenced", Level = LogLevel.Warning, Message = "Broker {BrokerId} (epoch {Epoch}) fenced: {Reason}")]
    private static partial void LogBrokerFenced(ILogger logger, int brokerId, long epoch, string reason);

    [LoggerMessage(EventId = 1263, EventName = "ControllerControlledShutdownStarted", Level = LogLevel.Information, Message = "Broker {BrokerId} is shutting down; {Partitions} partition(s) changed leader or ISR")]
    private static partial void LogControlledShutdownStarted(ILogger logger, int brokerId, int partitions);

    [LoggerMessage(EventId = 1264, EventName = "ControllerControlledShutdownCompleted", Level = LogLevel.Information, Message = "Broker {BrokerId} leads nothing and may stop")]
    private static partial void LogControlledShutdownCompleted(ILogger logger, int brokerId);

    [LoggerMessage(EventId = 1265, EventName = "ControllerBrokerUnregistered", Level = LogLevel.Information, Message = "Broker {BrokerId} unregistered")]
    private static partial void LogBrokerUnregistered(ILogger logger, int brokerId);

    [LoggerMessage(EventId = 1266, EventName = "ControllerProducerIdsAllocated", Level = LogLevel.Debug, Message = "Producer ids {First}..{Last} allocated to broker {BrokerId}")]
    private static partial void LogProducerIdsAllocated(ILogger logger, long first, long last, int brokerId);
}
