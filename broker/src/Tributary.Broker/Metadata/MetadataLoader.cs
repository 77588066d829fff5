using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Tributary.Broker.Metadata;

/// <summary>Follows the committed metadata log and publishes one image per batch (and per controller change).</summary>
/// <remarks>
/// One task reads the log, a second applies and publishes, so images are published strictly in log order and on the
/// loader's own task. Leadership changes only poke the publishing task, which reads the current leader itself; the
/// controller id therefore never goes backwards relative to the batches around it. A subscriber that throws is logged
/// and skipped: one faulty listener must not stop the broker from following the cluster.
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

    /// <summary>Raised with each new image, in order, on the loader's task.</summary>
    public event Action<MetadataImage>? ImagePublished;

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
                var image = _current;
                if (item is { } batch)
                {
                    if (batch.Offset <= image.Offset)
                    {
                        continue;
                    }

                    image = ApplySafely(image, batch);
                }

                var leaderId = _log.Leadership.LeaderId;
                if (leaderId != image.ControllerId)
                {
                    LogControllerChanged(_logger, image.ControllerId, leaderId);
                    image = image.WithBrokers(image.Brokers, leaderId);
                }

                if (!ReferenceEquals(image, _current))
                {
                    Publish(image);
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

    private void Publish(MetadataImage image)
    {
        _current = image;
        if (ImagePublished is { } handlers)
        {
            foreach (var handler in handlers.GetInvocationList().Cast<Action<MetadataImage>>())
            {
                try
                {
                    handler(image);
                }
                catch (Exception e)
                {
                    LogSubscriberFailed(_logger, image.Offset, e);
                }
            }
        }

        // Waiters wake only once every subscriber (the replica manager first of all) has applied the image: a client
        // told "topic created" can produce to it on this broker at once.
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
        Message = "A metadata image subscriber failed on the image at offset {Offset}")]
    private static partial void LogSubscriberFailed(ILogger logger, long offset, Exception exception);

    [LoggerMessage(EventId = 1213, EventName = "ControllerChanged", Level = LogLevel.Information,
        Message = "Active controller changed from {Previous} to {Current}")]
    private static partial void LogControllerChanged(ILogger logger, int previous, int current);
}
