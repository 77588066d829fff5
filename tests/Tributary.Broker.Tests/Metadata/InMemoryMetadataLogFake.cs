using System.Runtime.CompilerServices;
using Tributary.Broker.Metadata;
using Tributary.Raft;
using Tributary.Controller.Records;
using Tributary.Protocol;

namespace Tributary.Broker.Tests.Metadata;

/// <summary>
/// A single-node, in-memory metadata log: appends commit at once, leadership is set by the test.
/// </summary>
/// <remarks>
/// Mimics the quorum where it matters to the broker: a new leader first commits an empty epoch-start batch and only
/// then reports <see cref="LeaderReadyOffset"/>; appends check the expected epoch; controller calls reach the installed
/// handler only while this node leads (or, when another leader is known, the handler set with
/// <see cref="SetRemoteController"/>), otherwise they throw <see cref="NotControllerException"/>.
/// </remarks>
internal sealed class InMemoryMetadataLogFake : IMetadataLog
{
    private readonly object _lock = new();
    private readonly List<MetadataBatch> _batches = [];
    private TaskCompletionSource _appended = NewSignal();
    private MetadataLeadership _leadership = new(-1, 0);
    private long _leaderReadyOffset = -1;
    private long _nextOffset;
    private Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>>? _handler;
    private Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>>? _remoteController;
    private readonly CancellationTokenSource _disposed = new();
    private int _controllerCalls;

    public InMemoryMetadataLogFake(int nodeId = 1, bool isVoter = true)
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
                return _batches.Count == 0 ? -1 : _batches[^1].Offset;
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
    public void SetRemoteController(Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>>? handler) =>
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
        var index = 0;
        while (true)
        {
            MetadataBatch[] ready;
            Task appended;
            lock (_lock)
            {
                while (index < _batches.Count && _batches[index].Offset < fromOffset)
                {
                    index++;
                }

                ready = _batches.Skip(index).ToArray();
                index = _batches.Count;
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

    public async Task<byte[]> CallControllerAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
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

    public void SetControllerRequestHandler(Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>> handler) =>
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
