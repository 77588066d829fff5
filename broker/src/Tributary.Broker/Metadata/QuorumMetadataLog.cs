using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Config;
using Tributary.Metadata;
using Tributary.Metadata.Records;
using Tributary.Protocol;
using Tributary.Raft;
using QuorumVoterAddress = Tributary.Raft.QuorumVoter;

namespace Tributary.Broker.Metadata;

/// <summary>The broker's metadata log over the Raft quorum (<see cref="RaftQuorum{T}"/> of metadata records): this node
/// votes when it is listed in controller.quorum.voters, otherwise it observes.</summary>
/// <remarks>Implements Contract A of issue 19: snapshots (<see cref="WriteSnapshotAsync"/>, <see cref="LatestSnapshotOffset"/>,
/// a snapshot batch first when reading below the log start) and controller calls as <see cref="ControllerCall"/>s (carried
/// through the quorum's own transport as api key, version and body).</remarks>
public sealed partial class QuorumMetadataLog : IMetadataLog
{
    /// <summary>Directory under the first log dir that holds the quorum's log and vote state. Not a partition directory
    /// name (no "-N" suffix), so the log manager leaves it alone.</summary>
    public const string QuorumDirectoryName = "__tributary_quorum";

    /// <summary>With no voters configured the broker runs a one-voter quorum of itself: nobody else can win, so the
    /// election timeout only delays startup and is kept short.</summary>
    private static readonly TimeSpan SingleVoterElectionTimeout = TimeSpan.FromMilliseconds(100);

    private readonly RaftQuorum<MetadataRecord> _quorum;

    public QuorumMetadataLog(RaftQuorum<MetadataRecord> quorum)
    {
        ArgumentNullException.ThrowIfNull(quorum);
        _quorum = quorum;
        _quorum.LeadershipChanged += OnLeadershipChanged;
    }

    public int NodeId => _quorum.NodeId;

    public bool IsVoter => !_quorum.IsObserver;

    public MetadataLeadership Leadership => ToMetadata(_quorum.Leadership);

    public event Action<MetadataLeadership>? LeadershipChanged;

    public long LeaderReadyOffset => _quorum.LeaderReadyOffset;

    /// <summary>The quorum underneath (for its <see cref="RaftQuorum{T}.LeaderReady"/> event and diagnostics).</summary>
    public RaftQuorum<MetadataRecord> Quorum => _quorum;

    /// <summary>Offset of the latest stored snapshot, -1 if none.</summary>
    public long LatestSnapshotOffset => _quorum.LatestSnapshotOffset;

    /// <summary>Starts this node's quorum member from the broker config: voters from controller.quorum.voters, the
    /// listener from this node's controller listener, data under <c>&lt;first log dir&gt;/__tributary_quorum</c>. Without
    /// voters, a single-voter quorum of this node on 127.0.0.1 with an ephemeral port (single-broker mode).</summary>
    /// <exception cref="ArgumentException">This node is a voter but has no usable controller listener address.</exception>
    public static async Task<QuorumMetadataLog> StartAsync(BrokerConfig config, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var options = await BuildOptionsAsync(config).ConfigureAwait(false);
        var quorum = RaftQuorum<MetadataRecord>.Start(options, MetadataRecordRaftSerde.Instance, loggerFactory.CreateLogger<RaftQuorum<MetadataRecord>>());
        LogStarted(loggerFactory.CreateLogger<QuorumMetadataLog>(), config.NodeId, options.Voters.Count,
            options.Voters.Any(v => v.Id == config.NodeId) ? "voter" : "observer", options.Listener?.ToString() ?? "none");
        return new QuorumMetadataLog(quorum);
    }

    /// <summary>The quorum options <see cref="StartAsync"/> uses (exposed for tests and diagnostics).</summary>
    public static async Task<RaftQuorumOptions> BuildOptionsAsync(BrokerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var dataDirectory = Path.Combine(config.LogDirs[0], QuorumDirectoryName);
        var electionTimeout = TimeSpan.FromMilliseconds(config.ControllerQuorumElectionTimeoutMs);
        var heartbeat = TimeSpan.FromMilliseconds(config.ControllerQuorumHeartbeatIntervalMs);
        if (config.ControllerQuorumVoters.Count == 0)
        {
            var self = new IPEndPoint(IPAddress.Loopback, 0);
            return new RaftQuorumOptions
            {
                NodeId = config.NodeId,
                Voters = [new QuorumVoterAddress(config.NodeId, "127.0.0.1", 0)],
                DataDirectory = dataDirectory,
                Listener = self,
                ElectionTimeout = electionTimeout < SingleVoterElectionTimeout ? electionTimeout : SingleVoterElectionTimeout,
                HeartbeatInterval = SingleVoterElectionTimeout / 4,
            };
        }

        var voters = config.ControllerQuorumVoters.Select(v => new QuorumVoterAddress(v.NodeId, v.Host, v.Port)).ToArray();
        var selfVoter = voters.FirstOrDefault(v => v.Id == config.NodeId);
        IPEndPoint? listener = null;
        if (selfVoter is not null)
        {
            // Bind where the controller listener says; a voter without one listens where the voter list points at it.
            var controllerListener = config.ControllerListeners.FirstOrDefault();
            listener = controllerListener is not null
                ? await ResolveAsync(controllerListener.Host, controllerListener.Port, bindAny: controllerListener.BindsAllInterfaces).ConfigureAwait(false)
                : await ResolveAsync(selfVoter.Host, selfVoter.Port, bindAny: false).ConfigureAwait(false);
        }

        return new RaftQuorumOptions
        {
            NodeId = config.NodeId,
            Voters = voters,
            DataDirectory = dataDirectory,
            Listener = listener,
            ElectionTimeout = electionTimeout,
            HeartbeatInterval = heartbeat,
        };
    }

