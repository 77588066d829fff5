using Tributary.Protocol;

namespace Tributary.Broker.Groups;

// Membership: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and the rebalance state machine
// (Empty → PreparingRebalance → CompletingRebalance → Stable, as in Kafka's classic GroupCoordinator).
public sealed partial class GroupCoordinator
{
    public Task<JoinGroupResult> JoinGroupAsync(JoinGroupCall call)
    {
        if (!IsValidGroupId(call.GroupId))
        {
            return Done(JoinGroupResult.Failed(ErrorCode.InvalidGroupId, call.MemberId));
        }

        if (call.SessionTimeoutMs < _options.MinSessionTimeoutMs || call.SessionTimeoutMs > _options.MaxSessionTimeoutMs)
        {
            return Done(JoinGroupResult.Failed(ErrorCode.InvalidSessionTimeout, call.MemberId));
        }

        var isUnknownMember = call.MemberId.Length == 0;
        while (true)
        {
            var group = GetOrCreateGroup(call.GroupId, create: isUnknownMember, out var ownership);
            if (ownership != ErrorCode.None)
            {
                return Done(JoinGroupResult.Failed(ownership, call.MemberId));
            }

            if (group is null)
            {
                return Done(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, call.MemberId));
            }

            lock (group)
            {
                if (!StillOwned(group, out ownership))
                {
                    return Done(JoinGroupResult.Failed(ownership, call.MemberId));
                }

                if (group.State == GroupState.Dead)
                {
                    // Deleted concurrently; a new incarnation may be created on the next lookup.
                    _groups.TryRemove(new KeyValuePair<string, ClassicGroup>(call.GroupId, group));
                    continue;
                }

                return JoinLocked(group, call, isUnknownMember, NowMs);
            }
        }
    }

    private Task<JoinGroupResult> JoinLocked(ClassicGroup group, JoinGroupCall call, bool isUnknownMember, long now)
    {
        if (!group.SupportsProtocols(call.ProtocolType, call.Protocols))
        {
            return Done(JoinGroupResult.Failed(ErrorCode.InconsistentGroupProtocol, call.MemberId));
        }

        if (isUnknownMember)
        {
            var knownStatic = call.GroupInstanceId is not null && group.StaticMembers.ContainsKey(call.GroupInstanceId);
            if (!knownStatic && group.Members.Count + group.PendingMembers.Count >= _options.MaxGroupSize)
            {
                return Done(JoinGroupResult.Failed(ErrorCode.GroupMaxSizeReached));
            }

            var newMemberId = (call.ClientId.Length > 0 ? call.ClientId : "member") + "-" + Guid.NewGuid().ToString("D");
            if (call.GroupInstanceId is not null)
            {
                // Static members skip the MEMBER_ID_REQUIRED round (KIP-345): the instance id already identifies them.
                return knownStatic
                    ? ReplaceStaticMember(group, call, newMemberId, now)
                    : AddMemberAndRebalance(group, call, newMemberId, now);
            }

            if (call.RequireKnownMemberId)
            {
                // KIP-394: hand out the id first, so a client that times out and retries doesn't leave a ghost member behind.
                group.PendingMembers[newMemberId] = now + call.SessionTimeoutMs;
                return Done(JoinGroupResult.Failed(ErrorCode.MemberIdRequired, newMemberId));
            }

            return AddMemberAndRebalance(group, call, newMemberId, now);
        }

        if (call.GroupInstanceId is not null)
        {
            if (!group.StaticMembers.TryGetValue(call.GroupInstanceId, out var registered))
            {
                return Done(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, call.MemberId));
            }

            if (registered != call.MemberId)
            {
                return Done(JoinGroupResult.Failed(ErrorCode.FencedInstanceId, call.MemberId));
            }
        }

        if (group.PendingMembers.Remove(call.MemberId))
        {
            return AddMemberAndRebalance(group, call, call.MemberId, now);
        }

        if (!group.Members.TryGetValue(call.MemberId, out var member))
        {
            return Done(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, call.MemberId));
        }

        switch (group.State)
        {
            case GroupState.PreparingRebalance:
                return UpdateMemberAndRebalance(group, member, call, now, "member rejoined");
            case GroupState.CompletingRebalance:
                if (member.Matches(call.Protocols))
                {
                    // A retried join (e.g. the response was lost): answer with the generation it already is in.
                    member.SessionDeadlineMs = now + member.SessionTimeoutMs;
                    return Done(CurrentJoinResult(group, member.MemberId));
                }

                return UpdateMemberAndRebalance(group, member, call, now, "member changed its protocols");
            case GroupState.Stable:
                if (member.MemberId == group.LeaderId || !member.Matches(call.Protocols))
                {
                    // The leader rejoining means it wants a new assignment (e.g. its metadata changed).
                    return UpdateMemberAndRebalance(group, member, call, now,
                        member.MemberId == group.LeaderId ? "leader rejoined" : "member changed its protocols");
                }

                member.SessionDeadlineMs = now + member.SessionTimeoutMs;
                return Done(CurrentJoinResult(group, member.MemberId));
            default:
                return Done(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, call.MemberId));
        }
    }

    public Task<SyncGroupResult> SyncGroupAsync(SyncGroupCall call)
    {
        if (!IsValidGroupId(call.GroupId))
        {
            return Done(SyncGroupResult.Failed(ErrorCode.InvalidGroupId));
        }

        var group = GetOrCreateGroup(call.GroupId, create: false, out var ownership);
        if (ownership != ErrorCode.None)
        {
            return Done(SyncGroupResult.Failed(ownership));
        }

        if (group is null)
        {
            return Done(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
        }

        lock (group)
        {
            var now = NowMs;
            var error = CheckMember(group, call.MemberId, call.GroupInstanceId, call.GenerationId);
            if (error != ErrorCode.None)
            {
                return Done(SyncGroupResult.Failed(error));
            }

            if ((call.ProtocolType is not null && call.ProtocolType != group.ProtocolType)
                || (call.ProtocolName is not null && call.ProtocolName != group.ProtocolName))
            {
                return Done(SyncGroupResult.Failed(ErrorCode.InconsistentGroupProtocol));
            }

            var member = group.Members[call.MemberId];
            switch (group.State)
            {
                case GroupState.PreparingRebalance:
                    return Done(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
                case GroupState.CompletingRebalance:
                    {
                        member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
                        var waiter = NewWaiter<SyncGroupResult>();
                        member.AwaitingSync = waiter;
                        member.SessionDeadlineMs = now + member.SessionTimeoutMs;
                        group.PendingSync.Remove(member.MemberId);
                        if (member.MemberId == group.LeaderId)
                        {
                            CompleteAssignment(group, call.Assignments, now);
                        }

                        return waiter.Task;
                    }

                case GroupState.Stable:
                    member.SessionDeadlineMs = now + member.SessionTimeoutMs;
                    group.PendingSync.Remove(member.MemberId);
                    return Done(new SyncGroupResult(ErrorCode.None, group.ProtocolType, group.ProtocolName, member.Assignment));
                default:
                    return Done(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
            }
        }
    }

    public ErrorCode Heartbeat(string groupId, string memberId, string? groupInstanceId, int generationId)
    {
        if (!IsValidGroupId(groupId))
        {
            return ErrorCode.InvalidGroupId;
        }

        var group = GetOrCreateGroup(groupId, create: false, out var ownership);
        if (ownership != ErrorCode.None)
        {
            return ownership;
        }

        if (group is null)
        {
            return ErrorCode.UnknownMemberId;
        }

        lock (group)
        {
            var error = CheckMember(group, memberId, groupInstanceId, generationId);
            if (error != ErrorCode.None)
            {
                return error;
            }

            var member = group.Members[memberId];
            member.SessionDeadlineMs = NowMs + member.SessionTimeoutMs;
            return group.State switch
            {
                GroupState.PreparingRebalance => ErrorCode.RebalanceInProgress,
                GroupState.CompletingRebalance or GroupState.Stable => ErrorCode.None,
                _ => ErrorCode.UnknownMemberId,
            };
        }
    }

    /// <summary>Removes members (LeaveGroup v3+ batches them); answers an error per member in request order.</summary>
    public (ErrorCode Error, IReadOnlyList<ErrorCode> MemberErrors) LeaveGroup(string groupId, IReadOnlyList<LeavingMember> members)
    {
        if (!IsValidGroupId(groupId))
        {
            return (ErrorCode.InvalidGroupId, []);
        }

        var group = GetOrCreateGroup(groupId, create: false, out var ownership);
        if (ownership != ErrorCode.None)
        {
            return (ownership, []);
        }

        if (group is null)
        {
            return (ErrorCode.None, members.Select(_ => ErrorCode.UnknownMemberId).ToList());
        }

        lock (group)
        {
            if (group.State == GroupState.Dead)
            {
                return (ErrorCode.CoordinatorNotAvailable, []);
            }

            var now = NowMs;
            var errors = new List<ErrorCode>(members.Count);
            foreach (var leaving in members)
            {
                errors.Add(LeaveLocked(group, leaving, now));
            }

            return (ErrorCode.None, errors);
        }
    }

    private ErrorCode LeaveLocked(ClassicGroup group, LeavingMember leaving, long now)
    {
        if (leaving.GroupInstanceId is not null)
        {
            if (!group.StaticMembers.TryGetValue(leaving.GroupInstanceId, out var registered))
            {
                return ErrorCode.UnknownMemberId;
            }

            // An admin "remove static member" names only the instance (member id empty, KIP-345).
            if (leaving.MemberId.Length > 0 && leaving.MemberId != registered)
            {
                return ErrorCode.FencedInstanceId;
            }

            RemoveMember(group, group.Members[registered], now, "static member left the group");
            return ErrorCode.None;
        }

        if (group.PendingMembers.Remove(leaving.MemberId))
        {
            CompleteJoinAfterRemoval(group, now);
            return ErrorCode.None;
        }

        if (!group.Members.TryGetValue(leaving.MemberId, out var member))
        {
            return ErrorCode.UnknownMemberId;
        }

        RemoveMember(group, member, now, "member left the group");
        return ErrorCode.None;
    }

    /// <summary>The checks Kafka applies to SyncGroup and Heartbeat, in its order.</summary>
    private static ErrorCode CheckMember(ClassicGroup group, string memberId, string? groupInstanceId, int generationId)
    {
        if (group.State == GroupState.Dead)
        {
            return ErrorCode.CoordinatorNotAvailable;
        }

        if (group.IsStaticMemberFenced(memberId, groupInstanceId))
        {
            return ErrorCode.FencedInstanceId;
        }

        if (!group.Members.ContainsKey(memberId))
        {
            return ErrorCode.UnknownMemberId;
        }

        return generationId != group.Generation ? ErrorCode.IllegalGeneration : ErrorCode.None;
    }

    private Task<JoinGroupResult> AddMemberAndRebalance(ClassicGroup group, JoinGroupCall call, string memberId, long now)
    {
        var member = new GroupMember(memberId, call.GroupInstanceId, call.ClientId, call.ClientHost, call.RebalanceTimeoutMs,
            call.SessionTimeoutMs, call.ProtocolType, call.Protocols)
        {
            SessionDeadlineMs = now + call.SessionTimeoutMs,
        };
        var waiter = NewWaiter<JoinGroupResult>();
        member.AwaitingJoin = waiter;
        if (!group.HasMembers)
        {
            group.ProtocolType = call.ProtocolType;
        }

        group.Members[memberId] = member;
        if (call.GroupInstanceId is not null)
        {
            group.StaticMembers[call.GroupInstanceId] = memberId;
        }

        group.LeaderId ??= memberId;
        if (group.InInitialDelay)
        {
            group.NewMemberAddedDuringDelay = true;
        }

        MaybePrepareRebalance(group, now, "new member joined");
        TryCompleteJoin(group, now);
        return waiter.Task;
    }

    private Task<JoinGroupResult> UpdateMemberAndRebalance(ClassicGroup group, GroupMember member, JoinGroupCall call, long now, string reason)
    {
        member.Protocols = call.Protocols;
        member.SessionTimeoutMs = call.SessionTimeoutMs;
        member.RebalanceTimeoutMs = call.RebalanceTimeoutMs;
        member.ClientId = call.ClientId;
        member.ClientHost = call.ClientHost;
        member.SessionDeadlineMs = now + call.SessionTimeoutMs;
        member.AwaitingJoin?.TrySetResult(JoinGroupResult.Failed(ErrorCode.RebalanceInProgress, member.MemberId));
        var waiter = NewWaiter<JoinGroupResult>();
        member.AwaitingJoin = waiter;
        MaybePrepareRebalance(group, now, reason);
        TryCompleteJoin(group, now);
        return waiter.Task;
    }

    /// <summary>
    /// A static member came back with a new member id (a restarted process, KIP-345): it takes over the old member's
    /// place and assignment. A Stable group stays Stable — no rebalance — unless the member's protocols change the
    /// group's selected protocol; the old id is fenced from then on.
    /// </summary>
    private Task<JoinGroupResult> ReplaceStaticMember(ClassicGroup group, JoinGroupCall call, string newMemberId, long now)
    {
        var instanceId = call.GroupInstanceId!;
        var oldMemberId = group.StaticMembers[instanceId];
        var member = group.Members[oldMemberId];
        member.AwaitingJoin?.TrySetResult(JoinGroupResult.Failed(ErrorCode.FencedInstanceId, oldMemberId));
        member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.FencedInstanceId));
        member.AwaitingJoin = null;
        member.AwaitingSync = null;

        var oldProtocols = member.Protocols;
        group.Members.Remove(oldMemberId);
        member.MemberId = newMemberId;
        member.Protocols = call.Protocols;
        member.SessionTimeoutMs = call.SessionTimeoutMs;
        member.RebalanceTimeoutMs = call.RebalanceTimeoutMs;
        member.ClientId = call.ClientId;
        member.ClientHost = call.ClientHost;
        member.SessionDeadlineMs = now + call.SessionTimeoutMs;
        group.Members[newMemberId] = member;
        group.StaticMembers[instanceId] = newMemberId;
        if (group.LeaderId == oldMemberId)
        {
            group.LeaderId = newMemberId;
        }

        if (group.PendingSync.Remove(oldMemberId))
        {
            group.PendingSync.Add(newMemberId);
        }

        LogStaticReplaced(_logger, instanceId, group.GroupId, newMemberId, oldMemberId);
        switch (group.State)
        {
            case GroupState.Stable when group.SelectProtocol() == group.ProtocolName:
                {
                    // Kafka answers the join only once the new member id is stored: otherwise a coordinator failover would
                    // bring back the old id and fence the member that was just told its new one.
                    var replacement = new StaticReplacement(member, instanceId, oldMemberId, newMemberId, oldProtocols);
                    var write = PersistGroup(group, now);
                    if (write.Done.IsCompleted)
                    {
                        return Done(FinishStaticReplacementLocked(group, replacement, write.Done.Result));
                    }

                    return FinishStaticReplacementAsync(group, replacement, write.Done);
                }

            default:
                {
                    var waiter = NewWaiter<JoinGroupResult>();
                    member.AwaitingJoin = waiter;
                    MaybePrepareRebalance(group, now, "static member rejoined with new protocols or during a rebalance");
                    TryCompleteJoin(group, now);
                    return waiter.Task;
                }
        }
    }

    /// <summary>A static member's takeover waiting for its group record to be replicated.</summary>
    private sealed record StaticReplacement(GroupMember Member, string InstanceId, string OldMemberId, string NewMemberId,
        IReadOnlyList<MemberProtocol> OldProtocols);

    private async Task<JoinGroupResult> FinishStaticReplacementAsync(ClassicGroup group, StaticReplacement replacement, Task<ErrorCode> stored)
    {
        var error = await stored.ConfigureAwait(false);
        lock (group)
        {
            return FinishStaticReplacementLocked(group, replacement, error);
        }
    }

    private JoinGroupResult FinishStaticReplacementLocked(ClassicGroup group, StaticReplacement replacement, ErrorCode error)
    {
        var (member, instanceId, oldMemberId, newMemberId, oldProtocols) = replacement;
        if (error != ErrorCode.None)
        {
            // Undo, so the old incarnation isn't fenced by a replacement that was never recorded (unless the group moved on).
            if (group.State != GroupState.Dead && group.Members.TryGetValue(newMemberId, out var current) && ReferenceEquals(current, member)
                && group.StaticMembers.GetValueOrDefault(instanceId) == newMemberId)
            {
                group.Members.Remove(newMemberId);
                member.MemberId = oldMemberId;
                member.Protocols = oldProtocols;
                group.Members[oldMemberId] = member;
                group.StaticMembers[instanceId] = oldMemberId;
                if (group.LeaderId == newMemberId)
                {
                    group.LeaderId = oldMemberId;
                }

                if (group.PendingSync.Remove(newMemberId))
                {
                    group.PendingSync.Add(oldMemberId);
                }
            }

            return JoinGroupResult.Failed(error);
        }

        if (group.State != GroupState.Stable || !group.Members.ContainsKey(newMemberId))
        {
            // The group moved on while the record was being replicated (a rebalance started, or it was unloaded): the
            // member rejoins and learns the new state.
            return JoinGroupResult.Failed(group.State == GroupState.Dead ? ErrorCode.NotCoordinator : ErrorCode.RebalanceInProgress, newMemberId);
        }

        // KIP-814: a static leader learns the members but must not compute a new assignment.
        var isLeader = group.LeaderId == newMemberId;
        return new JoinGroupResult(ErrorCode.None, group.Generation, group.ProtocolType, group.ProtocolName,
            group.LeaderId ?? "", newMemberId, isLeader ? MembersForLeader(group) : [], SkipAssignment: isLeader);
    }

    private void MaybePrepareRebalance(ClassicGroup group, long now, string reason)
    {
        if (group.State is GroupState.Empty or GroupState.Stable or GroupState.CompletingRebalance)
        {
            PrepareRebalance(group, now, reason);
        }
    }

    private void PrepareRebalance(ClassicGroup group, long now, string reason)
    {
        if (group.State == GroupState.CompletingRebalance)
        {
            // The assignment in progress is void: followers waiting in SyncGroup rejoin.
            foreach (var member in group.Members.Values)
            {
                member.Assignment = [];
                member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
                member.AwaitingSync = null;
            }
        }

        group.PendingSync.Clear();
        group.SyncDeadlineMs = long.MaxValue;
        var rebalanceTimeout = group.MaxRebalanceTimeoutMs;
        if (group.State == GroupState.Empty && _options.InitialRebalanceDelayMs > 0)
        {
            // group.initial.rebalance.delay.ms: the first rebalance of an empty group waits for more members, extending
            // the wait by the delay each time someone joins, up to the rebalance timeout.
            group.InInitialDelay = true;
            group.NewMemberAddedDuringDelay = false;
            group.InitialDelayLimitMs = now + Math.Max(rebalanceTimeout, _options.InitialRebalanceDelayMs);
            group.JoinDeadlineMs = now + Math.Min(_options.InitialRebalanceDelayMs, Math.Max(rebalanceTimeout, _options.InitialRebalanceDelayMs));
        }
        else
        {
            group.InInitialDelay = false;
            group.JoinDeadlineMs = now + rebalanceTimeout;
        }

        group.TransitionTo(GroupState.PreparingRebalance, now);
        LogRebalanceStarted(_logger, group.GroupId, group.Generation, reason);
    }

    /// <summary>
    /// After a member or pending member left (LeaveGroup, session or pending-join expiry) during PreparingRebalance: completes
    /// the join as soon as everyone left has rejoined, even inside group.initial.rebalance.delay.ms. The delay waits for
    /// members to arrive, not to go; Kafka's group coordinator (removeMemberAndUpdateClassicGroup) completes here too, so a
    /// group whose last member left is Empty at once and DeleteGroups succeeds instead of answering NON_EMPTY_GROUP.
    /// </summary>
    private void CompleteJoinAfterRemoval(ClassicGroup group, long now)
    {
        if (group.State == GroupState.PreparingRebalance && group.PendingMembers.Count == 0
            && group.Members.Values.All(m => m.AwaitingJoin is not null))
        {
            CompleteJoin(group, now);
        }
    }

    /// <summary>Completes the join phase once every known member rejoined and no KIP-394 join is outstanding.</summary>
    private void TryCompleteJoin(ClassicGroup group, long now)
    {
        if (group.State == GroupState.PreparingRebalance && !group.InInitialDelay && group.PendingMembers.Count == 0
            && group.Members.Values.All(m => m.AwaitingJoin is not null))
        {
            CompleteJoin(group, now);
        }
    }

    private void CompleteJoin(ClassicGroup group, long now)
    {
        // Dynamic members that didn't rejoin in time are gone; static ones stay (their session timeout decides).
        foreach (var member in group.Members.Values.Where(m => m.AwaitingJoin is null && !m.IsStatic).ToList())
        {
            RemoveMemberQuietly(group, member);
            LogMemberRemoved(_logger, member.MemberId, group.GroupId, "did not rejoin before the rebalance timeout");
        }

        if (group.HasMembers && !group.Members.Values.Any(m => m.AwaitingJoin is not null))
        {
            // Only static members that haven't rejoined are left: nobody could lead. Like Kafka, wait another round;
            // session timeouts remove the ones that are really gone.
            group.InInitialDelay = false;
            group.JoinDeadlineMs = now + Math.Max(1, group.MaxRebalanceTimeoutMs);
            return;
        }

        group.PendingMembers.Clear();
        group.InInitialDelay = false;
        group.Generation++;
        if (!group.HasMembers)
        {
            group.ProtocolName = null;
            group.LeaderId = null;
            group.TransitionTo(GroupState.Empty, now);
            // As in Kafka, nobody waits for an empty group's record; a failure is only logged.
            _ = LogIfFailedAsync(PersistGroup(group, now), group.GroupId);
            LogGenerationStarted(_logger, group.GroupId, group.Generation, 0, null, null);
            return;
        }

        group.ProtocolName = group.SelectProtocol();
        // The leader must be a member that is waiting for this join's answer, or nobody would send the assignment.
        if (group.LeaderId is null || !group.Members.TryGetValue(group.LeaderId, out var leader) || leader.AwaitingJoin is null)
        {
            group.LeaderId = group.Members.Values.First(m => m.AwaitingJoin is not null).MemberId;
        }

        group.TransitionTo(GroupState.CompletingRebalance, now);
        group.PendingSync.Clear();
        foreach (var member in group.Members.Values)
        {
            group.PendingSync.Add(member.MemberId);
            member.SessionDeadlineMs = now + member.SessionTimeoutMs;
            if (member.AwaitingJoin is { } waiter)
            {
                member.AwaitingJoin = null;
                waiter.TrySetResult(CurrentJoinResult(group, member.MemberId));
            }
        }

        group.SyncDeadlineMs = now + group.MaxRebalanceTimeoutMs;
        LogGenerationStarted(_logger, group.GroupId, group.Generation, group.Members.Count, group.ProtocolName, group.LeaderId);
    }

    private static JoinGroupResult CurrentJoinResult(ClassicGroup group, string memberId) =>
        new(ErrorCode.None, group.Generation, group.ProtocolType, group.ProtocolName, group.LeaderId ?? "", memberId,
            memberId == group.LeaderId ? MembersForLeader(group) : []);

    private static List<JoinedMember> MembersForLeader(ClassicGroup group) =>
        group.Members.Values.Select(m => new JoinedMember(m.MemberId, m.GroupInstanceId, m.MetadataFor(group.ProtocolName))).ToList();

    /// <summary>
    /// The leader's SyncGroup: store the assignment; once the in-sync replicas have it the group becomes Stable and every
    /// waiting member gets its share (Kafka answers SyncGroup only after the group record is replicated).
    /// </summary>
    private void CompleteAssignment(ClassicGroup group, IReadOnlyDictionary<string, byte[]> assignments, long now)
    {
        var assigned = group.Members.Keys.ToDictionary(id => id, id => assignments.TryGetValue(id, out var a) ? a : [], StringComparer.Ordinal);
        var write = PersistGroup(group, now, assigned);
        if (write.Done.IsCompleted)
        {
            FinishAssignmentLocked(group, group.Generation, assigned, write.Done.Result, now);
            return;
        }

        _ = FinishAssignmentAsync(group, group.Generation, assigned, write.Done);
    }

    private async Task FinishAssignmentAsync(ClassicGroup group, int generation, Dictionary<string, byte[]> assigned, Task<ErrorCode> stored)
    {
        var error = await stored.ConfigureAwait(false);
        lock (group)
        {
            FinishAssignmentLocked(group, generation, assigned, error, NowMs);
        }
    }

    private void FinishAssignmentLocked(ClassicGroup group, int generation, Dictionary<string, byte[]> assigned, ErrorCode error, long now)
    {
        if (group.State != GroupState.CompletingRebalance || group.Generation != generation)
        {
            // A rebalance (or unload) overtook the store; its waiters were answered when it did.
            return;
        }

        if (error != ErrorCode.None)
        {
            LogPersistFailed(_logger, group.GroupId, error.ToString());
            foreach (var member in group.Members.Values)
            {
                member.Assignment = [];
                member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(error));
                member.AwaitingSync = null;
            }

            PrepareRebalance(group, now, "storing the assignment failed");
            return;
        }

        foreach (var member in group.Members.Values)
        {
            member.Assignment = assigned.GetValueOrDefault(member.MemberId, []);
        }

        group.TransitionTo(GroupState.Stable, now);
        foreach (var member in group.Members.Values)
        {
            if (member.AwaitingSync is { } waiter)
            {
                member.AwaitingSync = null;
                waiter.TrySetResult(new SyncGroupResult(ErrorCode.None, group.ProtocolType, group.ProtocolName, member.Assignment));
            }
        }
    }

    private void RemoveMember(ClassicGroup group, GroupMember member, long now, string reason)
    {
        RemoveMemberQuietly(group, member);
        LogMemberRemoved(_logger, member.MemberId, group.GroupId, reason);
        switch (group.State)
        {
            case GroupState.Stable or GroupState.CompletingRebalance:
                PrepareRebalance(group, now, reason);
                TryCompleteJoin(group, now);
                break;
            case GroupState.PreparingRebalance:
                CompleteJoinAfterRemoval(group, now);
                break;
        }
    }

    private static void RemoveMemberQuietly(ClassicGroup group, GroupMember member)
    {
        member.AwaitingJoin?.TrySetResult(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, member.MemberId));
        member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
        member.AwaitingJoin = null;
        member.AwaitingSync = null;
        group.Members.Remove(member.MemberId);
        group.PendingSync.Remove(member.MemberId);
        if (member.GroupInstanceId is not null
            && group.StaticMembers.TryGetValue(member.GroupInstanceId, out var registered) && registered == member.MemberId)
        {
            group.StaticMembers.Remove(member.GroupInstanceId);
        }

        if (group.LeaderId == member.MemberId)
        {
            group.LeaderId = group.Members.Keys.FirstOrDefault();
        }
    }

    private void TickGroup(ClassicGroup group, long now)
    {
        if (group.State == GroupState.Dead)
        {
            return;
        }

        // Runs every tick for every group: look before copying anything.
        if (group.PendingMembers.Count > 0 && group.PendingMembers.Values.Any(deadline => now >= deadline))
        {
            foreach (var (pendingId, deadline) in group.PendingMembers.ToList())
            {
                if (now >= deadline)
                {
                    group.PendingMembers.Remove(pendingId);
                    CompleteJoinAfterRemoval(group, now);
                }
            }
        }

        // A member whose JoinGroup or SyncGroup is parked is alive by definition (Kafka's shouldKeepAlive).
        static bool Expired(GroupMember m, long now) => now >= m.SessionDeadlineMs && m.AwaitingJoin is null && m.AwaitingSync is null;
        if (group.Members.Values.Any(m => Expired(m, now)))
        {
            foreach (var member in group.Members.Values.ToList())
            {
                if (Expired(member, now) && group.Members.ContainsKey(member.MemberId))
                {
                    RemoveMember(group, member, now, $"session timeout of {member.SessionTimeoutMs} ms expired");
                }
            }
        }

        if (group.State == GroupState.PreparingRebalance && now >= group.JoinDeadlineMs)
        {
            if (group.InInitialDelay && group.NewMemberAddedDuringDelay && now < group.InitialDelayLimitMs)
            {
                group.NewMemberAddedDuringDelay = false;
                group.JoinDeadlineMs = Math.Min(now + _options.InitialRebalanceDelayMs, group.InitialDelayLimitMs);
            }
            else
            {
                CompleteJoin(group, now);
            }
        }

        if (group.State is GroupState.CompletingRebalance or GroupState.Stable && now >= group.SyncDeadlineMs)
        {
            group.SyncDeadlineMs = long.MaxValue;
            var missing = group.PendingSync.Where(id => group.Members.ContainsKey(id)).Select(id => group.Members[id]).ToList();
            group.PendingSync.Clear();
            foreach (var member in missing)
            {
                RemoveMemberQuietly(group, member);
                LogMemberRemoved(_logger, member.MemberId, group.GroupId, "did not send SyncGroup before the rebalance timeout");
            }

            if (missing.Count > 0)
            {
                PrepareRebalance(group, now, "members did not sync");
                TryCompleteJoin(group, now);
            }
        }
    }

    private static TaskCompletionSource<T> NewWaiter<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static Task<T> Done<T>(T result) => Task.FromResult(result);
}
