using Microsoft.Extensions.Logging;
using Tributary.Raft.Log;
using Tributary.Raft.Transport;

namespace Tributary.Raft.Replication;

/// <summary>The follower's side of log replication: takes the leader's appends (Raft's consistency check, conflicting
/// uncommitted tails cut) and its snapshot chunks (assembled, bounded, checked, then installed).</summary>
/// <remarks>Not thread-safe: the quorum calls it under its lock, after accepting the sender as leader of its epoch.</remarks>
internal sealed class FollowerReplication
{
    private readonly int _nodeId;
    private readonly RaftQuorumOptions _options;
    private readonly RaftLog _log;
    private readonly IRaftTransport _transport;
    private readonly ILogger _logger;
    private readonly IReplicationHost _host;
    private IncomingSnapshot? _incoming;

    public FollowerReplication(RaftQuorumOptions options, RaftLog log, IRaftTransport transport, ILogger logger, IReplicationHost host)
    {
        _nodeId = options.NodeId;
        _options = options;
        _log = log;
        _transport = transport;
        _logger = logger;
        _host = host;
    }

    public void OnAppendRequest(AppendRequest request)
    {
        long prevIndex = request.PrevIndex;
        long prevTerm = request.PrevTerm;
        IReadOnlyList<QuorumEntry> offered = request.Entries;
        if (prevIndex < _log.SnapshotIndex)
        {
            // Entries up to our snapshot are committed, and committed entries are the same everywhere: skip them.
            long skip = _log.SnapshotIndex - prevIndex;
            if (skip >= offered.Count)
            {
                Answer(request.From, success: true, prevIndex + offered.Count);
                return;
            }

            offered = offered.Skip((int)skip).ToList();
            prevIndex = _log.SnapshotIndex;
            prevTerm = _log.TermAt(prevIndex);
        }

        if (prevIndex > _log.LastIndex)
        {
            Answer(request.From, success: false, _log.LastIndex + 1);
            return;
        }

        if (_log.TermAt(prevIndex) != prevTerm)
        {
            // Our entry at prevIndex is from a deposed leader and was never committed; the leader retries one earlier.
            Answer(request.From, success: false, Math.Max(1, prevIndex));
            return;
        }

        int firstNew = 0;
        long index = prevIndex + 1;
        while (firstNew < offered.Count && index <= _log.LastIndex && _log.TermAt(index) == offered[firstNew].Term)
        {
            firstNew++;
            index++;
        }

        if (firstNew < offered.Count)
        {
            if (index <= _log.LastIndex)
            {
                if (index <= _host.CommitIndex)
                {
                    throw new InvalidOperationException($"Leader {request.From} conflicts with committed entry {index}");
                }

                _logger.QuorumFollowerLogTruncated(_nodeId, index, request.From);
                _log.TruncateFrom(index);
            }

            _log.Append(offered.Skip(firstNew).ToList());
        }

        long lastMatched = prevIndex + offered.Count;
        if (request.LeaderCommit > _host.CommitIndex)
        {
            _host.AdvanceCommitIndex(Math.Min(request.LeaderCommit, lastMatched));
        }

        Answer(request.From, success: true, lastMatched);
    }

    /// <summary>InstallSnapshot: collect the chunks (bounded by <see cref="RaftQuorumOptions.MaxSnapshotBytes"/>), then
    /// install the snapshot; every chunk is answered with the position wanted next.</summary>
    public void OnInstallSnapshot(InstallSnapshotRequest request)
    {
        if (request.LastIndex <= _log.SnapshotIndex
            || (request.LastIndex <= _host.CommitIndex && request.LastIndex <= _log.LastIndex && _log.TermAt(request.LastIndex) == request.LastTerm))
        {
            // We hold this state already (as a snapshot or as committed entries): no need for the snapshot.
            _incoming = null;
            _transport.Send(new InstallSnapshotResponse(_nodeId, request.From, _host.Epoch, request.LastIndex, request.TotalBytes));
            return;
        }

        if (request.TotalBytes > _options.MaxSnapshotBytes)
        {
            _logger.QuorumSnapshotRejected(_nodeId, request.From, $"{request.TotalBytes} bytes exceed {_options.MaxSnapshotBytes}");
            return;
        }

        var incoming = _incoming;
        if (incoming is null || incoming.LastIndex != request.LastIndex || incoming.LastTerm != request.LastTerm || incoming.Data.Length != request.TotalBytes)
        {
            incoming = _incoming = new IncomingSnapshot(request.LastIndex, request.LastTerm, new byte[request.TotalBytes]);
        }

        if (request.Position == incoming.Received)
        {
            request.Chunk.CopyTo(incoming.Data.AsSpan(incoming.Received));
            incoming.Received += request.Chunk.Length;
        }

        if (incoming.Received == incoming.Data.Length)
        {
            _incoming = null;
            // Refuse what the layer above could not read, before it replaces our log.
            if (_host.CheckSnapshot(incoming.Data) is { } reason)
            {
                _logger.QuorumSnapshotRejected(_nodeId, request.From, reason);
                return;
            }

            _host.InstallSnapshot(request.From, new RaftSnapshot(incoming.LastIndex, incoming.LastTerm, incoming.Data));
        }

        _transport.Send(new InstallSnapshotResponse(_nodeId, request.From, _host.Epoch, request.LastIndex, incoming.Received));
    }

    private void Answer(int leaderId, bool success, long index) =>
        _transport.Send(new AppendResponse(_nodeId, leaderId, _host.Epoch, success, index));

    /// <summary>A snapshot being received from the leader, chunk by chunk.</summary>
    private sealed class IncomingSnapshot(long lastIndex, long lastTerm, byte[] data)
    {
        public long LastIndex { get; } = lastIndex;

        public long LastTerm { get; } = lastTerm;

        public byte[] Data { get; } = data;

        public int Received { get; set; }
    }
}
