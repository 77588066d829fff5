using Tributary.Broker.Metadata;
using Tributary.Protocol;
using Tributary.Storage;

namespace Tributary.Broker.Replication;

/// <summary>
/// This broker's replica of one partition: its log, its role, its leader epoch and high watermark, and the
/// signal long-polling fetches wait on. With a single replica the high watermark is the log end offset;
/// the replication issue makes it the minimum of the in-sync replicas' log end offsets.
/// </summary>
public sealed class Partition
{
    private TaskCompletionSource _appended = NewSignal();

    public Partition(string topic, Uuid topicId, int index, PartitionLog log, PartitionImage image)
    {
        Topic = topic;
        TopicId = topicId;
        Index = index;
        Log = log;
        Image = image;
    }

    public string Topic { get; }
    public Uuid TopicId { get; }
    public int Index { get; }
    public PartitionLog Log { get; }

    /// <summary>The placement this replica last applied from the metadata image.</summary>
    public PartitionImage Image { get; internal set; }

    public int LeaderEpoch => Image.LeaderEpoch;

    /// <summary>The topic's effective min.insync.replicas, resolved when the replica is created or its configs change.</summary>
    public int MinInsyncReplicas { get; internal set; } = 1;

    public long HighWatermark => Log.LogEndOffset;

    /// <summary>Without transactions every record below the high watermark is stable.</summary>
    public long LastStableOffset => HighWatermark;

    /// <summary>Completes the next time records are appended (or the partition goes away).</summary>
    public Task NextAppend => Volatile.Read(ref _appended).Task;

    internal void SignalAppended() => Interlocked.Exchange(ref _appended, NewSignal()).TrySetResult();

    /// <summary>Kafka's check of a client's view of the leader epoch (KIP-320).</summary>
    public ErrorCode CheckLeaderEpoch(int requestEpoch)
    {
        if (requestEpoch < 0 || requestEpoch == LeaderEpoch)
        {
            return ErrorCode.None;
        }

        return requestEpoch > LeaderEpoch ? ErrorCode.UnknownLeaderEpoch : ErrorCode.FencedLeaderEpoch;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
