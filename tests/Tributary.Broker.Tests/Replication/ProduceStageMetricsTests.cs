using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tributary.Broker.Metadata;
using Tributary.Broker.Metrics;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Broker.Tests.Replication;

/// <summary>
/// tributary_produce_stage_seconds on a real replica manager and log: an acks=all append records its append stage, a parked
/// follower fetch its wake-up, and the high watermark passing the batch the replicate stage, timed by the injected clock.
/// </summary>
public sealed class ProduceStageMetricsTests : IDisposable
{
    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-produce-stages-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
    private readonly Meter _meter = new("Tributary.Broker.Tests.ProduceStages." + Guid.NewGuid().ToString("N"));
    private readonly MeterListener _listener = new();
    private readonly List<(string Stage, double Seconds)> _recorded = [];
    private readonly LogManager _logs;
    private readonly ReplicaManager _replicas;

    public ProduceStageMetricsTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == _meter && instrument.Name == ProduceStageMetrics.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            lock (_recorded)
            {
                _recorded.Add(((string)tags[0].Value!, value));
            }
        });
        _listener.Start();
        _logs = LogManager.Open(new LogManagerOptions { LogDirs = [_logDir], HighWatermarkFollowsLogEnd = false });
        _replicas = new ReplicaManager(1, _logs, _ => LogConfig.Default, _ => 2, NullLogger.Instance, _time, stages: new ProduceStageMetrics(_meter));
        var topic = new TopicImage("events", Uuid.NewRandom(), [new PartitionImage(0, [1, 2], 1, 0, [1, 2])], ImmutableDictionary<string, string>.Empty);
        var brokers = ImmutableDictionary<int, BrokerRegistration>.Empty
            .Add(1, new BrokerRegistration(1, "127.0.0.1", 1, null, 1))
            .Add(2, new BrokerRegistration(2, "127.0.0.1", 2, null, 2));
        _replicas.ApplyImage(new MetadataImage("cluster", 1, brokers,
            ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal).Add(topic.Name, topic), 1));
    }

    public void Dispose()
    {
        _listener.Dispose();
        _replicas.Dispose();
        _logs.Close();
        _meter.Dispose();
        try
        {
            Directory.Delete(_logDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Task<ReadOutcome[]> FollowerFetch(long offset, int maxWaitMs) =>
        _replicas.FetchAsync(new FetchParams(2, -1, maxWaitMs, MinBytes: 1, MaxBytes: 1 << 20),
            [new FetchPartitionRequest("events", 0, offset, 1 << 20, 0, -1)], CancellationToken.None);

    [Fact]
    public async Task An_acks_all_produce_records_its_append_follower_wakeup_and_replicate_stages()
    {
        var parked = FollowerFetch(0, maxWaitMs: 500);
        var builder = new RecordBatchBuilder();
        builder.Append(1_700_000_000_000, null, Encoding.UTF8.GetBytes("record"));
        var append = _replicas.Append(_replicas.AppliedImage.Topics["events"], 0, builder.Build(), acks: -1, 30_000, CancellationToken.None);
        await parked.WaitAsync(TimeSpan.FromSeconds(10));

        _time.Advance(TimeSpan.FromMilliseconds(3));
        await FollowerFetch(1, maxWaitMs: 0);

        Assert.Equal(ErrorCode.None, await append.Committed.WaitAsync(TimeSpan.FromSeconds(10)));
        lock (_recorded)
        {
            Assert.Contains(_recorded, r => r.Stage == "append");
            Assert.Contains(_recorded, r => r.Stage == "follower_wakeup");
            Assert.Equal(0.003, Assert.Single(_recorded, r => r.Stage == "replicate").Seconds, precision: 6);
        }
    }

    [Fact]
    public async Task A_follower_fetching_past_records_it_was_served_records_its_round_trip_and_the_high_watermark_advance()
    {
        var builder = new RecordBatchBuilder();
        builder.Append(1_700_000_000_000, null, Encoding.UTF8.GetBytes("record"));
        var append = _replicas.Append(_replicas.AppliedImage.Topics["events"], 0, builder.Build(), acks: -1, 30_000, CancellationToken.None);
        var served = await FollowerFetch(0, maxWaitMs: 0);
        Assert.False(served[0].Records.IsEmpty);

        _time.Advance(TimeSpan.FromMilliseconds(4));
        await FollowerFetch(1, maxWaitMs: 0);

        Assert.Equal(ErrorCode.None, await append.Committed.WaitAsync(TimeSpan.FromSeconds(10)));
        lock (_recorded)
        {
            Assert.Equal(0.004, Assert.Single(_recorded, r => r.Stage == "follower_round_trip").Seconds, precision: 6);
            Assert.Single(_recorded, r => r.Stage == "hw_advance");
        }
    }
}
