using System.Globalization;
using Confluent.Kafka;
using Tributary.Streams.Tests.Harness;

namespace Tributary.Streams.Tests.Faults;

/// <summary>
/// The input and the check the fault tests share: <see cref="Keys"/> keys × <see cref="RecordsPerKey"/> records,
/// produced at a steady pace so a fault lands mid-stream, into a count-per-key application whose output is read back
/// with read_committed and checked key by key: counts exactly 1, 2, …, RecordsPerKey, in order.
/// </summary>
internal sealed class CountScenario(StreamsCluster cluster, int paceMs = 10)
{
    public const int Keys = 8;
    public const int RecordsPerKey = 60;

    /// <summary>RF 3 with min.insync.replicas 2: acks=all writes survive one broker down.</summary>
    public static readonly Dictionary<string, string> TopicConfigs = new() { ["min.insync.replicas"] = "2" };

    public string ApplicationId { get; } = "fault-" + Guid.NewGuid().ToString("N")[..8];

    public string Input => ApplicationId + "-in";

    public string Output => ApplicationId + "-out";

    public int Total => Keys * RecordsPerKey;

    public async Task CreateTopicsAsync()
    {
        await cluster.CreateTopicsAsync(4, TopicConfigs, Input);
        await cluster.CreateTopicsAsync(1, TopicConfigs, Output);
    }

    /// <summary>Produces every record (acks=all, idempotent, one at a time, <c>paceMs</c> apart) until all are acknowledged.</summary>
    public async Task ProduceAsync()
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 0,
            MessageTimeoutMs = 120_000,
        }).Build();
        for (var i = 0; i < Total; i++)
        {
            await producer.ProduceAsync(Input, new Message<string, string>
            {
                Key = "k" + (i % Keys).ToString(CultureInfo.InvariantCulture),
                Value = "v" + i.ToString(CultureInfo.InvariantCulture),
                Timestamp = new Timestamp(1_000 + i, TimestampType.CreateTime),
            });
            await Task.Delay(paceMs);
        }
    }

    /// <summary>Waits (bounded) until the output partition's high watermark (records and markers) reaches <paramref name="records"/>.</summary>
    public async Task WaitForOutputAsync(long records)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = "fault-watch" }).Build();
        await Eventually.TrueAsync(() => consumer.QueryWatermarkOffsets(new TopicPartition(Output, 0), TimeSpan.FromSeconds(5)).High.Value >= records,
            $"{records} offsets in {Output}", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(20));
    }

    /// <summary>
    /// Reads the output with read_committed until every key reached <see cref="RecordsPerKey"/> (bounded), then returns
    /// each key's count updates in offset order.
    /// </summary>
    public async Task<Dictionary<string, List<long>>> ReadCommittedCountsAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        Dictionary<string, List<long>> updates;
        IReadOnlyList<OutputRecord<string>> read;
        do
        {
            read = await cluster.ConsumeAsync(Output, Total, Deserializers.Utf8, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20), readCommitted: true);
            updates = read.GroupBy(r => r.Key!).ToDictionary(g => g.Key, g => g.Select(r => long.Parse(r.Value, CultureInfo.InvariantCulture)).ToList());
        }
        while ((updates.Count < Keys || updates.Values.Any(c => c.Max() < RecordsPerKey)) && DateTime.UtcNow < deadline);

        // For a failure's diagnosis: each update's input record (its timestamp is 1000 + the record's index) and output offset.
        foreach (var group in read.GroupBy(r => r.Key!).Where(g => g.Count() != RecordsPerKey))
        {
            cluster.Cluster.Log.WriteLine($"[harness] {group.Key}: " + string.Join(' ', group.Select(r => $"{r.Value}<-#{r.TimestampMs - 1_000}@{r.Offset}")));
        }

        return updates;
    }

    /// <summary>Every key's updates are exactly 1..RecordsPerKey: no duplicate, no gap, and the final count is exact.</summary>
    public static void AssertExactlyOnce(Dictionary<string, List<long>> updates)
    {
        Assert.Equal(Enumerable.Range(0, Keys).Select(k => "k" + k.ToString(CultureInfo.InvariantCulture)), updates.Keys.Order());
        foreach (var (key, counts) in updates)
        {
            Assert.True(Enumerable.Range(1, RecordsPerKey).Select(c => (long)c).SequenceEqual(counts),
                $"{key}: counts {string.Join(',', counts)}");
        }
    }
}
