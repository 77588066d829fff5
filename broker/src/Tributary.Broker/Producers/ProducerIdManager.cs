using Microsoft.Extensions.Logging;
using Tributary.Protocol;

namespace Tributary.Broker.Producers;

/// <summary>
/// Hands out producer ids from the block this broker holds, fetching the next block from the controller when it is used up
/// (Kafka's RPCProducerIdManager, without the prefetching: a block lasts 1000 InitProducerId calls and fetching one is a local
/// file write here).
/// </summary>
public sealed partial class ProducerIdManager
{
    private readonly Func<CancellationToken, Task<ProducerIdBlock?>> _allocateBlock;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private long _next;
    private long _blockEnd;
    private Task<ProducerIdBlock?>? _fetching;

    /// <param name="allocateBlock">asks the controller for the next block (committed in the metadata log); null when ids are
    /// exhausted or the controller is unavailable.</param>
    public ProducerIdManager(Func<CancellationToken, Task<ProducerIdBlock?>> allocateBlock, ILogger logger)
    {
        _allocateBlock = allocateBlock;
        _logger = logger;
    }

    /// <summary>Where InitProducerId events are logged (the producer-id category).</summary>
    internal ILogger Logger => _logger;

    /// <summary>A producer id never handed out before, or an error code when none can be had.</summary>
    /// <remarks>Concurrent callers share one block request to the controller.</remarks>
    public async ValueTask<(ErrorCode Error, long ProducerId)> GenerateAsync(CancellationToken cancellation)
    {
        Task<ProducerIdBlock?> fetching;
        lock (_gate)
        {
            if (_next < _blockEnd)
            {
                return (ErrorCode.None, _next++);
            }

            fetching = _fetching ??= FetchAsync(cancellation);
        }

        var block = await fetching.ConfigureAwait(false);
        lock (_gate)
        {
            if (ReferenceEquals(_fetching, fetching))
            {
                _fetching = null;
                if (block is { } allocated && _next >= _blockEnd)
                {
                    _next = allocated.FirstProducerId;
                    _blockEnd = allocated.NextBlockFirstId;
                    LogBlockAllocated(_logger, allocated.FirstProducerId, allocated.LastProducerId);
                }
            }

            if (_next < _blockEnd)
            {
                return (ErrorCode.None, _next++);
            }
        }

        // Kafka's broker answers the same while it waits for a block: retriable, clients send InitProducerId again.
        return (ErrorCode.CoordinatorLoadInProgress, -1);
    }

    private async Task<ProducerIdBlock?> FetchAsync(CancellationToken cancellation)
    {
        try
        {
            return await _allocateBlock(cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            LogBlockAllocationFailed(_logger, e);
            return null;
        }
    }

    [LoggerMessage(EventId = 500, EventName = "ProducerIdBlockAllocated", Level = LogLevel.Information,
        Message = "Allocated producer id block {FirstProducerId}..{LastProducerId}")]
    private static partial void LogBlockAllocated(ILogger logger, long firstProducerId, long lastProducerId);

    [LoggerMessage(EventId = 501, EventName = "ProducerIdBlockAllocationFailed", Level = LogLevel.Error,
        Message = "Could not get a new producer id block from the controller")]
    private static partial void LogBlockAllocationFailed(ILogger logger, Exception exception);
}
