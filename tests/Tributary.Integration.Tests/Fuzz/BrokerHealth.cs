using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Integration.Tests.Fuzz;

/// <summary>
/// What the fuzz tests assert about a broker between batches: the process is alive, its resident memory is under a
/// fixed bound, and a real client can still produce a record and read it back.
/// </summary>
public sealed class BrokerHealth : IDisposable
{
    public const string Topic = "tributary-fuzz-health";

    private static readonly TimeSpan RoundTripTimeout = TimeSpan.FromSeconds(30);

    private readonly BrokerProcess _broker;
    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private int _roundTrips;

    private BrokerHealth(BrokerProcess broker, KafkaClients clients)
    {
        _broker = broker;
        _producer = clients.CreateProducer();
        var consumerConfig = clients.ConsumerConfig();
        consumerConfig.EnablePartitionEof = false;
        _consumer = clients.CreateConsumer(consumerConfig);
    }

    /// <summary>Highest resident set size seen by <see cref="CheckAsync"/>.</summary>
    public long PeakRssBytes { get; private set; }

    /// <summary>Most open file descriptors seen by <see cref="CheckAsync"/>.</summary>
    public int PeakOpenFiles { get; private set; }

    /// <summary>Creates the topic the round trips use.</summary>
    public static async Task<BrokerHealth> StartAsync(BrokerProcess broker, KafkaClients clients)
    {
        await clients.CreateTopicAsync(Topic, partitions: 1);
        return new BrokerHealth(broker, clients);
    }

    /// <summary>Current resident set size (VmRSS) of the broker, from /proc.</summary>
    public static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no VmRSS line.");
    }

    /// <summary>The soft RLIMIT_NOFILE of a process, from /proc.</summary>
    public static long OpenFilesLimit(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return soft == "unlimited" ? long.MaxValue : long.Parse(soft, CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/limits has no open-files line.");
    }

    /// <summary>Open file descriptors of the broker process.</summary>
    public static int OpenFiles(int pid) => Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();

    /// <summary>Fails (with the broker's last output) unless the broker is alive, under <paramref name="rssBoundBytes"/>,
    /// has fewer than <paramref name="openFilesBound"/> files open (issue 16: it ran into its open-file limit and failed
    /// with errno 24 in a loop) and serves a produce + consume round trip.</summary>
    public async Task CheckAsync(long rssBoundBytes, string after, int? openFilesBound = null)
    {
        // By default: never closer than 256 descriptors to the process's own soft limit.
        var filesBound = openFilesBound ?? (int)Math.Min(int.MaxValue, OpenFilesLimit(_broker.ProcessId) - 256);
        Assert.True(_broker.IsRunning, $"The broker died {after}. Last output:{Environment.NewLine}{_broker.Log.RecentLines()}");
        var rss = ResidentBytes(_broker.ProcessId);
        PeakRssBytes = Math.Max(PeakRssBytes, rss);
        Assert.True(rss <= rssBoundBytes,
            $"Broker RSS {rss / (1024 * 1024)} MiB exceeds the bound of {rssBoundBytes / (1024 * 1024)} MiB {after}.");
        var files = OpenFiles(_broker.ProcessId);
        PeakOpenFiles = Math.Max(PeakOpenFiles, files);
        Assert.True(files < filesBound, $"The broker has {files} files open, not below {filesBound}, {after}.");

        var value = Encoding.UTF8.GetBytes($"health-{++_roundTrips}-{Guid.NewGuid():N}");
        using var timeout = new CancellationTokenSource(RoundTripTimeout);
        DeliveryResult<byte[]?, byte[]?> delivered;
        try
        {
            delivered = await _producer.ProduceAsync(Topic, new Message<byte[]?, byte[]?> { Value = value }, timeout.Token);
        }
        catch (Exception e) when (e is ProduceException<byte[]?, byte[]?> or OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"Produce failed {after}: {e.Message}. Last output:{Environment.NewLine}{_broker.Log.RecentLines()}");
        }

        _consumer.Assign(new TopicPartitionOffset(Topic, 0, delivered.Offset));
        while (true)
        {
            Assert.False(timeout.IsCancellationRequested,
                $"The record produced at offset {delivered.Offset.Value} was not consumed within {RoundTripTimeout} {after}.");
            var consumed = _consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (consumed?.Message is not null && consumed.Offset == delivered.Offset)
            {
                Assert.Equal(value, consumed.Message.Value);
                return;
            }
        }
    }

    public void Dispose()
    {
        _producer.Dispose();
        _consumer.Close();
        _consumer.Dispose();
    }
}
