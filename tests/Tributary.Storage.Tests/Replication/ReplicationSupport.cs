namespace Tributary.Storage.Tests.Replication;

/// <summary>Leader and follower logs side by side, moving batches between them as a replica fetcher does.</summary>
internal static class Replicas
{
    /// <summary>Appends one batch of <paramref name="count"/> records as the leader of <paramref name="epoch"/>.</summary>
    public static LogAppendInfo AppendInEpoch(PartitionLog log, int epoch, int count = 2, long timestamp = Batches.T0) =>
        log.AppendAsLeader(Batches.Create(count, timestamp), count, partitionLeaderEpoch: epoch, timestamp, logAppendTime: false);

    /// <summary>The log from its start to its end as stored: whole batches, concatenated.</summary>
    public static byte[] ReadAllBytes(PartitionLog log)
    {
        using var bytes = new MemoryStream();
        long next = log.LogStartOffset;
        while (next < log.LogEndOffset)
        {
            LogReadResult result = log.Read(next, 1 << 20, long.MaxValue, minOneBatch: true);
            Assert.Equal(LogReadError.None, result.Error);
            Assert.False(result.Records.IsEmpty);
            bytes.Write(result.Records.Span);
            next = result.NextOffset;
        }

        return bytes.ToArray();
    }

    /// <summary>Fetches everything the follower lacks from the leader, in small reads, and appends it as the follower.</summary>
    public static void CatchUp(PartitionLog leader, PartitionLog follower, int maxBytes = 300)
    {
        while (follower.LogEndOffset < leader.LogEndOffset)
        {
            LogReadResult fetched = leader.Read(follower.LogEndOffset, maxBytes, long.MaxValue, minOneBatch: true);
            Assert.Equal(LogReadError.None, fetched.Error);
            follower.AppendAsFollower(fetched.Records);
        }
    }

    public static string Describe(IEnumerable<EpochEntry> entries) => string.Join(" ", entries.Select(e => $"{e.Epoch}@{e.StartOffset}"));

    public static string DescribeProducers(PartitionLog log) =>
        string.Join(" | ", log.ProducerStates().OrderBy(v => v.ProducerId)
            .Select(v => $"{v.ProducerId}/{v.ProducerEpoch}/{v.LastTimestamp}:" + string.Join(",", v.Batches)));
}
