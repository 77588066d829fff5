using System.Runtime.CompilerServices;
using Tributary.Metadata;
using Tributary.Metadata.Records;
using Tributary.Protocol;
using Tributary.Raft;

namespace Tributary.Tests.Shared.Metadata;

/// <summary>
/// A test double of <see cref="IMetadataLog"/>: a single-node, in-memory metadata log; appends commit at once,
/// leadership is set by the test. It implements the whole contract, snapshots included.
/// </summary>
/// <remarks>
/// Mimics the quorum where it matters: a new leader first commits an empty epoch-start batch and only then reports
/// <see cref="LeaderReadyOffset"/>; appends check the expected epoch; controller calls reach the installed handler only
/// while this node leads (or, when another leader is known, the handler set with <see cref="SetRemoteController"/>),
/// otherwise they throw <see cref="NotControllerException"/>. <see cref="WriteSnapshotAsync"/> keeps the latest snapshot;
/// <see cref="TruncateBelowLatestSnapshot"/> drops the batches it covers, after which a read from below the log start
/// begins with the snapshot (as the Raft log does after truncation).
/// </remarks>
internal sealed class InMemoryMetadataLogTestDouble : IMetadataLog
{
    private readonly object _lock = new();
    private readonly List<MetadataBatch> _batches = [];
    private MetadataBatch? _snapshot;
    private readonly List<MetadataBatch> _snapshots = [];
    private long _logStartOffset;
    private TaskCompletionSource _appended = NewSignal();
    private MetadataLeadership _leadership = new(-1, 0);
    private long _leaderReadyOffset = -1;
    private long _nextOffset;
    private Func<ControllerCall, CancellationToken, Task<byte[]>>? _handler;
    private Func<ControllerCall, CancellationToken, Task<byte[]>>? _remoteController;
    private readonly CancellationTokenSource _disposed = new();
    private int _controllerCalls;

    public InMemoryMetadataLogTestDouble(int nodeId = 1, bool isVoter = true)
    {
        NodeId = nodeId;
        IsVoter = isVoter;
    }

    public int NodeId { get; }

    public bool IsVoter { get; }

    public MetadataLeadership Leadership
    {
        get
        {
            lock (_lock)
            {
                return _leadership;
            }
        }
    }

    public event Action<MetadataLeadership>? LeadershipChanged;

    public long LeaderReadyOffset => Interlocked.Read(ref _leaderReadyOffset);

    public bool IsLeader => Leadership.LeaderId == NodeId;

    /// <summary>When set, the next appends fail with this error (nothing appended); None turns it off.</summary>
    public ErrorCode FailAppendsWith { get; set; } = ErrorCode.None;

    /// <summary>How many times <see cref="CallControllerAsync"/> was called (answered or not).</summary>
    public int ControllerCalls => Volatile.Read(ref _controllerCalls);

    /// <summary>Every committed batch so far, in order.</summary>
    public IReadOnlyList<MetadataBatch> Batches
    {
        get
        {
            lock (_lock)
            {
                return _batches.ToList();
            }
        }
    }

    /// <summary>Offset of the last committed batch, -1 when empty.</summary>
    public long LastOffset
    {
        get
        {
            lock (_lock)
            {
                return _nextOffset - 1;
            }
        }
    }

    /// <summary>Makes this node the leader in <paramref name="epoch"/>: commits an empty epoch-start batch and sets
    /// <see cref="LeaderReadyOffset"/> to its offset. Returns that offset.</summary>
    public long BecomeLeader(long epoch)
    {
        MetadataLeadership leadership;
        long readyOffset;
        lock (_lock)
        {
            if (epoch <= _leadership.Epoch && _leadership.LeaderId >= 0)
            {
                throw new InvalidOperationException($"epoch {epoch} is not newer than {_leadership.Epoch}");
            }

            _leadership = leadership = new MetadataLeadership(NodeId, epoch);
            readyOffset = CommitLocked([], epoch);
            _leaderReadyOffset = readyOffset;
        }

        LeadershipChanged?.Invoke(leadership);
        return readyOffset;
    }

    /// <summary>Another node (or none, -1) now leads, in <paramref name="newEpoch"/> (default: the next epoch).</summary>
    public void LoseLeadership(int newLeaderId, long? newEpoch = null)
    {
        MetadataLeadership leadership;
        lock (_lock)
        {
            _leadership = leadership = new MetadataLeadership(newLeaderId, newEpoch ?? _leadership.Epoch + 1);
            _leaderReadyOffset = -1;
        }

        LeadershipChanged?.Invoke(leadership);
    }

    /// <summary>Commits a batch as if another leader had written it (no leadership or epoch check).</summary>
    public long CommitExternally(params MetadataRecord[] records)
    {
        lock (_lock)
        {
            return CommitLocked(records, _leadership.Epoch);
        }
    }

