using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>kill -9 of a partition leader under an idempotent acks=all stream: an ISR member takes over, nothing acked is lost or doubled.</summary>
public sealed class LeaderFailoverTests(ITestOutputHelper output)
{
    private const int StreamLength = 20_000;

    [Fact]
    public async Task Idempotent_stream_survives_leader_kill_with_every_acked_record_exactly_once()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 3 });
        var clients = new ClusterClients(cluster);
        var topic = $"failover-{Guid.NewGuid():N}"[..25];
        await clients.CreateTopicAsync(topic, partitions: 1, replicationFactor: 3, new Dictionary<string, string> { ["min.insync.replicas"] = "2" });

        using var producer = clients.CreateProducer();
        var stream = new RecordStream(topic, "lf", StreamLength, recordsPerPause: 100, pauseMs: 20);
        var streaming = stream.RunAsync(producer, TimeSpan.FromSeconds(90));

        Assert.True(await stream.WaitForAcksAsync(StreamLength / 4, TimeSpan.FromSeconds(30)), $"only {stream.AckedCount} acked before the kill");
        var before = clients.Partition(topic, 0) ?? throw new InvalidOperationException("partition 0 vanished");
        var killedAt = stream.Elapsed;
        cluster.Broker(before.Leader).Kill();
        output.WriteLine($"killed leader {before.Leader} at {killedAt.TotalMilliseconds:F0} ms with {stream.AckedCount} acked; state before: {before}");

        await streaming;
        var after = await clients.WaitForPartitionAsync(topic, 0, s => s.Leader >= 0 && s.Leader != before.Leader, TimeSpan.FromSeconds(20));
        var firstAckAfterKill = stream.FirstAckAfter(killedAt);
        output.WriteLine($"leader failover: {(firstAckAfterKill - killedAt)?.TotalMilliseconds.ToString("F0") ?? "no ack after the kill"} ms (kill -> first ack); new state {after}");

        var audit = stream.Audit(clients.ReadAll(topic, 1, TimeSpan.FromSeconds(60)).Select(r => r.Key));
        output.WriteLine($"audit: {audit}; failures: {string.Join(", ", stream.Failures.Select(f => $"{f.Key}={f.Value}"))}");

        Assert.Contains(after.Leader, before.Isr);
        Assert.Equal(StreamLength, stream.AckedCount);
        Assert.Empty(audit.Lost);
        Assert.Equal(0, audit.Duplicated);
    }
}
