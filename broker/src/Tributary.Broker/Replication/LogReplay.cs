using Tributary.Storage;

namespace Tributary.Broker.Replication;

/// <summary>
/// Reads a partition's log from its start to its end in chunks of whole batches: how a coordinator (groups on
/// <c>__consumer_offsets</c>, transactions on <c>__transaction_state</c>) rebuilds its state when its broker becomes the
/// partition's leader. A new leader's log is authoritative, so everything up to its end counts, committed or not yet.
/// </summary>
internal static class LogReplay
{
    /// <summary>Bytes read per chunk (at least one batch, however large).</summary>
    public const int ChunkBytes = 1 << 20;

    /// <summary>The records <paramref name="decode"/> finds in the log, in log order. <paramref name="decode"/> appends the
    /// records of one chunk of batches to its list and returns the offset after the chunk's last batch.</summary>
    public static IEnumerable<T> Records<T>(PartitionLog log, Func<ReadOnlyMemory<byte>, List<T>, long> decode)
    {
        var offset = log.LogStartOffset;
        var end = log.LogEndOffset;
        while (offset < end)
        {
            var read = log.Read(offset, ChunkBytes, end, minOneBatch: true);
            if (read.Records.IsEmpty)
            {
                break;
            }

            var decoded = new List<T>();
            var next = decode(read.Records, decoded);
            foreach (var record in decoded)
            {
                yield return record;
            }

            if (next <= offset)
            {
                break;
            }

            offset = next;
        }
    }
}