    /// <summary>Answers controller calls while another node leads (a stand-in for the remote active controller).</summary>
    public void SetRemoteController(Func<ControllerCall, CancellationToken, Task<byte[]>>? handler) =>
        Volatile.Write(ref _remoteController, handler);

    public Task<MetadataAppendResult> TryAppendAsync(IReadOnlyList<MetadataRecord> records, long expectedEpoch, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var notLeader = _leadership.LeaderId != NodeId || (expectedEpoch >= 0 && expectedEpoch != _leadership.Epoch);
            if (notLeader || FailAppendsWith != ErrorCode.None)
            {
                var error = notLeader ? ErrorCode.NotController : FailAppendsWith;
                return Task.FromResult(new MetadataAppendResult(error, -1, _leadership.LeaderId));
            }

            var offset = CommitLocked(records.ToList(), _leadership.Epoch);
            return Task.FromResult(new MetadataAppendResult(ErrorCode.None, offset, NodeId));
        }
    }

    public async IAsyncEnumerable<MetadataBatch> ReadCommittedAsync(long fromOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        var next = fromOffset;
        while (true)
        {
            List<MetadataBatch> ready = [];
            Task appended;
            lock (_lock)
            {
                if (next < _logStartOffset && _snapshot is { } snapshot)
                {
                    // Below the log start: what is gone is only in the snapshot.
                    ready.Add(snapshot);
                    next = snapshot.Offset + 1;
                }

                ready.AddRange(_batches.Where(b => b.Offset >= next));
                if (ready.Count > 0)
                {
                    next = ready[^1].Offset + 1;
                }

                appended = _appended.Task;
            }

            foreach (var batch in ready)
            {
                yield return batch;
            }

            try
            {
                await appended.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_disposed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                yield break;
            }
        }
    }

    /// <summary>Offset of the first batch still held (batches below it live only in the latest snapshot).</summary>
    public long LogStartOffset
    {
        get
        {
            lock (_lock)
            {
                return _logStartOffset;
            }
        }
    }

    public long LatestSnapshotOffset
    {
        get
        {
            lock (_lock)
            {
                return _snapshot?.Offset ?? -1;
            }
        }
    }

    /// <summary>Every snapshot stored, in order.</summary>
    public IReadOnlyList<MetadataBatch> SnapshotsWrittenList
    {
        get
        {
            lock (_lock)
            {
                return _snapshots.ToList();
            }
        }
    }

    public Task WriteSnapshotAsync(long lastIncludedOffset, IReadOnlyList<MetadataRecord> records, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var last = _batches.Count == 0 ? _logStartOffset - 1 : _batches[^1].Offset;
            if (lastIncludedOffset > last)
            {
                throw new ArgumentOutOfRangeException(nameof(lastIncludedOffset), lastIncludedOffset, $"not committed (last committed {last})");
            }

            if (lastIncludedOffset > (_snapshot?.Offset ?? -1))
            {
                var epoch = _batches.LastOrDefault(b => b.Offset <= lastIncludedOffset).Epoch;
                _snapshot = new MetadataBatch(lastIncludedOffset, epoch, records.ToList(), IsSnapshot: true);
                _snapshots.Add(_snapshot.Value);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Drops every batch the latest snapshot covers (as the Raft log does once a snapshot is stored).</summary>
    public void TruncateBelowLatestSnapshot()
    {
        lock (_lock)
        {
            if (_snapshot is { } snapshot)
            {
                _batches.RemoveAll(b => b.Offset <= snapshot.Offset);
                _logStartOffset = snapshot.Offset + 1;
            }
        }
    }

    public async Task<byte[]> CallControllerAsync(ControllerCall request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _controllerCalls);
        cancellationToken.ThrowIfCancellationRequested();
        var leadership = Leadership;
        var handler = leadership.LeaderId == NodeId ? Volatile.Read(ref _handler)
            : leadership.LeaderId >= 0 ? Volatile.Read(ref _remoteController)
            : null;
        if (handler is null)
        {
            throw new NotControllerException(leadership.LeaderId);
        }

        var answer = await handler(request, cancellationToken).ConfigureAwait(false);
        if (Leadership != leadership)
        {
            // As over the wire: an answer that races a leader change is not trusted.
            throw new NotControllerException(Leadership.LeaderId);
        }

        return answer;
    }

    public void SetControllerRequestHandler(Func<ControllerCall, CancellationToken, Task<byte[]>> handler) =>
        Volatile.Write(ref _handler, handler);

    public ValueTask DisposeAsync()
    {
        _disposed.Cancel();
        return ValueTask.CompletedTask;
    }

    private long CommitLocked(IReadOnlyList<MetadataRecord> records, long epoch)
    {
        var offset = _nextOffset++;
        _batches.Add(new MetadataBatch(offset, epoch, records));
        var signal = _appended;
        _appended = NewSignal();
        signal.TrySetResult();
        return offset;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
