using Microsoft.Extensions.Logging;
using Tributary.Raft.Log;
using Tributary.Raft.Transport;

namespace Tributary.Raft.Observer;

/// <summary>What the observer's fetch loop needs from its quorum node (implemented under the node's lock).</summary>
internal interface IObserverSink
{
    /// <summary>The leader to fetch from (-1: unknown) and the offset to fetch from (the log end).</summary>
    (int LeaderId, long FromOffset) FetchPosition();

    /// <summary>Takes a fetch answer; true when <paramref name="target"/> answered as the leader of the known epoch.</summary>
    bool ApplyFetchResponse(int target, long fromOffset, FetchCommittedResponse response);

    /// <summary>Installs a snapshot fetched in full from <paramref name="fromId"/>.</summary>
    void InstallSnapshot(int fromId, RaftSnapshot snapshot);
}

/// <summary>An observer's only activity: long-poll the leader for committed entries (Kafka's observers Fetch the
/// metadata log the same way); with no leader known, or while the known one does not answer as leader, rotate over the
/// voters (each answers with the leader and epoch it knows) — the known leader stays known until a newer epoch names another.
/// When the leader answers that the wanted offset lies below its log start, fetch its snapshot chunk by chunk
/// (FetchSnapshot) and install it, then go on from the snapshot's end.</summary>
internal sealed class ObserverFetcher
{
    /// <summary>Longest a fetch may wait on the leader for new commits, whatever it asks for.</summary>
    public const int MaxFetchWaitMs = 30_000;

    private readonly RaftQuorumOptions _options;
    private readonly IRaftTransport _transport;
    private readonly IObserverSink _sink;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public ObserverFetcher(RaftQuorumOptions options, IRaftTransport transport, IObserverSink sink, ILogger logger)
    {
        _options = options;
        _transport = transport;
        _sink = sink;
        _logger = logger;
        _time = options.TimeProvider;
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        int rotation = Random.Shared.Next(_options.Voters.Count);
        int maxWaitMs = (int)Math.Min((long)_options.HeartbeatInterval.TotalMilliseconds * 5, MaxFetchWaitMs);
        int maxBytes = QuorumTransport.MaxAppendBytes(_options);
        // The known leader whose last fetch failed or was answered by a non-leader: ask the voters in turn instead,
        // until it answers as leader again or a newer epoch names another leader.
        int suspected = -1;
        while (!stopping.IsCancellationRequested)
        {
            var (leader, fromOffset) = _sink.FetchPosition();
            int target = leader >= 0 && leader != suspected ? leader : _options.Voters[rotation++ % _options.Voters.Count].Id;

            bool leaderFound;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(maxWaitMs) + _options.ElectionTimeout, _time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
                var frame = await _transport.CallAsync(target,
                    id => new FetchCommittedRequest(id, _options.NodeId, fromOffset, _options.MaxEntriesPerAppend, maxBytes, maxWaitMs),
                    linked.Token).ConfigureAwait(false);
                if (frame is not FetchCommittedResponse response)
                {
                    throw new IOException($"Voter {target} answered a fetch with {frame.GetType().Name}");
                }

                leaderFound = _sink.ApplyFetchResponse(target, fromOffset, response);
                if (response.SnapshotLastIndex >= 1 && response.LeaderId == target)
                {
                    var snapshot = await FetchSnapshotAsync(target, response.SnapshotLastIndex, response.SnapshotLastTerm, linked.Token)
                        .ConfigureAwait(false);
                    if (snapshot is not null)
                    {
                        _sink.InstallSnapshot(target, snapshot);
                    }
                }
            }
            catch (Exception e) when (e is IOException || (e is OperationCanceledException && !stopping.IsCancellationRequested))
            {
                _logger.QuorumObserverFetchFailed(_options.NodeId, target, e.Message);
                leaderFound = false;
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (leaderFound)
            {
                suspected = -1;
            }
            else if (target == leader)
            {
                suspected = leader;
            }

            if (!leaderFound)
            {
                try
                {
                    await Task.Delay(_options.HeartbeatInterval, _time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Fetches the whole snapshot, chunk by chunk; null when the voter no longer holds it (the next fetch
    /// answer names the newer one).</summary>
    /// <exception cref="IOException">The voter answered inconsistently or beyond the bounds.</exception>
    private async Task<RaftSnapshot?> FetchSnapshotAsync(int target, long lastIndex, long lastTerm, CancellationToken cancellationToken)
    {
        byte[]? data = null;
        int position = 0;
        while (data is null || position < data.Length)
        {
            var frame = await _transport.CallAsync(target,
                id => new FetchSnapshotRequest(id, _options.NodeId, lastIndex, lastTerm, position, _options.SnapshotChunkBytes),
                cancellationToken).ConfigureAwait(false);
            if (frame is not FetchSnapshotResponse chunk)
            {
                throw new IOException($"Voter {target} answered a snapshot fetch with {frame.GetType().Name}");
            }

            if (!chunk.Found)
            {
                return null;
            }

            if (chunk.LastIndex != lastIndex || chunk.LastTerm != lastTerm || chunk.Position != position
                || chunk.TotalBytes > _options.MaxSnapshotBytes || (data is not null && chunk.TotalBytes != data.Length)
                || (chunk.Chunk.Length == 0 && position < chunk.TotalBytes))
            {
                throw new IOException($"Voter {target} sent a snapshot chunk that does not fit: {chunk.Position}+{chunk.Chunk.Length} of "
                                      + $"{chunk.TotalBytes} bytes (at most {_options.MaxSnapshotBytes}) through index {chunk.LastIndex}");
            }

            data ??= new byte[chunk.TotalBytes];
            chunk.Chunk.CopyTo(data.AsSpan(position));
            position += chunk.Chunk.Length;
        }

        return new RaftSnapshot(lastIndex, lastTerm, data);
    }
}
