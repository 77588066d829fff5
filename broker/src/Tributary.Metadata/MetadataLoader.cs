using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Tributary.Metadata;

/// <summary>Follows the committed metadata log and publishes one image per batch (and per controller change) to its
/// <see cref="IMetadataPublisher"/>s (Kafka's MetadataLoader).</summary>
/// <remarks>
/// One task reads the log, a second applies and publishes, so images are published strictly in log order and on the
/// loader's own task. A snapshot batch (the log was truncated below where this loader reads) resets the image to empty
/// and rebuilds it from the snapshot's records; the tail follows. Leadership changes only poke the publishing task, which
/// reads the current leader itself; the controller id therefore never goes backwards relative to the batches around it.
/// A publisher that throws is logged and skipped: one faulty listener must not stop the node from following the cluster.
/// Each reader of the log runs its own loader: the broker's (with the broker's publishers) and the active controller's
/// (none), so a slow broker-side publisher never holds back the controller.
/// </remarks>
public sealed partial class MetadataLoader : IAsyncDisposable
{
    /// <summary>Batches read ahead of the publisher; bounds memory when subscribers are slow.</summary>
    private const int ReadAheadBatches = 256;

    private static readonly TimeSpan ReadRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly IMetadataLog _log;
    private readonly MetadataApplier _applier;
    private readonly ILogger _logger;
    private readonly Channel<MetadataBatch?> _work = Channel.CreateBounded<MetadataBatch?>(new BoundedChannelOptions(ReadAheadBatches)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly CancellationTokenSource _stopping = new();
    private volatile MetadataImage _current;
    private long _appliedOffset = -1;
    private TaskCompletionSource _published = NewSignal();
    private Task _reading = Task.CompletedTask;
    private Task _publishing = Task.CompletedTask;
    private int _started;
    private IMetadataPublisher[] _publishers = [];
    private readonly Lock _publishersGate = new();

    public MetadataLoader(IMetadataLog log, ILogger logger, MetadataImage? initial = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        _log = log;
        _logger = logger;
        _applier = new MetadataApplier(logger);
        _current = initial ?? MetadataImage.Empty;
        _appliedOffset = _current.Offset;
    }

    /// <summary>The latest published image.</summary>
    public MetadataImage Current => _current;

    /// <summary>The active controller (quorum leader) as of <see cref="Current"/>; -1 while unknown.</summary>
    public int ControllerId => _current.ControllerId;

    /// <summary>Adds a publisher: it receives every image published after this call, in order, after the publishers
    /// added before it.</summary>
    public void AddPublisher(IMetadataPublisher publisher)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        lock (_publishersGate)
        {
            _publishers = [.. _publishers, publisher];
        }
    }

    /// <summary>Stops publishing to <paramref name="publisher"/> (from the next image on).</summary>
    public void RemovePublisher(IMetadataPublisher publisher)
    {
        lock (_publishersGate)
        {
            _publishers = [.. _publishers.Where(p => !ReferenceEquals(p, publisher))];
        }
    }

