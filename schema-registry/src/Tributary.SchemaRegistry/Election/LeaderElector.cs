using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Tributary.Clients.Groups;
using Tributary.SchemaRegistry.Api;
using Tributary.SchemaRegistry.Config;
using Tributary.SchemaRegistry.Storage;

namespace Tributary.SchemaRegistry.Election;

/// <summary>The elected writer as this instance knows it.</summary>
public sealed record RegistryLeader(string Url, bool IsSelf, int Generation);

/// <summary>Elects the one writer among registry instances through a Kafka group, as Confluent's registry does:
/// protocol type <c>sr</c>, each member's metadata is its identity (host, port, scheme, <c>leader_eligibility</c>),
/// the group's leader member picks an eligible instance and every assignment names it and its identity.</summary>
internal sealed partial class LeaderElector : IGroupMembershipHandler, IAsyncDisposable
{
    public const string ProtocolType = "sr";
    public const string ProtocolName = "v0";
    private const int NoEligibleLeader = 1;

    private readonly RegistryOptions _options;
    private readonly KafkaStore _store;
    private readonly ILogger _logger;
    private readonly GroupMember _member;
    private readonly object _gate = new();
    private RegistryLeader? _leader;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _lastChosenMember;

    public LeaderElector(RegistryOptions options, KafkaStore store, ILogger logger, TimeProvider time)
    {
        _options = options;
        _store = store;
        _logger = logger;
        _member = new GroupMember(
            new GroupMemberOptions
            {
                BootstrapServers = options.BootstrapServers,
                GroupId = options.GroupId,
                ProtocolType = ProtocolType,
                ClientId = $"schema-registry-{options.HostName}-{options.Port}",
                SessionTimeout = options.SessionTimeout,
                RebalanceTimeout = options.SessionTimeout,
                HeartbeatInterval = options.HeartbeatInterval,
            },
            this, logger, time);
    }

    /// <summary>The current writer, or null during a rebalance or when no instance is eligible.</summary>
    public RegistryLeader? Leader
    {
        get
        {
            lock (_gate)
            {
                return _leader;
            }
        }
    }

    public void Start() => _member.Start();

    /// <summary>Waits (bounded) until a writer is known; null when none appears in time.</summary>
    public async Task<RegistryLeader?> WaitForLeaderAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_leader is not null)
                {
                    return _leader;
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        }
    }

    private byte[] Identity() => JsonOutput.ToBytes(new JsonObject
    {
        ["version"] = 1,
        ["host"] = _options.HostName,
        ["port"] = _options.Port,
        ["leader_eligibility"] = _options.LeaderEligibility,
        ["scheme"] = _options.Scheme,
    });

    public IReadOnlyList<GroupProtocol> Protocols() => [new GroupProtocol(ProtocolName, Identity())];

    public IReadOnlyDictionary<string, byte[]> Assign(string protocolName, IReadOnlyList<GroupMemberInfo> members)
    {
        var identities = new List<(string MemberId, JsonObject Identity)>();
        foreach (var member in members)
        {
            try
            {
                if (JsonNode.Parse(member.Metadata) is JsonObject identity)
                {
                    identities.Add((member.MemberId, identity));
                }
            }
            catch (JsonException)
            {
                LogBadIdentity(_logger, member.MemberId);
            }
        }

        static bool Eligible(JsonObject identity) =>
            (identity["leader_eligibility"] ?? identity["master_eligibility"]) is JsonValue v && v.GetValue<bool>();

        // Keep the writer we chose last time while it is still a member, so a joining reader causes no hand-over.
        var eligible = identities.Where(i => Eligible(i.Identity)).OrderBy(i => i.MemberId, StringComparer.Ordinal).ToList();
        var chosen = eligible.FirstOrDefault(i => i.MemberId == _lastChosenMember);
        if (chosen.MemberId is null && eligible.Count > 0)
        {
            chosen = eligible[0];
        }

        _lastChosenMember = chosen.MemberId;
        var assignment = new JsonObject
        {
            ["version"] = 1,
            ["error"] = chosen.MemberId is null ? NoEligibleLeader : 0,
            ["leader"] = chosen.MemberId,
            ["leader_identity"] = chosen.Identity?.DeepClone(),
        };
        byte[] bytes = JsonOutput.ToBytes(assignment);
        return members.ToDictionary(m => m.MemberId, _ => bytes);
    }

    public async Task OnAssignedAsync(GroupAssignment assignment, CancellationToken cancellationToken)
    {
        RegistryLeader? leader = null;
        try
        {
            if (JsonNode.Parse(assignment.Assignment) is JsonObject node && node["error"]?.GetValue<int>() == 0
                && node["leader_identity"] is JsonObject identity)
            {
                string url = $"{identity["scheme"]?.GetValue<string>() ?? "http"}://{identity["host"]!.GetValue<string>()}:{identity["port"]!.GetValue<int>()}";
                bool self = node["leader"]?.GetValue<string>() == assignment.MemberId;
                leader = new RegistryLeader(url, self, assignment.GenerationId);
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        {
            LogBadIdentity(_logger, assignment.LeaderId);
        }

        if (leader is null)
        {
            LogNoLeader(_logger, assignment.GenerationId);
        }
        else
        {
            if (leader.IsSelf)
            {
                // Ids continue from the highest one in the topic: replay everything the previous writer wrote first.
                await _store.WaitUntilCaughtUpAsync(cancellationToken).ConfigureAwait(false);
            }

            LogLeader(_logger, leader.Url, leader.IsSelf, assignment.GenerationId);
        }

        SetLeader(leader);
    }

    public Task OnRevokedAsync(CancellationToken cancellationToken)
    {
        SetLeader(null);
        return Task.CompletedTask;
    }

    private void SetLeader(RegistryLeader? leader)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _leader = leader;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    public ValueTask DisposeAsync() => _member.DisposeAsync();

    [LoggerMessage(EventId = 2121, EventName = "RegistryLeader", Level = LogLevel.Information, Message = "Schema registry writer is {Url} (this instance: {IsSelf}), generation {Generation}")]
    private static partial void LogLeader(ILogger logger, string url, bool isSelf, int generation);

    [LoggerMessage(EventId = 2122, EventName = "RegistryNoLeader", Level = LogLevel.Warning, Message = "No leader-eligible schema registry instance in generation {Generation}; writes are refused")]
    private static partial void LogNoLeader(ILogger logger, int generation);

    [LoggerMessage(EventId = 2123, EventName = "RegistryBadIdentity", Level = LogLevel.Warning, Message = "Unreadable registry identity from member {MemberId}")]
    private static partial void LogBadIdentity(ILogger logger, string memberId);
}
