using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller;

/// <summary>
/// The active controller of the cluster (KRaft's QuorumController): turns commands into metadata records, commits them
/// through the metadata quorum and answers once its own replayed state has applied them.
/// </summary>
/// <remarks>
/// Every voter runs one. It keeps its own replayed state: a <see cref="MetadataLoader"/> of its own over the metadata log
/// (snapshot plus tail), with no publishers, so nothing the broker does with an image (creating logs, fsyncing
/// checkpoints) can hold back a controller answer. It acts only while its node leads the quorum and that state has reached
/// <see cref="IMetadataLog.LeaderReadyOffset"/> (everything a previous leader committed). All work — commands and timer
/// ticks — runs one item at a time on a single queue, and every write is applied before the next item starts, so each
/// decision sees all earlier ones. Appends carry the epoch the controller became active in: if leadership moved on in
/// between, nothing is written and the caller gets NOT_CONTROLLER.
/// Split by concern: the work loop, activation and writes here; command handling in partial files per area — brokers
/// (registration, heartbeats, fencing), topics, partitions (ISR, elections, reassignments), configs, limits; replica
/// placement in <see cref="ReplicaPlacement"/>; replay in the controller's own <see cref="MetadataLoader"/>.
/// </remarks>
public sealed partial class QuorumController : IAsyncDisposable, IControllerCommandHandler
{
    private readonly IMetadataLog _log;
    private readonly MetadataLoader _state;
    private readonly QuorumControllerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ReplicaPlacement _placement;
    private readonly Channel<WorkItem> _queue = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private ITimer? _timer;
    private Task? _loop;
    private int _tickQueued;

    // Loop-owned state (only touched by the work loop, except _activeEpoch which IsActive reads).
    private long _activeEpoch = -1;
    private long _mustApplyOffset = -1;
    private long _activationOffset = -1;
    private DateTimeOffset _nextRebalance;
    private readonly Dictionary<int, DateTimeOffset> _sessionDeadlines = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, (long Epoch, DateTimeOffset At)> _heartbeatArrivals = new();
    private readonly Dictionary<int, long> _registrationOffsets = [];
    private readonly Dictionary<int, long> _shutdownOffsets = [];

    /// <param name="log">The metadata quorum; the controller reads the committed log itself.</param>
    public QuorumController(IMetadataLog log, QuorumControllerOptions options, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(options);
        _log = log;
        _state = new MetadataLoader(log, logger);
        _options = options;
        _time = time;
        _logger = logger;
        _placement = new ReplicaPlacement(options.PlacementSeed);
    }

    /// <summary>The controller's own replayed state: the committed metadata log as this controller has applied it.</summary>
    public MetadataImage Image => _state.Current;

    /// <summary>Whether this node is the active controller right now (leads the quorum, in the epoch it activated in).</summary>
    public bool IsActive
    {
        get
        {
            var epoch = Interlocked.Read(ref _activeEpoch);
            var leadership = _log.Leadership;
            return epoch >= 0 && leadership.LeaderId == _log.NodeId && leadership.Epoch == epoch;
        }
    }

