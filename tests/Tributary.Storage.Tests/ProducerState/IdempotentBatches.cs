using System.Text;
using Tributary.Protocol.Records;

namespace Tributary.Storage.Tests.ProducerState;

/// <summary>Batches as an idempotent producer sends them: producer id, epoch, base sequence, one record per sequence number.</summary>
internal static class IdempotentBatches
{
    public static byte[] Create(long producerId, short epoch, int baseSequence, int count = 2, long timestamp = Batches.T0)
    {
        var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = epoch, BaseSequence = baseSequence };
        for (int i = 0; i < count; i++)
        {
            builder.Append(timestamp + i, Encoding.UTF8.GetBytes($"k{i}"), Encoding.UTF8.GetBytes($"value-{baseSequence + i}"));
        }

        return builder.Build();
    }

    public static LogAppendInfo Append(PartitionLog log, long producerId, short epoch, int baseSequence, out ProducerAppendResult result,
        int count = 2, long nowMs = Batches.T0, bool logAppendTime = false) =>
        log.AppendAsLeader(Create(producerId, epoch, baseSequence, count), count, partitionLeaderEpoch: 0, nowMs, logAppendTime, out result);

    /// <summary>Appends a batch that must be admitted, returning its first offset.</summary>
    public static long AppendNew(PartitionLog log, long producerId, short epoch, int baseSequence, int count = 2)
    {
        LogAppendInfo info = Append(log, producerId, epoch, baseSequence, out ProducerAppendResult result, count);
        Assert.Equal(ProducerAppendStatus.Appended, result.Status);
        return info.FirstOffset;
    }

    public static string SnapshotFile(string directory, long offset) => Logs.SegmentFile(directory, offset, ".snapshot");
}