    public async Task<MetadataAppendResult> TryAppendAsync(IReadOnlyList<MetadataRecord> records, long expectedEpoch, CancellationToken cancellationToken)
    {
        var result = await _quorum.TryAppendAsync(records, expectedEpoch, cancellationToken).ConfigureAwait(false);
        return new MetadataAppendResult(result.Error, result.Offset, result.LeaderId);
    }

    public async IAsyncEnumerable<MetadataBatch> ReadCommittedAsync(long fromOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var batch in _quorum.ReadCommittedBatchesAsync(fromOffset, cancellationToken).ConfigureAwait(false))
        {
            yield return new MetadataBatch(batch.Offset, batch.Epoch, batch.Records, batch.IsSnapshot);
        }
    }

    /// <summary>Stores a snapshot of the state through <paramref name="lastIncludedOffset"/> (inclusive, committed); the
    /// quorum log is then cut below it and lagging followers or new observers are sent it.</summary>
    public Task WriteSnapshotAsync(long lastIncludedOffset, IReadOnlyList<MetadataRecord> records, CancellationToken cancellationToken) =>
        _quorum.WriteSnapshotAsync(lastIncludedOffset, records, cancellationToken);

    /// <summary>A controller RPC to the active controller; returns the response body.</summary>
    /// <exception cref="NotControllerException">No leader known, the leader changed or the call failed; retry.</exception>
    public Task<byte[]> CallControllerAsync(ControllerCall call, CancellationToken cancellationToken) =>
        _quorum.CallLeaderAsync(EncodeCall(call), cancellationToken);

    /// <summary>Installs the active controller's handler for controller calls (used while this node leads).</summary>
    public void SetControllerRequestHandler(Func<ControllerCall, CancellationToken, Task<byte[]>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _quorum.SetLeaderRequestHandler((bytes, cancellation) => handler(DecodeCall(bytes), cancellation));
    }

    /// <summary>The quorum for DescribeQuorum: leader, epoch, committed end, and each voter's progress as known here.</summary>
    public QuorumDescription Describe()
    {
        var leadership = _quorum.Leadership;
        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var voters = _quorum.VoterProgress()
            .Select(v => new QuorumReplicaDescription(v.VoterId, v.LogEndOffset,
                v.MillisecondsSinceLastHeard < 0 ? -1 : nowMs - v.MillisecondsSinceLastHeard, -1))
            .ToList();
        return new QuorumDescription(leadership.LeaderId, leadership.Epoch, _quorum.CommittedOffset + 1, voters, []);
    }

    public async ValueTask DisposeAsync()
    {
        _quorum.LeadershipChanged -= OnLeadershipChanged;
        await _quorum.DisposeAsync().ConfigureAwait(false);
    }

    private void OnLeadershipChanged(QuorumLeadership leadership) => LeadershipChanged?.Invoke(ToMetadata(leadership));

    private static MetadataLeadership ToMetadata(QuorumLeadership leadership) => new(leadership.LeaderId, leadership.Epoch);

    /// <summary>A call on the quorum's leader channel: <c>int16 apiKey, int16 apiVersion, body</c>.</summary>
    private static byte[] EncodeCall(ControllerCall call)
    {
        var bytes = new byte[4 + call.Body.Length];
        BinaryPrimitives.WriteInt16BigEndian(bytes, call.ApiKey);
        BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(2), call.ApiVersion);
        call.Body.Span.CopyTo(bytes.AsSpan(4));
        return bytes;
    }

    private static ControllerCall DecodeCall(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.Length < 4)
        {
            throw new MalformedMessageException($"Controller call of {bytes.Length} bytes has no api key and version");
        }

        return new ControllerCall(BinaryPrimitives.ReadInt16BigEndian(bytes.Span), BinaryPrimitives.ReadInt16BigEndian(bytes.Span[2..]), bytes[4..]);
    }

    /// <summary>Metadata records through <see cref="MetadataRecordSerde"/>, for the record-agnostic quorum.</summary>
    private sealed class MetadataRecordRaftSerde : IRecordSerde<MetadataRecord>
    {
        public static readonly MetadataRecordRaftSerde Instance = new();

        public byte[] Serialize(MetadataRecord record) => MetadataRecordSerde.Serialize(record);

        public MetadataRecord Deserialize(ReadOnlyMemory<byte> bytes) => MetadataRecordSerde.Deserialize(bytes);
    }

    private static async Task<IPEndPoint> ResolveAsync(string host, int port, bool bindAny)
    {
        if (bindAny || host.Length == 0)
        {
            return new IPEndPoint(host == "::" ? IPAddress.IPv6Any : IPAddress.Any, port);
        }

        if (IPAddress.TryParse(host, out var address))
        {
            return new IPEndPoint(address, port);
        }

        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(host).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new ArgumentException($"Controller listener host '{host}' does not resolve: {e.Message}", nameof(host), e);
        }

        // Prefer IPv4, as the rest of the broker's listeners do for names like localhost.
        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new ArgumentException($"Controller listener host '{host}' has no addresses", nameof(host));
        return new IPEndPoint(chosen, port);
    }

    [LoggerMessage(EventId = 1230, EventName = "MetadataQuorumJoined", Level = LogLevel.Information,
        Message = "Node {NodeId} joined the metadata quorum of {Voters} voters as {Role} (listener {Listener})")]
    private static partial void LogStarted(ILogger logger, int nodeId, int voters, string role, string listener);
}
