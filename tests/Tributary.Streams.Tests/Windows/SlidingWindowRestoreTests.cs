using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Tributary.Streams.Tests.Harness;
using Tributary.Streams.Windows;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Windows;

/// <summary>
/// Our sliding-window count restored from its changelog: one application runs over the whole input without a break
/// (the reference); a second one over the same input topic is closed halfway, loses its local state directory, and a
/// new instance restores the windows and the stream time from the changelog before the second half arrives. Kafka
/// Streams' contract for a restored store: the output is the same, record by record (window, count, timestamp),
/// including which late records are dropped.
/// </summary>
[Collection(StreamsClusterCollection.Name)]
public sealed class SlidingWindowRestoreTests
{
    private const long B = 2_000_000;
    private const int Records = 60;
    private static readonly SlidingWindowOptions Windows = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5));

    private readonly StreamsCluster cluster;

    public SlidingWindowRestoreTests(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        cluster.Attach(output);
    }

    [Fact]
    public async Task Sliding_count_restored_from_its_changelog_gives_the_same_windows_as_without_a_restart()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var input = $"sliding-restore-{id}-in";
        string referenceId = $"sliding-reference-{id}", restartedId = $"sliding-restarted-{id}";
        await cluster.CreateTopicsAsync(1, input, referenceId + "-out", restartedId + "-out");
        // Three keys, 3 s apart on average, out of order by up to 8 s: some records update older windows within the 5 s
        // grace, some come too late and are dropped; the same pseudo-random sequence every run.
        var random = new Random(24);
        var records = Enumerable.Range(0, Records)
            .Select(i => new InputRecord("k" + (i % 3), "v", B + (i * 3_000L) - random.Next(0, 8_000)))
            .ToList();

        await using var reference = await StartAsync(referenceId, input);
        var first = await StartAsync(restartedId, input);
        await using (first)
        {
            await cluster.ProduceAsync(input, records.Take(Records / 2));
            await WaitCommittedAsync(restartedId, input, Records / 2);
        }

        if (Directory.Exists(first.StateDirectory))
        {
            Directory.Delete(first.StateDirectory, recursive: true);
        }

        await using var restarted = await StartAsync(restartedId, input);
        await Eventually.TrueAsync(() => restarted.RestoredRecords.GetValueOrDefault(restartedId + "-store") > 0,
            "the sliding store was restored from its changelog", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));
        await cluster.ProduceAsync(input, records.Skip(Records / 2));
        await WaitCommittedAsync(referenceId, input, Records);
        await WaitCommittedAsync(restartedId, input, Records);

        var expected = await ReadAllAsync(referenceId + "-out");
        var actual = await ReadAllAsync(restartedId + "-out");
        Assert.True(expected.Count > Records, $"the reference wrote {expected.Count} window updates");
        Assert.Equal(expected, actual);
    }

    private async Task<StreamsApp> StartAsync(string applicationId, string input)
    {
        var builder = new StreamBuilder();
        builder.Stream<string, string>(input)
            .CountSliding(Windows, applicationId + "-store", new StringSerDes())
            .Map((k, v, _) => KeyValuePair.Create($"{k.Key}@{k.Window.StartMs - B}/{k.Window.EndMs - B}", v?.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .To(applicationId + "-out");
        return await StreamsApp.StartAsync(cluster, builder, StreamsApp.Config(cluster, applicationId));
    }

    /// <summary>Waits (bounded) until the application committed <paramref name="offset"/> on the input's one partition.</summary>
    private async Task WaitCommittedAsync(string applicationId, string input, long offset)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = applicationId }).Build();
        await Eventually.TrueAsync(() => consumer.Committed([new TopicPartition(input, 0)], TimeSpan.FromSeconds(5)).Single().Offset.Value >= offset,
            $"{applicationId} committed offset {offset}", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));
    }

    private async Task<List<(string?, string?, long)>> ReadAllAsync(string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = "sliding-watch" }).Build();
        var end = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(5)).High.Value;
        var read = await cluster.ConsumeAsync(topic, (int)end, Deserializers.Utf8, TimeSpan.FromSeconds(1));
        return read.Select(r => (r.Key, (string?)r.Value, r.TimestampMs)).ToList();
    }
}
