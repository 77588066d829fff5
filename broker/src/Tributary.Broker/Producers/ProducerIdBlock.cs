namespace Tributary.Broker.Producers;

/// <summary>
/// A range of producer ids reserved for one broker, like KRaft's ProducerIdsRecord: the controller persists the end of every block
/// it hands out before handing it out, so an id is never given twice, not even across restarts (unused ids of a block are lost).
/// </summary>
/// <param name="BrokerId">the broker the block was assigned to.</param>
/// <param name="FirstProducerId">first id of the block.</param>
/// <param name="Size">ids in the block.</param>
public readonly record struct ProducerIdBlock(int BrokerId, long FirstProducerId, int Size)
{
    /// <summary>Block size KRaft's controller uses (ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE).</summary>
    public const int DefaultSize = 1000;

    /// <summary>First id after the block.</summary>
    public long NextBlockFirstId => FirstProducerId + Size;

    /// <summary>Last id of the block.</summary>
    public long LastProducerId => FirstProducerId + Size - 1;
}