    /// <summary>Starts the work loop, the tick timer, and listens for leadership changes.</summary>
    public void Start()
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("The controller is already started.");
        }

        _state.Start();
        _log.LeadershipChanged += OnLeadershipChanged;
        _loop = Task.Run(RunAsync);
        if (_options.TickInterval != Timeout.InfiniteTimeSpan)
        {
            _timer = _time.CreateTimer(_ => EnqueueTick(), null, _options.TickInterval, _options.TickInterval);
        }

        EnqueueTick();
    }

    /// <summary>Decides <paramref name="command"/>; NOT_CONTROLLER (in the command's reply type) when this node is not the
    /// active controller, or lost leadership before the change committed (then nothing was written).</summary>
    public async Task<ControllerReply> HandleAsync(ControllerCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (_loop is null || _stopping.IsCancellationRequested || !_log.IsVoter)
        {
            return ErrorReply(command, ErrorCode.NotController, "This node is not the active controller.");
        }

        if (command is BrokerHeartbeatCommand heartbeat)
        {
            // Noted on arrival, not when the queue gets to it: a broker is never fenced for time this controller spent busy.
            _heartbeatArrivals[heartbeat.BrokerId] = (heartbeat.BrokerEpoch, _time.GetUtcNow());
        }

        var item = new WorkItem(command, cancellationToken);
        if (!_queue.Writer.TryWrite(item))
        {
            return ErrorReply(command, ErrorCode.NotController, "The controller is shutting down.");
        }

        return await item.Reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Serves one controller-listener request (installed with <see cref="IMetadataLog.SetControllerRequestHandler"/>):
    /// decodes the command, decides it, encodes the reply.</summary>
    /// <exception cref="MalformedMessageException">The call is not one this controller serves, or undecodable.</exception>
    public async Task<byte[]> ServeAsync(ControllerCall call, CancellationToken cancellationToken)
    {
        var command = ControllerCalls.DecodeCall(call);
        return ControllerCalls.EncodeReply(call.ApiKey, await HandleAsync(command, cancellationToken).ConfigureAwait(false), command);
    }

    /// <summary>Runs one timer tick now, in order with queued commands (the timer does this every
    /// <see cref="QuorumControllerOptions.TickInterval"/>).</summary>
    public async Task RunTickAsync(CancellationToken cancellationToken)
    {
        var item = new WorkItem(null, cancellationToken);
        if (_queue.Writer.TryWrite(item))
        {
            await item.Reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _log.LeadershipChanged -= OnLeadershipChanged;
        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }

        _queue.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        while (_queue.Reader.TryRead(out var item))
        {
            item.Complete(item.Command is null ? Ack : ErrorReply(item.Command, ErrorCode.NotController, "The controller is shutting down."));
        }

        await _state.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static readonly ControllerReply Ack = new(ErrorCode.None);

    private void OnLeadershipChanged(MetadataLeadership leadership) => EnqueueTick();

    private void EnqueueTick()
    {
        // One pending tick is enough: it looks at the state when it runs.
        if (Interlocked.Exchange(ref _tickQueued, 1) == 0 && !_queue.Writer.TryWrite(new WorkItem(null, CancellationToken.None)))
        {
            Volatile.Write(ref _tickQueued, 0);
        }
    }

    private async Task RunAsync()
    {
        try
        {
            await foreach (var item in _queue.Reader.ReadAllAsync(_stopping.Token).ConfigureAwait(false))
            {
                if (item.Command is null)
                {
                    Volatile.Write(ref _tickQueued, 0);
                }

                if (item.CancellationToken.IsCancellationRequested)
                {
                    item.Cancel();
                    continue;
                }

                try
                {
                    item.Complete(await ProcessAsync(item.Command).ConfigureAwait(false));
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                    item.Complete(item.Command is null ? Ack : ErrorReply(item.Command, ErrorCode.NotController, "The controller is shutting down."));
                }
                catch (Exception e)
                {
                    // A bug or an I/O fault of the log: the outcome of a write in flight is unknown, so stop deciding
                    // until this node re-activates (which waits for everything committed to be applied).
                    LogWorkFailed(_logger, e, item.Command?.GetType().Name ?? "tick");
                    Deactivate("work item failed");
                    item.Complete(item.Command is null ? Ack : ErrorReply(item.Command, ErrorCode.UnknownServerError, e.Message));
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private async Task<ControllerReply> ProcessAsync(ControllerCommand? command)
    {
        if (!await EnsureActiveAsync().ConfigureAwait(false))
        {
            return command is null ? Ack : ErrorReply(command, ErrorCode.NotController, "This node is not the active controller.");
        }

        if (command is null)
        {
            await TickAsync().ConfigureAwait(false);
            return Ack;
        }

        return command switch
        {
            RegisterBrokerCommand c => await RegisterBrokerAsync(c).ConfigureAwait(false),
            BrokerHeartbeatCommand c => await HeartbeatAsync(c).ConfigureAwait(false),
            UnregisterBrokerCommand c => await UnregisterBrokerAsync(c).ConfigureAwait(false),
            AllocateProducerIdsCommand c => await AllocateProducerIdsAsync(c).ConfigureAwait(false),
            CreateTopicCommand c => await CreateTopicAsync(c).ConfigureAwait(false),
            DeleteTopicCommand c => await DeleteTopicAsync(c).ConfigureAwait(false),
            CreatePartitionsCommand c => await CreatePartitionsAsync(c).ConfigureAwait(false),
            ReplaceTopicConfigsCommand c => await ReplaceTopicConfigsAsync(c).ConfigureAwait(false),
            ReplaceBrokerConfigsCommand c => await ReplaceBrokerConfigsAsync(c).ConfigureAwait(false),
            AlterPartitionCommand c => await AlterPartitionAsync(c).ConfigureAwait(false),
            ElectLeadersCommand c => await ElectLeadersAsync(c).ConfigureAwait(false),
            AlterReassignmentsCommand c => await AlterReassignmentsAsync(c).ConfigureAwait(false),
            _ => ErrorReply(command, ErrorCode.InvalidRequest, $"Unsupported controller command {command.GetType().Name}."),
        };
    }

    /// <summary>Becomes (or stays) active when this node leads and its image holds everything committed before.</summary>
    private async Task<bool> EnsureActiveAsync()
    {
        var leadership = _log.Leadership;
        if (leadership.LeaderId != _log.NodeId)
        {
            Deactivate("another node leads the metadata quorum");
            return false;
        }

        if (Interlocked.Read(ref _activeEpoch) == leadership.Epoch)
        {
            return true;
        }

        Deactivate("new leadership epoch");
        var ready = _log.LeaderReadyOffset;
        if (ready < 0)
        {
            return false; // the epoch-start entry has not committed yet; a later tick or command tries again
        }

        var mustApply = Math.Max(ready, _mustApplyOffset);
        if (!await WaitAppliedAsync(mustApply).ConfigureAwait(false) || _log.Leadership != leadership)
        {
            return false;
        }

        var image = _state.Current;
        var now = _time.GetUtcNow();
        Interlocked.Exchange(ref _activeEpoch, leadership.Epoch);
        _activationOffset = image.Offset;
        _nextRebalance = now + _options.LeaderImbalanceCheckInterval;
        foreach (var broker in image.Brokers.Values)
        {
            // A new controller has no idea when brokers last heartbeated: give everyone a full session.
            _sessionDeadlines[broker.NodeId] = now + _options.BrokerSessionTimeout;
            _registrationOffsets[broker.NodeId] = image.Offset;
        }

        LogActivated(_logger, _log.NodeId, leadership.Epoch, image.Offset);
        if (image.ClusterId.Length == 0)
        {
            var clusterId = string.IsNullOrEmpty(_options.ClusterId) ? Uuid.NewRandom().ToString() : _options.ClusterId;
            var (error, _) = await WriteAsync([new ClusterIdRecord(clusterId)]).ConfigureAwait(false);
            if (error != ErrorCode.None)
            {
                return false;
            }

            LogClusterIdWritten(_logger, clusterId);
        }

        return true;
    }

    private void Deactivate(string reason)
    {
        if (Interlocked.Exchange(ref _activeEpoch, -1) >= 0)
        {
            LogDeactivated(_logger, _log.NodeId, reason);
        }

        _sessionDeadlines.Clear();
        _registrationOffsets.Clear();
        _shutdownOffsets.Clear();
    }

    /// <summary>Commits <paramref name="records"/> as one batch in the active epoch and waits until this node's image has
    /// applied them. NOT_CONTROLLER: leadership moved; nothing was written, or the outcome is unknown — either way this
    /// controller is no longer active.</summary>
    private async Task<(ErrorCode Error, long Offset)> WriteAsync(IReadOnlyList<MetadataRecord> records)
    {
        if (records.Count <= MaxRecordsPerWrite)
        {
            return await WriteBatchAsync(records).ConfigureAwait(false);
        }

        // More than one quorum entry holds (a topic with thousands of partitions, thousands of leaderships moving at once):
        // consecutive batches, each atomic, the whole not — readers may briefly see part of it, as with Kafka's
        // non-atomic controller batches. Each batch is applied before the next is written.
        (ErrorCode Error, long Offset) last = (ErrorCode.None, -1);
        for (var start = 0; start < records.Count; start += MaxRecordsPerWrite)
        {
            last = await WriteBatchAsync(records.Skip(start).Take(MaxRecordsPerWrite).ToList()).ConfigureAwait(false);
            if (last.Error != ErrorCode.None)
            {
                return last;
            }
        }

        return last;
    }

    /// <summary>Records per quorum entry this controller writes (the quorum accepts 10,000 and 1 MiB per entry).</summary>
    private const int MaxRecordsPerWrite = 2_000;

    private async Task<(ErrorCode Error, long Offset)> WriteBatchAsync(IReadOnlyList<MetadataRecord> records)
    {
        var epoch = Interlocked.Read(ref _activeEpoch);
        var result = await _log.TryAppendAsync(records, epoch, _stopping.Token).ConfigureAwait(false);
        if (result.Error == ErrorCode.MessageTooLarge)
        {
            // Nothing was written and leadership is intact: refuse this change, stay the active controller.
            LogAppendFailed(_logger, records.Count, epoch, result.Error, result.LeaderId);
            return (ErrorCode.MessageTooLarge, -1);
        }

        if (result.Error != ErrorCode.None)
        {
            LogAppendFailed(_logger, records.Count, epoch, result.Error, result.LeaderId);
            Deactivate($"append failed with {result.Error}");
            return (ErrorCode.NotController, -1);
        }

        if (!await WaitAppliedAsync(result.Offset).ConfigureAwait(false))
        {
            // Committed, but our image lags: decide nothing more until it has caught up.
            _mustApplyOffset = result.Offset;
            Deactivate("own write not applied in time");
        }

        return (ErrorCode.None, result.Offset);
    }

    private async Task<bool> WaitAppliedAsync(long offset)
    {
        if (_state.Current.Offset >= offset)
        {
            return true;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(_options.ApplyTimeout);
        try
        {
            await _state.WaitForOffsetAsync(offset, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
            LogApplyTimedOut(_logger, offset, _state.Current.Offset);
            return false;
        }
    }

    /// <summary>An error in the reply type the command expects, so callers can always cast.</summary>
    internal static ControllerReply ErrorReply(ControllerCommand command, ErrorCode error, string? message) =>
        ControllerReplies.Error(ReplyTypeOf(command), error, message);

    /// <summary>The reply type a command is answered with.</summary>
    private static Type ReplyTypeOf(ControllerCommand command) => command switch
    {
        RegisterBrokerCommand => typeof(RegisterBrokerReply),
        BrokerHeartbeatCommand => typeof(BrokerHeartbeatReply),
        AllocateProducerIdsCommand => typeof(ProducerIdsReply),
        AlterPartitionCommand => typeof(AlterPartitionReply),
        ElectLeadersCommand or AlterReassignmentsCommand => typeof(PartitionOutcomesReply),
        _ => typeof(ControllerReply),
    };

    /// <summary>A command (or, with a null command, a tick) and where its reply goes.</summary>
    private sealed class WorkItem(ControllerCommand? command, CancellationToken cancellationToken)
    {
        public ControllerCommand? Command { get; } = command;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<ControllerReply> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Complete(ControllerReply reply) => Reply.TrySetResult(reply);

        public void Cancel() => Reply.TrySetCanceled(CancellationToken);
    }

    [LoggerMessage(EventId = 1250, EventName = "ControllerActivated", Level = LogLevel.Information, Message = "Node {NodeId} is the active controller in epoch {Epoch} (image at offset {Offset})")]
    private static partial void LogActivated(ILogger logger, int nodeId, long epoch, long offset);

    [LoggerMessage(EventId = 1251, EventName = "ControllerDeactivated", Level = LogLevel.Information, Message = "Node {NodeId} is no longer the active controller: {Reason}")]
    private static partial void LogDeactivated(ILogger logger, int nodeId, string reason);

    [LoggerMessage(EventId = 1252, EventName = "ControllerClusterIdWritten", Level = LogLevel.Information, Message = "Cluster id set to {ClusterId}")]
    private static partial void LogClusterIdWritten(ILogger logger, string clusterId);

    [LoggerMessage(EventId = 1253, EventName = "ControllerAppendFailed", Level = LogLevel.Warning, Message = "Appending {Records} metadata records in epoch {Epoch} failed with {Error} (leader {LeaderId})")]
    private static partial void LogAppendFailed(ILogger logger, int records, long epoch, ErrorCode error, int leaderId);

    [LoggerMessage(EventId = 1254, EventName = "ControllerApplyTimedOut", Level = LogLevel.Warning, Message = "The metadata image did not reach offset {Offset} in time (at {Applied})")]
    private static partial void LogApplyTimedOut(ILogger logger, long offset, long applied);

    [LoggerMessage(EventId = 1255, EventName = "ControllerWorkFailed", Level = LogLevel.Error, Message = "Controller failed while handling {Work}")]
    private static partial void LogWorkFailed(ILogger logger, Exception exception, string work);
}