    /// <summary>Starts following the log from the offset after <see cref="Current"/>'s.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The metadata loader is already started");
        }

        _log.LeadershipChanged += OnLeadershipChanged;
        var token = _stopping.Token;
        _publishing = Task.Run(() => PublishLoopAsync(token), CancellationToken.None);
        _reading = Task.Run(() => ReadLoopAsync(_current.Offset + 1, token), CancellationToken.None);

        // The leader may already be known (and never change again); let the publisher pick it up.
        _work.Writer.TryWrite(null);
    }

    /// <summary>Completes once <see cref="Current"/> has applied the batch at <paramref name="offset"/> (or a later one).</summary>
    /// <exception cref="OperationCanceledException">The token fired or the loader was disposed first.</exception>
    public async Task WaitForOffsetAsync(long offset, CancellationToken cancellationToken)
    {
        while (true)
        {
            var published = Volatile.Read(ref _published).Task;
            if (Volatile.Read(ref _appliedOffset) >= offset)
            {
                return;
            }

            if (_stopping.IsCancellationRequested)
            {
                throw new OperationCanceledException("The metadata loader stopped");
            }

            await published.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _log.LeadershipChanged -= OnLeadershipChanged;
        await _stopping.CancelAsync().ConfigureAwait(false);
        _work.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_reading, _publishing).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Expected on stop.
        }

        Volatile.Read(ref _published).TrySetResult();
        _stopping.Dispose();
    }

    private void OnLeadershipChanged(MetadataLeadership leadership) => _work.Writer.TryWrite(null);

    private async Task ReadLoopAsync(long fromOffset, CancellationToken cancellationToken)
    {
        var next = fromOffset;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var batch in _log.ReadCommittedAsync(next, cancellationToken).ConfigureAwait(false))
                {
                    await _work.Writer.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                    next = batch.Offset + 1;
                }

                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The log is local or a long poll to the leader; a failure is retried from where we got to.
                LogReadFailed(_logger, next, e);
                await Task.Delay(ReadRetryDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task PublishLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var item in _work.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var previous = _current;
                var image = previous;
                MetadataDelta delta;
                if (item is { } batch)
                {
                    if (batch.Offset <= image.Offset)
                    {
                        continue;
                    }

                    if (batch.IsSnapshot)
                    {
                        LogSnapshotLoaded(_logger, batch.Offset, batch.Records.Count, image.Offset);
                    }

                    image = ApplySafely(image, batch);
                    delta = new MetadataDelta(previous, batch.Offset, batch.Records, batch.IsSnapshot);
                }
                else
                {
                    delta = new MetadataDelta(previous, previous.Offset, [], isSnapshot: false);
                }

                var leaderId = _log.Leadership.LeaderId;
                if (leaderId != image.ControllerId)
                {
                    LogControllerChanged(_logger, image.ControllerId, leaderId);
                    image = image.WithBrokers(image.Brokers, leaderId);
                }

                if (!ReferenceEquals(image, _current))
                {
                    Publish(delta, image);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private MetadataImage ApplySafely(MetadataImage image, MetadataBatch batch)
    {
        try
        {
            if (batch.IsSnapshot)
            {
                // The snapshot is the whole state through its offset: start from empty (same cluster-visible controller
                // and an epoch that still only grows), so nothing the snapshot no longer holds survives.
                var empty = new MetadataImage("", image.ControllerId, MetadataImage.Empty.Brokers, MetadataImage.Empty.Topics, image.Epoch);
                return _applier.Apply(empty, batch);
            }

            return _applier.Apply(image, batch);
        }
        catch (Exception e)
        {
            // A bug in the applier: keep following the log (as Kafka's loader does with its fault handler) rather than
            // stall every waiter; the offset still advances so callers are not stuck on this batch.
            LogApplyFailed(_logger, batch.Offset, e);
            return new MetadataImage(image.ClusterId, image.ControllerId, image.Brokers, image.Topics, image.Epoch + 1, batch.Offset,
                image.NextProducerId, image.BrokerConfigs);
        }
    }

    private void Publish(MetadataDelta delta, MetadataImage image)
    {
        _current = image;
        foreach (var publisher in Volatile.Read(ref _publishers))
        {
            try
            {
                publisher.OnMetadataUpdate(delta, image);
            }
            catch (Exception e)
            {
                LogSubscriberFailed(_logger, publisher.Name, image.Offset, e);
            }
        }

        // Waiters wake only once every publisher (the broker's replica manager first of all) has applied the image: a
        // client told "topic created" can produce to it on this broker at once.
        Volatile.Write(ref _appliedOffset, image.Offset);
        var signal = Interlocked.Exchange(ref _published, NewSignal());
        signal.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(EventId = 1210, EventName = "MetadataReadFailed", Level = LogLevel.Warning,
        Message = "Reading the metadata log from offset {Offset} failed; retrying")]
    private static partial void LogReadFailed(ILogger logger, long offset, Exception exception);

    [LoggerMessage(EventId = 1211, EventName = "MetadataApplyFailed", Level = LogLevel.Error,
        Message = "Applying metadata batch {Offset} failed; the image skips it")]
    private static partial void LogApplyFailed(ILogger logger, long offset, Exception exception);

    [LoggerMessage(EventId = 1212, EventName = "MetadataSubscriberFailed", Level = LogLevel.Error,
        Message = "Metadata publisher {Publisher} failed on the image at offset {Offset}")]
    private static partial void LogSubscriberFailed(ILogger logger, string publisher, long offset, Exception exception);

    [LoggerMessage(EventId = 1213, EventName = "ControllerChanged", Level = LogLevel.Information,
        Message = "Active controller changed from {Previous} to {Current}")]
    private static partial void LogControllerChanged(ILogger logger, int previous, int current);

    [LoggerMessage(EventId = 1214, EventName = "MetadataSnapshotLoaded", Level = LogLevel.Information,
        Message = "Loading the metadata snapshot through offset {Offset} ({Records} records) over the image at offset {Previous}")]
    private static partial void LogSnapshotLoaded(ILogger logger, long offset, int records, long previous);
}
