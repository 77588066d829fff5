using Tributary.Broker.Replication.Fetcher;
using Tributary.Protocol;

namespace Tributary.Broker.Replication;

/// <summary>What the replica fetcher drives on a partition this broker follows: its log and its high watermark.</summary>
internal sealed class FollowerReplica(Partition partition) : IFollowerReplica
{
    public string Topic => partition.Topic;
    public Uuid TopicId => partition.TopicId;
    public int Partition => partition.Index;
    public int LeaderEpoch => partition.LeaderEpoch;
    public long LogStartOffset => partition.Log.LogStartOffset;
    public long LogEndOffset => partition.Log.LogEndOffset;
    public int LatestEpoch => partition.Log.LatestEpoch;

    public (int Epoch, long EndOffset) EndOffsetForEpoch(int epoch) => partition.Log.EndOffsetForEpoch(epoch);

    public void TruncateTo(long offset) => partition.Log.TruncateTo(offset);

    public void TruncateFullyAndStartAt(long offset) => partition.Log.TruncateFullyAndStartAt(offset);

    public void AppendAsFollower(ReadOnlyMemory<byte> batches) => partition.Log.AppendAsFollower(batches);

    public void UpdateHighWatermark(long leaderHighWatermark) => partition.UpdateFollowerHighWatermark(leaderHighWatermark);

    public void FollowLeaderLogStart(long leaderLogStartOffset)
    {
        var target = Math.Min(leaderLogStartOffset, partition.Log.HighWatermark);
        if (target > partition.Log.LogStartOffset)
        {
            partition.Log.DeleteRecordsBefore(target);
        }
    }
}
