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
    private readonly Func<ProducerIdBlock?> _allocateBlock;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private long _next;
    private long _blockEnd;

    /// <param name="allocateBlock">reserves the next block durably; null when ids are exhausted or the controller is unavailable.</param>
    public ProducerIdManager(Func<ProducerIdBlock?> allocateBlock, ILogger logger)
    {
        _allocateBlock = allocateBlock;
        _logger = logger;
    }

    /// <summary>Where InitProducerId events are logged (the producer-id category).</summary>
    internal ILogger Logger => _logger;

    /// <summary>A producer id never handed out before, or an error code when none can be had.</summary>
    public ErrorCode TryGenerate(out long producerId)
    {
        lock (_gate)
        {
            if (_next >= _blockEnd)
            {
                ProducerIdBlock? block;
                try
                {
                    block = _allocateBlock();
                }
                catch (IOException e)
                {
                    LogBlockAllocationFailed(_logger, e);
                    block = null;
                }

                if (block is not { } allocated)
                {
                    producerId = -1;
                    // Kafka's broker answers the same while it waits for a block: retriable, clients send InitProducerId again.
                    return ErrorCode.CoordinatorLoadInProgress;
                }

                _next = allocated.FirstProducerId;
                _blockEnd = allocated.NextBlockFirstId;
                LogBlockAllocated(_logger, allocated.FirstProducerId, allocated.LastProducerId);
            }

            producerId = _next++;
            return ErrorCode.None;
        }
    }

    [LoggerMessage(EventId = 500, EventName = "ProducerIdBlockAllocated", Level = LogLevel.Information,
        Message = "Allocated producer id block {FirstProducerId}..{LastProducerId}")]
    private static partial void LogBlockAllocated(ILogger logger, long firstProducerId, long lastProducerId);

    [LoggerMessage(EventId = 501, EventName = "ProducerIdBlockAllocationFailed", Level = LogLevel.Error,
        Message = "Could not persist a new producer id block")]
    private static partial void LogBlockAllocationFailed(ILogger logger, Exception exception);
}
