using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Producers;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Broker.Tests.Producers;

public sealed class ProducerExpiryTests : IDisposable
{
    private const long T0 = 1_700_000_000_000;

    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-producer-expiry-" + Guid.NewGuid().ToString("N"));
    private readonly LogManager _logs;

    public ProducerExpiryTests() => _logs = LogManager.Open(new LogManagerOptions { LogDirs = [_logDir] });

    public void Dispose()
    {
        _logs.Close();
        try
        {
            Directory.Delete(_logDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class FixedClock(long nowMs) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(nowMs);
    }

    private static void Produce(PartitionLog log, long producerId, long timestamp)
    {
        byte[] batch = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = 0, BaseSequence = 0 }
            .Append(timestamp, null, [1, 2, 3])
            .Build();
        log.AppendAsLeader(batch, 1, 0, timestamp, logAppendTime: false, out _);
    }

    [Fact]
    public void Producers_idle_longer_than_the_expiration_are_forgotten_in_every_partition()
    {
        PartitionLog first = _logs.GetOrCreateLog("a", 0, LogConfig.Default);
        PartitionLog second = _logs.GetOrCreateLog("b", 0, LogConfig.Default);
        Produce(first, producerId: 1, timestamp: T0);
        Produce(second, producerId: 2, timestamp: T0);
        Produce(second, producerId: 3, timestamp: T0 + 50_000);
        var expiry = new ProducerExpiry(() => [first, second], expirationMs: 60_000, checkIntervalMs: 1_000,
            new FixedClock(T0 + 70_000), NullLogger.Instance);

        int removed = expiry.RunOnce();

        Assert.Equal(2, removed);
        Assert.Equal(0, first.ProducerCount);
        Assert.Null(second.FindProducer(2));
        Assert.NotNull(second.FindProducer(3));
    }
}
