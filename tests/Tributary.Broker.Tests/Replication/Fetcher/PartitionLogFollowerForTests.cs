using Tributary.Broker.Replication.Fetcher;
using Tributary.Protocol;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Broker.Tests.Replication.Fetcher;

/// <summary>
/// A follower replica for tests: a real <see cref="PartitionLog"/> in a temp directory. Leader epochs are found by scanning batch
/// headers (the storage leader-epoch cache is not there yet); the high watermark is kept here.
/// </summary>
public sealed class PartitionLogFollowerForTests : IFollowerReplica, IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "tributary-fetcher-follower-" + Guid.NewGuid().ToString("N"));
    private readonly LogManager _logs;
    private long _highWatermark;

    public PartitionLogFollowerForTests(string topic, Uuid topicId, int leaderEpoch, int partition = 0)
    {
        Topic = topic;
        TopicId = topicId;
        Partition = partition;
        LeaderEpoch = leaderEpoch;
        _logs = LogManager.Open(new LogManagerOptions { LogDirs = [_dataDir] });
        Log = _logs.GetOrCreateLog(topic, partition, LogConfig.Default);
    }

    public PartitionLog Log { get; }

    public string Topic { get; }

    public Uuid TopicId { get; }

    public int Partition { get; }

    public int LeaderEpoch { get; set; }

    public long LogStartOffset => Log.LogStartOffset;

    public long LogEndOffset => Log.LogEndOffset;

    public long HighWatermark => Volatile.Read(ref _highWatermark);

    public int LatestEpoch => BatchSpans() is { Count: > 0 } spans ? spans[^1].Epoch : -1;

    public (int Epoch, long EndOffset) EndOffsetForEpoch(int epoch)
    {
        // Epoch runs as Kafka's leader-epoch cache keeps them: each epoch starts at its first batch.
        var starts = new List<(int Epoch, long StartOffset)>();
        foreach (var span in BatchSpans())
        {
            if (starts.Count == 0 || starts[^1].Epoch != span.Epoch)
            {
                starts.Add((span.Epoch, span.BaseOffset));
            }
        }

        for (var i = starts.Count - 1; i >= 0; i--)
        {
            if (starts[i].Epoch <= epoch)
            {
                var end = i == starts.Count - 1 ? LogEndOffset : starts[i + 1].StartOffset;
                return (starts[i].Epoch, end);
            }
        }

        return (-1, -1);
    }

    public void TruncateTo(long offset)
    {
        Log.TruncateTo(offset);
        Volatile.Write(ref _highWatermark, Math.Min(HighWatermark, LogEndOffset));
    }

    public void TruncateFullyAndStartAt(long offset)
    {
        if (offset > Log.Segments[0].BaseOffset)
        {
            // PartitionLog can restart empty only at or below its first segment today; the storage API for this is coming.
            throw new NotSupportedException($"The test adapter cannot restart its log at {offset}, beyond its first segment.");
        }

        Log.TruncateTo(offset);
        Volatile.Write(ref _highWatermark, offset);
    }

    public void AppendAsFollower(ReadOnlyMemory<byte> batches) => Log.AppendAsFollower(batches);

    public void UpdateHighWatermark(long leaderHighWatermark) =>
        Volatile.Write(ref _highWatermark, Math.Min(leaderHighWatermark, LogEndOffset));

    /// <summary>The leader's log start offsets this follower was told about, in order.</summary>
    public List<long> LeaderLogStarts { get; } = [];

    public void FollowLeaderLogStart(long leaderLogStartOffset)
    {
        lock (LeaderLogStarts)
        {
            LeaderLogStarts.Add(leaderLogStartOffset);
        }
    }

    /// <summary>Every batch in the log, as bytes, oldest first.</summary>
    public List<byte[]> ReadBatches()
    {
        var batches = new List<byte[]>();
        var offset = Log.LogStartOffset;
        while (offset < Log.LogEndOffset)
        {
            var read = Log.Read(offset, 1024 * 1024, long.MaxValue, minOneBatch: true);
            if (read.Records.IsEmpty)
            {
                break;
            }

            batches.AddRange(LeaderBrokerForTests.SplitBatches(read.Records));
            offset = read.NextOffset;
        }

        return batches;
    }

    /// <summary>Appends a batch of <paramref name="records"/> records at the log end carrying <paramref name="epoch"/>.</summary>
    public void AppendBatch(int epoch, int records)
    {
        var builder = new RecordBatchBuilder { BaseOffset = LogEndOffset, PartitionLeaderEpoch = epoch };
        for (var i = 0; i < records; i++)
        {
            builder.Append(1_000 + i, null, [(byte)i]);
        }

        Log.AppendAsFollower(builder.Build());
    }

    public void Dispose()
    {
        _logs.Dispose();
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    private List<(long BaseOffset, int Epoch)> BatchSpans() =>
        [.. ReadBatches().Select(b => RecordBatchHeader.Read(b)).Select(h => (h.BaseOffset, h.PartitionLeaderEpoch))];
}
