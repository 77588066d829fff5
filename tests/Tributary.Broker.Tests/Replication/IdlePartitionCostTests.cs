using System.Collections.Immutable;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Storage;

namespace Tributary.Broker.Tests.Replication;

/// <summary>
/// Issue 20: what a broker does periodically for every partition it hosts must not cost per idle partition. A real replica
/// manager leads 1,000 RF=3 partitions on real (empty) logs whose followers are caught up; allocation is counted on the test's
/// own thread around one periodic pass, which is deterministic (no timers run: time is a <see cref="FakeTimeProvider"/>).
/// </summary>
public sealed class IdlePartitionCostTests : IDisposable
{
    private const int Leader = 1;
    private const int Partitions = 1_000;
    private const long LagTimeMaxMs = 10_000;

    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-idle-cost-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
    private readonly FakeAlterPartitionSender _isrRequests = new();
    private readonly LogManager _logs;
    private readonly ReplicaManager _replicas;

    public IdlePartitionCostTests()
    {
        _logs = LogManager.Open(new LogManagerOptions { LogDirs = [_logDir], HighWatermarkFollowsLogEnd = false });
        _replicas = new ReplicaManager(Leader, _logs, _ => LogConfig.Default, _ => 2, NullLogger.Instance, _time, fetchers: null, _isrRequests,
            LagTimeMaxMs);
        var placements = Enumerable.Range(0, Partitions).Select(i => new PartitionImage(i, [1, 2, 3], Leader, 0, [1, 2, 3], 0)).ToArray();
        var topic = new TopicImage("idle", Uuid.NewRandom(), [.. placements], ImmutableDictionary<string, string>.Empty);
        var brokers = ImmutableDictionary<int, BrokerRegistration>.Empty
            .Add(1, new BrokerRegistration(1, "127.0.0.1", 1, null, 1))
            .Add(2, new BrokerRegistration(2, "127.0.0.1", 2, null, 2))
            .Add(3, new BrokerRegistration(3, "127.0.0.1", 3, null, 3));
        var topics = ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal).Add(topic.Name, topic);
        _replicas.ApplyImage(new MetadataImage("cluster", 1, brokers, topics, 1));
    }

    public void Dispose()
    {
        _replicas.Dispose();
        _logs.Close();
        try
        {
            Directory.Delete(_logDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task The_isr_check_over_1000_idle_caught_up_partitions_allocates_nothing_per_partition()
    {
        // Both followers fetch every partition at the (empty) log end: caught up, so the ISR stays [1, 2, 3].
        var all = Enumerable.Range(0, Partitions).Select(i => new FetchPartitionRequest("idle", i, 0, 1024, 0, -1)).ToArray();
        foreach (var follower in new[] { 2, 3 })
        {
            var read = await _replicas.FetchAsync(new FetchParams(follower, -1, MaxWaitMs: 0, MinBytes: 0, MaxBytes: 1 << 20), all, CancellationToken.None);
            Assert.All(read, r => Assert.Equal(ErrorCode.None, r.Error));
        }

        _time.Advance(TimeSpan.FromMilliseconds(LagTimeMaxMs / 2));
        _replicas.CheckIsrs(); // the first pass JIT-compiles what it runs
        var before = GC.GetAllocatedBytesForCurrentThread();
        _replicas.CheckIsrs();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Empty(_isrRequests.Sent);
        // Less than one byte per partition: a pass may allocate a few objects in all (the dictionary's enumerator), none per partition.
        Assert.True(allocated < Partitions, $"one ISR check over {Partitions} idle partitions allocated {allocated} bytes");
    }

    [Fact]
    public async Task The_isr_check_still_proposes_to_drop_a_follower_that_stopped_fetching()
    {
        var all = Enumerable.Range(0, Partitions).Select(i => new FetchPartitionRequest("idle", i, 0, 1024, 0, -1)).ToArray();
        foreach (var follower in new[] { 2, 3 })
        {
            await _replicas.FetchAsync(new FetchParams(follower, -1, MaxWaitMs: 0, MinBytes: 0, MaxBytes: 1 << 20), all, CancellationToken.None);
        }

        // Only follower 2 keeps fetching partition 7; beyond replica.lag.time.max.ms follower 3 is out of every ISR.
        _time.Advance(TimeSpan.FromMilliseconds(LagTimeMaxMs + 1));
        await _replicas.FetchAsync(new FetchParams(2, -1, MaxWaitMs: 0, MinBytes: 0, MaxBytes: 1 << 20), [all[7]], CancellationToken.None);
        _replicas.CheckIsrs();

        var partition7 = Assert.Single(_isrRequests.Sent, r => r.Partition == 7);
        Assert.Equal([1, 2], partition7.NewIsr);
        Assert.Equal(Partitions, _isrRequests.Sent.Count);
    }
}
