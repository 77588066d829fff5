using Tributary.Broker.Producers;

namespace Tributary.Broker.Metadata;

/// <summary>Producer-id blocks: the controller's part of InitProducerId (KRaft's AllocateProducerIds).</summary>
public sealed partial class ClusterController
{
    private long _nextProducerId = -1;

    /// <summary>
    /// Reserves the next block of producer ids for <paramref name="brokerId"/>; the new counter is durable before the block is
    /// returned, so no id is handed out twice across restarts. Null once the id space is exhausted.
    /// </summary>
    /// <exception cref="IOException">the counter could not be persisted (the block is not handed out).</exception>
    public ProducerIdBlock? AllocateProducerIdBlock(int brokerId, int size = ProducerIdBlock.DefaultSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        lock (_gate)
        {
            if (_nextProducerId < 0)
            {
                _nextProducerId = _store.LoadNextProducerId();
            }

            if (_nextProducerId > long.MaxValue - size)
            {
                return null;
            }

            var block = new ProducerIdBlock(brokerId, _nextProducerId, size);
            _store.SaveNextProducerId(block.NextBlockFirstId);
            _nextProducerId = block.NextBlockFirstId;
            return block;
        }
    }
}
