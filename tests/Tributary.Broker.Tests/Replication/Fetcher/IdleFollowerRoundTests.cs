using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Replication.Fetcher;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Tests.Replication.Fetcher;

/// <summary>
/// Issue 20, the follower's side: one fetch round (build the round, build the request, take the leader's answer, apply it) over
/// 1,000 followed partitions that did not change must not allocate per partition. The round is driven on the test's thread
/// without a connection, so the thread's allocation counter measures exactly it; the leader's answers are built by hand.
/// </summary>
public sealed class IdleFollowerRoundTests
{
    private const int Partitions = 1_000;
    private const int SessionId = 77;

    [Fact]
    public void An_incremental_round_over_1000_unchanged_partitions_allocates_nothing_per_partition()
    {
        var fetcher = new LeaderFetcher(leaderId: 1, "127.0.0.1", 1, localBrokerId: 2, () => 5, new FetcherOptions(), NullLogger.Instance,
            TimeProvider.System);
        var topicId = Uuid.NewRandom();
        for (var i = 0; i < Partitions; i++)
        {
            fetcher.Add(new PartitionFetchState(new IdleFollowerReplicaTestDouble("idle", topicId, i), leaderId: 1, generation: i));
        }

        // The full fetch that opens the session names every partition; then one incremental round warms up the code it runs.
        var full = RunRound(fetcher);
        Assert.Equal(Partitions, full.Topics.Sum(t => t.Partitions.Count));
        Assert.Empty(RunRound(fetcher).Topics);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var request = RunRound(fetcher);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Empty(request.Topics);
        Assert.True(fetcher.Session.IsIncremental);
        // The request and response objects are a fixed cost; under one byte per followed partition means nothing per partition.
        Assert.True(allocated < Partitions, $"one idle incremental round over {Partitions} partitions allocated {allocated} bytes");
    }

    [Fact]
    public void An_incremental_round_sends_and_applies_only_the_partition_whose_log_moved()
    {
        var fetcher = new LeaderFetcher(leaderId: 1, "127.0.0.1", 1, localBrokerId: 2, () => 5, new FetcherOptions(), NullLogger.Instance,
            TimeProvider.System);
        var topicId = Uuid.NewRandom();
        var replicas = Enumerable.Range(0, Partitions).Select(i => new IdleFollowerReplicaTestDouble("idle", topicId, i)).ToArray();
        foreach (var replica in replicas)
        {
            fetcher.Add(new PartitionFetchState(replica, leaderId: 1, generation: 1));
        }

        RunRound(fetcher);
        replicas[421].LogEndOffset = 3;
        var request = RunRound(fetcher, answerHighWatermark: 9);

        var sent = Assert.Single(Assert.Single(request.Topics).Partitions);
        Assert.Equal(421, sent.Partition);
        Assert.Equal(3, sent.FetchOffset);
        Assert.Equal(9, replicas[421].HighWatermark);
        Assert.All(replicas.Where(r => r.Partition != 421), r => Assert.Equal(0, r.HighWatermark)); // from the full fetch only
    }

    [Fact]
    public void A_round_the_leader_answers_without_a_partition_still_counts_as_a_fetch_of_it()
    {
        var fetcher = new LeaderFetcher(leaderId: 1, "127.0.0.1", 1, localBrokerId: 2, () => 5, new FetcherOptions(), NullLogger.Instance,
            TimeProvider.System);
        fetcher.Add(new PartitionFetchState(new IdleFollowerReplicaTestDouble("idle", Uuid.NewRandom(), 0), leaderId: 1, generation: 1));
        Assert.True(fetcher.TryGetStatus(("idle", 0), out var never));
        Assert.Equal(-1, never.LastFetchTimeMs);

        RunRound(fetcher);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.Empty(RunRound(fetcher).Topics);

        Assert.True(fetcher.TryGetStatus(("idle", 0), out var status));
        Assert.True(status.LastFetchTimeMs >= before, $"last fetch {status.LastFetchTimeMs}, round started at {before}");
    }

    /// <summary>One round as the fetch loop runs it; the leader answers each named partition with no records (and a high watermark).</summary>
    private static FetchRequest RunRound(LeaderFetcher fetcher, long answerHighWatermark = 0)
    {
        var round = fetcher.BuildRound(out _);
        var request = fetcher.BuildRequest(round);
        var response = new FetchResponse { SessionId = SessionId };
        foreach (var topic in request.Topics)
        {
            var answered = new FetchResponse.FetchableTopicResponse { TopicId = topic.TopicId };
            foreach (var p in topic.Partitions)
            {
                answered.Partitions.Add(new FetchResponse.PartitionData
                {
                    PartitionIndex = p.Partition, HighWatermark = answerHighWatermark, LogStartOffset = 0, LastStableOffset = answerHighWatermark,
                });
            }

            response.Responses.Add(answered);
        }

        Assert.True(fetcher.Session.Completed(request, response));
        Assert.Empty(fetcher.Apply(round, response));
        return request;
    }

    /// <summary>A followed partition with no log behind it: offsets the test sets, the last high watermark applied kept.</summary>
    private sealed class IdleFollowerReplicaTestDouble(string topic, Uuid topicId, int partition) : IFollowerReplica
    {
        public string Topic => topic;
        public Uuid TopicId => topicId;
        public int Partition => partition;
        public int LeaderEpoch => 0;
        public long LogStartOffset => 0;
        public long LogEndOffset { get; set; }
        public int LatestEpoch => -1;
        public long HighWatermark { get; private set; } = -1;

        public (int Epoch, long EndOffset) EndOffsetForEpoch(int epoch) => (-1, -1);

        public void TruncateTo(long offset) => LogEndOffset = Math.Min(LogEndOffset, offset);

        public void TruncateFullyAndStartAt(long offset) => LogEndOffset = offset;

        public void AppendAsFollower(ReadOnlyMemory<byte> batches) => throw new InvalidOperationException("an idle partition gets no records");

        public void UpdateHighWatermark(long leaderHighWatermark) => HighWatermark = leaderHighWatermark;

        public void FollowLeaderLogStart(long leaderLogStartOffset)
        {
        }
    }
}
