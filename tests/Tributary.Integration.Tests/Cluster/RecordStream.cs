using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// A bounded, paced stream of records with sequence-numbered keys from one producer, recording which were acknowledged
/// (and when) and which failed, so a test can fault the cluster mid-stream and check afterwards that acked ⊆ read.
/// </summary>
public sealed class RecordStream
{
    private readonly ConcurrentDictionary<string, byte> acked = new();
    private readonly ConcurrentDictionary<ErrorCode, int> failures = new();
    private readonly ConcurrentQueue<TimeSpan> ackTimes = new();
    private readonly Stopwatch clock = new();
    private int reported;

    public RecordStream(string topic, string keyPrefix, int count, int recordsPerPause = 100, int pauseMs = 10)
    {
        Topic = topic;
        KeyPrefix = keyPrefix;
        Count = count;
        RecordsPerPause = recordsPerPause;
        PauseMs = pauseMs;
    }

    public string Topic { get; }
    public string KeyPrefix { get; }
    public int Count { get; }
    public int RecordsPerPause { get; }
    public int PauseMs { get; }

    /// <summary>Keys whose delivery report carried no error.</summary>
    public IReadOnlyCollection<string> AckedKeys => acked.Keys.ToList();

    public int AckedCount => acked.Count;

    /// <summary>Failed delivery reports by error code.</summary>
    public IReadOnlyDictionary<ErrorCode, int> Failures => failures.ToDictionary();

    /// <summary>Delivery reports received so far (acked + failed).</summary>
    public int Reported => Volatile.Read(ref reported);

    /// <summary>Time since the stream started.</summary>
    public TimeSpan Elapsed => clock.Elapsed;

    /// <summary>The first acknowledgement at or after <paramref name="since"/> (stream time), or null.</summary>
    public TimeSpan? FirstAckAfter(TimeSpan since)
    {
        TimeSpan? first = null;
        foreach (var at in ackTimes)
        {
            if (at >= since && (first is null || at < first))
            {
                first = at;
            }
        }

        return first;
    }

    /// <summary>Produces every record, pausing <see cref="PauseMs"/> after each <see cref="RecordsPerPause"/>, then flushes (bounded).</summary>
    public async Task RunAsync(IProducer<string, string> producer, TimeSpan flushTimeout, CancellationToken cancellation = default)
    {
        clock.Start();
        for (var n = 0; n < Count && !cancellation.IsCancellationRequested; n++)
        {
            var key = $"{KeyPrefix}-{n:D7}";
            producer.Produce(Topic, new Message<string, string> { Key = key, Value = key }, OnDelivery);
            if ((n + 1) % RecordsPerPause == 0)
            {
                await Task.Delay(PauseMs, CancellationToken.None);
            }
        }

        await Task.Run(() => producer.Flush(flushTimeout), CancellationToken.None);
    }

    /// <summary>Waits (bounded) until at least <paramref name="count"/> records have been acknowledged.</summary>
    public async Task<bool> WaitForAcksAsync(int count, TimeSpan timeout)
    {
        var wait = Stopwatch.StartNew();
        while (AckedCount < count && wait.Elapsed < timeout)
        {
            await Task.Delay(10);
        }

        return AckedCount >= count;
    }

    /// <summary>Compares the acknowledged keys with what a consumer read.</summary>
    public StreamAudit Audit(IEnumerable<string> readKeys)
    {
        var readCounts = readKeys.Where(k => k.StartsWith(KeyPrefix + "-", StringComparison.Ordinal))
            .GroupBy(k => k, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var lost = acked.Keys.Where(k => !readCounts.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var duplicated = readCounts.Values.Sum(c => c - 1);
        return new StreamAudit(acked.Count, readCounts.Count, lost, duplicated);
    }

    private void OnDelivery(DeliveryReport<string, string> report)
    {
        if (report.Error.Code == ErrorCode.NoError)
        {
            acked.TryAdd(report.Message.Key, 0);
            ackTimes.Enqueue(clock.Elapsed);
        }
        else
        {
            failures.AddOrUpdate(report.Error.Code, 1, (_, c) => c + 1);
        }

        Interlocked.Increment(ref reported);
    }
}

/// <summary>Outcome of <see cref="RecordStream.Audit"/>: acked ⊆ read means <see cref="Lost"/> is empty.</summary>
public sealed record StreamAudit(int Acked, int DistinctRead, IReadOnlyList<string> Lost, int Duplicated)
{
    public override string ToString() =>
        $"acked {Acked}, read {DistinctRead} distinct, lost {Lost.Count}{(Lost.Count > 0 ? $" (first: {string.Join(", ", Lost.Take(5))})" : "")}, duplicated {Duplicated}";
}
