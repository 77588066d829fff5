namespace Tributary.Broker.Replication.Fetcher;

/// <summary>What a follower does after the leader answered OFFSET_OUT_OF_RANGE.</summary>
public enum OutOfRangeAction
{
    /// <summary>Our fetch offset is within the leader's log after all (it moved meanwhile): fetch again from our log end.</summary>
    Refetch,

    /// <summary>We are ahead of the leader (an unclean election made a less complete replica leader): truncate to its end.</summary>
    TruncateTo,

    /// <summary>The leader deleted everything up to past our end: empty our log and restart it at the leader's log start.</summary>
    TruncateFullyAndStartAt,
}

/// <summary>The decision on an OFFSET_OUT_OF_RANGE fetch: an action and the offset it applies to.</summary>
public readonly record struct OutOfRangeResolution(OutOfRangeAction Action, long Offset);

/// <summary>
/// Where a follower truncates, as pure functions of its log and the leader's answer (Kafka's AbstractFetcherThread rules), so
/// the decisions can be tested without a leader.
/// </summary>
public static class FollowerTruncation
{
    /// <summary>
    /// The truncation offset for a fetch answered with a diverging epoch (KIP-595 moved KIP-101/KIP-279's OffsetsForLeaderEpoch
    /// round trip into Fetch: the leader returns the end offset of the largest of its epochs ≤ our LastFetchedEpoch).
    /// Kafka's AbstractFetcherThread.getOffsetTruncationState: with the largest local epoch ≤ the diverging epoch and its end,
    /// <list type="bullet">
    /// <item>same epoch as the leader's: truncate to min(local end, leader end, our log end) — the logs agree up to there;</item>
    /// <item>a smaller local epoch (we never saw the leader's epoch): truncate to min(local end of that epoch, our log end);
    /// the next fetch carries that epoch as LastFetchedEpoch and the leader answers again until the logs agree;</item>
    /// <item>no local epoch that small: truncate to min(leader end, our log end).</item>
    /// </list>
    /// </summary>
    public static long ForDivergingEpoch(long localLogEndOffset, (int Epoch, long EndOffset) localEndForEpoch, int divergingEpoch,
        long divergingEndOffset)
    {
        var (localEpoch, localEnd) = localEndForEpoch;
        if (localEpoch < 0 || localEnd < 0)
        {
            return Math.Min(divergingEndOffset, localLogEndOffset);
        }

        if (localEpoch != divergingEpoch)
        {
            return Math.Min(localEnd, localLogEndOffset);
        }

        return Math.Min(Math.Min(localEnd, divergingEndOffset), localLogEndOffset);
    }

    /// <summary><see cref="ForDivergingEpoch(long, ValueTuple{int, long}, int, long)"/> over a replica's own log.</summary>
    public static long ForDivergingEpoch(IFollowerReplica replica, int divergingEpoch, long divergingEndOffset)
    {
        ArgumentNullException.ThrowIfNull(replica);
        return ForDivergingEpoch(replica.LogEndOffset, replica.EndOffsetForEpoch(divergingEpoch), divergingEpoch, divergingEndOffset);
    }

    /// <summary>
    /// Kafka's AbstractFetcherThread.fetchOffsetAndTruncate: a leader end below ours means an unclean election happened and our
    /// extra records are lost; a leader log start above our end means we missed deleted data and restart at its start.
    /// </summary>
    public static OutOfRangeResolution ForOutOfRange(long localLogEndOffset, long leaderLogStartOffset, long leaderLogEndOffset)
    {
        if (leaderLogEndOffset < localLogEndOffset)
        {
            return new OutOfRangeResolution(OutOfRangeAction.TruncateTo, leaderLogEndOffset);
        }

        if (leaderLogStartOffset > localLogEndOffset)
        {
            return new OutOfRangeResolution(OutOfRangeAction.TruncateFullyAndStartAt, leaderLogStartOffset);
        }

        return new OutOfRangeResolution(OutOfRangeAction.Refetch, localLogEndOffset);
    }

    /// <summary>
    /// Length of the whole batches at the start of <paramref name="records"/>: a fetch cut by the byte limit may end in a
    /// partial batch, which is dropped (the next fetch starts at it).
    /// </summary>
    public static int WholeBatchesLength(ReadOnlySpan<byte> records)
    {
        const int logOverhead = Tributary.Protocol.Records.RecordBatchLayout.LogOverhead;
        const int batchLengthField = Tributary.Protocol.Records.RecordBatchLayout.BatchLength;
        var position = 0;
        while (records.Length - position >= logOverhead)
        {
            var batchLength = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(records[(position + batchLengthField)..]);
            if (batchLength < 0 || batchLength > records.Length - position - logOverhead)
            {
                break;
            }

            position += logOverhead + batchLength;
        }

        return position;
    }
}
