using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Metadata.Records;
using Tributary.Protocol;
using Tributary.Tests.Shared;
using Tributary.Tests.Shared.Metadata;

namespace Tributary.Metadata.Tests;

/// <summary>Metadata snapshots (KIP-630), the metadata side: the image as records, the loader starting from a snapshot,
/// and the generator that writes them.</summary>
public sealed class MetadataSnapshotTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly MetadataApplier _applier = new(NullLogger.Instance);

    [Fact]
    public void Image_to_records_and_back_gives_the_same_image_for_10000_partitions()
    {
        var image = _applier.Apply(MetadataImage.Empty, new MetadataBatch(0, 1, ClusterHistory(topics: 100, partitionsPerTopic: 100)));
        image = _applier.Apply(image, new MetadataBatch(1, 1, Churn(image)));
        Assert.Equal(10_000, image.Topics.Values.Sum(t => t.Partitions.Length));

        var records = image.ToRecords();
        var rebuilt = _applier.Apply(MetadataImage.Empty, new MetadataBatch(image.Offset, 1, records, IsSnapshot: true));

        Assert.Equal(Render(image), Render(rebuilt));
    }

    [Fact]
    public void Records_of_an_empty_image_rebuild_an_empty_image()
    {
        Assert.Empty(MetadataImage.Empty.ToRecords());
    }

    [Fact]
    public async Task Loader_started_from_a_snapshot_plus_tail_ends_in_the_same_image_as_from_offset_0()
    {
        await using var log = new InMemoryMetadataLogTestDouble(nodeId: 1);
        var history = ClusterHistory(topics: 20, partitionsPerTopic: 50);
        foreach (var chunk in history.Chunk(97))
        {
            log.CommitExternally(chunk);
        }

        await using var fromStart = new MetadataLoader(log, NullLogger.Instance);
        fromStart.Start();
        var middle = log.LastOffset;
        await fromStart.WaitForOffsetAsync(middle, Token());
        await log.WriteSnapshotAsync(middle, fromStart.Current.ToRecords(), CancellationToken.None);
        log.TruncateBelowLatestSnapshot();
        foreach (var change in Churn(fromStart.Current).Chunk(41))
        {
            log.CommitExternally(change);
        }

        log.CommitExternally(new RemoveTopicRecord(fromStart.Current.Topics["topic-3"].Id));
        var end = log.LastOffset;
        await fromStart.WaitForOffsetAsync(end, Token());

        var deltas = new ConcurrentQueue<MetadataDelta>();
        await using var fromSnapshot = new MetadataLoader(log, NullLogger.Instance);
        fromSnapshot.AddPublisher(new PublisherTestDouble(_ => { }, deltas.Enqueue));
        fromSnapshot.Start();
        await fromSnapshot.WaitForOffsetAsync(end, Token());

        Assert.Equal(middle + 1, log.LogStartOffset);
        Assert.True(deltas.First(d => d.Records.Count > 0).IsSnapshot, "the first batch a reader from offset 0 gets is the snapshot");
        Assert.Equal(end, fromSnapshot.Current.Offset);
        Assert.Equal(Render(fromStart.Current), Render(fromSnapshot.Current));
    }

    [Fact]
    public async Task A_loader_behind_the_log_start_resets_to_the_snapshot_and_forgets_what_it_no_longer_holds()
    {
        await using var log = new InMemoryMetadataLogTestDouble(nodeId: 1);
        var stale = _applier.Apply(MetadataImage.Empty, new MetadataBatch(0, 1,
            [new ClusterIdRecord("c"), new TopicRecord("deleted-while-away", new Uuid(9, 9))]));
        log.CommitExternally(new ClusterIdRecord("c"), new TopicRecord("deleted-while-away", new Uuid(9, 9)));
        log.CommitExternally(new RemoveTopicRecord(new Uuid(9, 9)), new TopicRecord("kept", new Uuid(8, 8)));
        var snapshotImage = _applier.Apply(stale, log.Batches[1]);
        await log.WriteSnapshotAsync(1, snapshotImage.ToRecords(), CancellationToken.None);
        log.TruncateBelowLatestSnapshot();
        var tail = log.CommitExternally(new TopicRecord("after", new Uuid(7, 7)));

        await using var loader = new MetadataLoader(log, NullLogger.Instance, stale);
        loader.Start();
        await loader.WaitForOffsetAsync(tail, Token());

        Assert.Equal(["after", "kept"], loader.Current.Topics.Keys);
        Assert.Equal("c", loader.Current.ClusterId);
    }

    [Fact]
    public async Task Generator_writes_a_snapshot_once_the_record_bytes_since_the_last_one_reach_the_limit()
    {
        await using var log = new InMemoryMetadataLogTestDouble(nodeId: 1);
        await using var loader = new MetadataLoader(log, NullLogger.Instance);
        var generator = new MetadataSnapshotGenerator(log, new MetadataSnapshotOptions { MaxBytesBetweenSnapshots = 4096, MaxInterval = TimeSpan.Zero },
            TimeProvider.System, NullLogger.Instance);
        loader.AddPublisher(generator);
        loader.Start();

        var below = log.CommitExternally(new ClusterIdRecord("c"), new TopicRecord("small", new Uuid(1, 1)));
        await loader.WaitForOffsetAsync(below, Token());
        await generator.Writing;
        Assert.Equal(-1, log.LatestSnapshotOffset);

        var history = ClusterHistory(topics: 2, partitionsPerTopic: 100);
        var last = log.CommitExternally([.. history.Skip(1)]);
        await loader.WaitForOffsetAsync(last, Token());
        await Eventually.TrueAsync(() => log.LatestSnapshotOffset == last, "a snapshot through the last offset");

        var snapshot = Assert.Single(log.SnapshotsWrittenList);
        var rebuilt = _applier.Apply(MetadataImage.Empty, snapshot);
        Assert.Equal(Render(loader.Current), Render(rebuilt));
        Assert.Equal(0, generator.BytesSinceSnapshot);
    }

    [Fact]
    public async Task Generator_writes_a_snapshot_once_the_interval_has_passed_with_changes_since_the_last()
    {
        await using var log = new InMemoryMetadataLogTestDouble(nodeId: 1);
        var time = new SteppedTimeProviderFake();
        var generator = new MetadataSnapshotGenerator(log, new MetadataSnapshotOptions { MaxBytesBetweenSnapshots = long.MaxValue, MaxInterval = TimeSpan.FromMinutes(10) },
            time, NullLogger.Instance);
        await using var loader = new MetadataLoader(log, NullLogger.Instance);
        loader.AddPublisher(generator);
        loader.Start();

        var early = log.CommitExternally(new ClusterIdRecord("c"));
        await loader.WaitForOffsetAsync(early, Token());
        await generator.Writing;
        Assert.Equal(-1, log.LatestSnapshotOffset);

        time.Advance(TimeSpan.FromMinutes(11));
        var late = log.CommitExternally(new TopicRecord("t", new Uuid(5, 5)));
        await loader.WaitForOffsetAsync(late, Token());
        await Eventually.TrueAsync(() => log.LatestSnapshotOffset == late, "a snapshot once the interval passed");
    }

    [Fact]
    public void Generator_refuses_a_non_positive_byte_limit()
    {
        var log = new InMemoryMetadataLogTestDouble(nodeId: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MetadataSnapshotGenerator(log,
            new MetadataSnapshotOptions { MaxBytesBetweenSnapshots = 0 }, TimeProvider.System, NullLogger.Instance));
    }

    private static CancellationToken Token() => new CancellationTokenSource(Bound).Token;

    /// <summary>A cluster's records: id, five brokers (one fenced, one shutting down), dynamic broker configs, topics with
    /// partitions (some reassigning) and configs, producer ids.</summary>
    private static List<MetadataRecord> ClusterHistory(int topics, int partitionsPerTopic)
    {
        var records = new List<MetadataRecord> { new ClusterIdRecord("cluster-1") };
        for (var b = 1; b <= 5; b++)
        {
            records.Add(new RegisterBrokerRecord(b, Uuid.NewRandom(), 100 + b, [new BrokerEndpoint("PLAINTEXT", $"host{b}", 9092 + b, 0)],
                b % 2 == 0 ? $"rack-{b}" : null, Fenced: b == 5));
        }

        records.Add(new BrokerRegistrationChangeRecord(4, 104, Fenced: null, InControlledShutdown: true));
        records.Add(new ConfigRecord(4, "", "log.retention.ms", "1000"));
        records.Add(new ConfigRecord(4, "2", "log.segment.bytes", "2048"));
        for (var t = 0; t < topics; t++)
        {
            var id = new Uuid(1000 + (ulong)t, 7);
            var name = $"topic-{t}";
            records.Add(new TopicRecord(name, id));
            for (var p = 0; p < partitionsPerTopic; p++)
            {
                int[] replicas = [1 + (p % 5), 1 + ((p + 1) % 5), 1 + ((p + 2) % 5)];
                records.Add(p % 17 == 0
                    ? new PartitionRecord(id, p, [.. replicas, 1 + ((p + 3) % 5)], replicas, replicas[0], 0, 0,
                        AddingReplicas: [1 + ((p + 3) % 5)], RemovingReplicas: [replicas[2]])
                    : new PartitionRecord(id, p, replicas, replicas[..2], replicas[0], 0, 0));
            }

            records.Add(new ConfigRecord(2, name, "cleanup.policy", t % 2 == 0 ? "compact" : "delete"));
            records.Add(new ConfigRecord(2, name, "retention.ms", (t * 1000).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        records.Add(new ProducerIdsRecord(1, 101, 5000));
        return records;
    }

    /// <summary>Leadership and ISR changes to every third partition, a config removal, a broker unfenced.</summary>
    private static List<MetadataRecord> Churn(MetadataImage image)
    {
        var records = new List<MetadataRecord>();
        foreach (var topic in image.Topics.Values)
        {
            foreach (var partition in topic.Partitions.Where(p => p.Partition % 3 == 0))
            {
                records.Add(new PartitionChangeRecord(topic.Id, partition.Partition, partition.Replicas[1], [partition.Replicas[1]], null));
            }

            records.Add(new ConfigRecord(2, topic.Name, "retention.ms", null));
        }

        records.Add(new UnfenceBrokerRecord(5, 105));
        return records;
    }

    /// <summary>Every field of an image that its records carry, as text (images hold immutable arrays, which compare by reference).</summary>
    private static string Render(MetadataImage image)
    {
        var text = new StringBuilder();
        text.Append("cluster=").Append(image.ClusterId).Append(" nextProducerId=").Append(image.NextProducerId).AppendLine();
        foreach (var broker in image.Brokers.Values.OrderBy(b => b.NodeId))
        {
            text.AppendLine($"broker {broker.NodeId} {broker.Host}:{broker.Port} rack={broker.Rack} epoch={broker.Epoch} fenced={broker.Fenced} shutdown={broker.InControlledShutdown}");
        }

        foreach (var (resource, configs) in image.BrokerConfigs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            text.AppendLine($"broker-config [{resource}] {string.Join(",", configs.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value))}");
        }

        foreach (var topic in image.Topics.Values)
        {
            text.AppendLine($"topic {topic.Name} {topic.Id} {string.Join(",", topic.Configs.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value))}");
            foreach (var p in topic.Partitions)
            {
                text.AppendLine($"  {p.Partition} r=[{string.Join(",", p.Replicas)}] isr=[{string.Join(",", p.Isr)}] l={p.Leader} le={p.LeaderEpoch} pe={p.PartitionEpoch} +[{string.Join(",", p.AddingReplicas)}] -[{string.Join(",", p.RemovingReplicas)}]");
            }
        }

        Assert.Equal(image.Topics.Count, image.TopicsById.Count);
        return text.ToString();
    }
}

/// <summary>A clock that moves only when told to (both wall time and timestamps).</summary>
internal sealed class SteppedTimeProviderFake : TimeProvider
{
    private long _ticks = 1_000_000;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(GetTimestamp());

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
