using Tributary.Broker.Metadata;
using Tributary.Broker.Metrics;

namespace Tributary.Broker.Tests.Metrics;

/// <summary>The metrics alert rules and the dashboard read, as a real /metrics scrape exposes them.</summary>
public sealed class MonitoringMetricsExportTests
{
    [Fact]
    public async Task Scrape_exposes_isr_and_controller_gauges_and_per_partition_offsets_from_the_attached_source()
    {
        await using var server = await MetricsEndpointServer.StartAsync();
        server.Metrics.Monitoring.AttachSource(new MonitoringSourceTestDouble());

        var samples = await server.ScrapeAsync();

        Assert.Equal(2, Single(samples, "kafka_server_replicamanager_atminisrpartitioncount").Value);
        Assert.Equal(1, Single(samples, "kafka_controller_kafkacontroller_fencedbrokercount").Value);
        Assert.Equal(10, Single(samples, "kafka_log_log_logstartoffset", ("topic", "orders"), ("partition", "1")).Value);
        Assert.Equal(25, Single(samples, "kafka_log_log_logendoffset", ("topic", "orders"), ("partition", "1")).Value);
    }

    [Fact]
    public async Task Scrape_exposes_quorum_state_and_each_voters_lag_behind_the_leaders_log_end_on_the_leader()
    {
        await using var server = await MetricsEndpointServer.StartAsync();
        server.Metrics.Monitoring.AttachSource(new MonitoringSourceTestDouble());

        var samples = await server.ScrapeAsync();

        Assert.Equal(1, Single(samples, "kafka_server_raftmetrics_current_leader").Value);
        Assert.Equal(7, Single(samples, "kafka_server_raftmetrics_current_epoch").Value);
        Assert.Equal(40, Single(samples, "kafka_server_raftmetrics_high_watermark").Value);
        Assert.Equal(0, Single(samples, "kafka_server_raftmetrics_voter_lag", ("voter", "1")).Value);
        Assert.Equal(8, Single(samples, "kafka_server_raftmetrics_voter_lag", ("voter", "3")).Value);
    }

    [Fact]
    public async Task Scrape_counts_isr_changes_and_leader_elections_from_zero()
    {
        await using var server = await MetricsEndpointServer.StartAsync();
        var monitoring = server.Metrics.Monitoring; // the host creates BrokerMetrics at start-up; here, on first use
        var before = await server.ScrapeAsync();
        monitoring.RecordIsrShrink();
        monitoring.RecordIsrShrink();
        monitoring.RecordIsrExpand();
        monitoring.RecordLeaderElection();

        var after = await server.ScrapeAsync();

        Assert.Equal(0, Single(before, "kafka_server_replicamanager_isrshrinks_total").Value);
        Assert.Equal(0, Single(before, "kafka_controller_controllerstats_leaderelections_total").Value);
        Assert.Equal(2, Single(after, "kafka_server_replicamanager_isrshrinks_total").Value);
        Assert.Equal(1, Single(after, "kafka_server_replicamanager_isrexpands_total").Value);
        Assert.Equal(1, Single(after, "kafka_controller_controllerstats_leaderelections_total").Value);
    }

    [Fact]
    public async Task Purgatory_size_counts_requests_until_they_stop_waiting()
    {
        await using var server = await MetricsEndpointServer.StartAsync();
        IReadOnlyList<Sample> waiting;
        using (server.Metrics.Monitoring.EnterPurgatory(DelayedOperation.Produce))
        using (server.Metrics.Monitoring.EnterPurgatory(DelayedOperation.Produce))
        using (server.Metrics.Monitoring.EnterPurgatory(DelayedOperation.Fetch))
        {
            waiting = await server.ScrapeAsync();
        }

        var done = await server.ScrapeAsync();

        Assert.Equal(2, Single(waiting, "kafka_server_delayedoperationpurgatory_purgatorysize", ("delayedOperation", "Produce")).Value);
        Assert.Equal(1, Single(waiting, "kafka_server_delayedoperationpurgatory_purgatorysize", ("delayedOperation", "Fetch")).Value);
        Assert.Equal(0, Single(done, "kafka_server_delayedoperationpurgatory_purgatorysize", ("delayedOperation", "Produce")).Value);
        Assert.Equal(0, Single(done, "kafka_server_delayedoperationpurgatory_purgatorysize", ("delayedOperation", "Fetch")).Value);
    }

    [Fact]
    public async Task Scrape_exposes_committed_offsets_per_partition_and_lag_summed_per_group_and_topic()
    {
        await using var server = await MetricsEndpointServer.StartAsync();
        server.Metrics.Monitoring.AttachOffsetSource(new OffsetSourceTestDouble());

        var samples = await server.ScrapeAsync();

        Assert.Equal(90, Single(samples, "kafka_consumergroup_current_offset", ("consumergroup", "billing"), ("topic", "orders"), ("partition", "0")).Value);
        Assert.Equal(15, Single(samples, "kafka_consumergroup_lag_sum", ("consumergroup", "billing"), ("topic", "orders")).Value);
        Assert.Equal(3, Single(samples, "kafka_consumergroup_lag_sum", ("consumergroup", "audit"), ("topic", "orders")).Value);
    }

    [Fact]
    public async Task Scrape_exposes_free_and_total_bytes_of_each_log_dir_and_open_file_descriptors()
    {
        await using var server = await MetricsEndpointServer.StartAsync();
        var source = new MonitoringSourceTestDouble();
        server.Metrics.Monitoring.AttachSource(source);

        var samples = await server.ScrapeAsync();

        var free = Single(samples, "kafka_log_logdir_free_bytes", ("logdir", source.LogDirs[0])).Value;
        var total = Single(samples, "kafka_log_logdir_total_bytes", ("logdir", source.LogDirs[0])).Value;
        Assert.InRange(total, 1, double.MaxValue);
        Assert.InRange(free, 0, total);
        Assert.InRange(Single(samples, "process_open_fds").Value, 1, Single(samples, "process_max_fds").Value);
    }

    private static Sample Single(IReadOnlyList<Sample> samples, string name, params (string Key, string Value)[] labels) =>
        Assert.Single(samples, s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value));

    private sealed class MonitoringSourceTestDouble : IMonitoringMetricsSource
    {
        public int NodeId => 1;
        public int AtMinIsrPartitions => 2;
        public int FencedBrokerCount => 1;
        public IReadOnlyList<string> LogDirs { get; } = [Path.GetTempPath()];

        public IEnumerable<(string Topic, int Partition, long LogStartOffset, long LogEndOffset)> LogOffsets() =>
            [("orders", 0, 0, 12), ("orders", 1, 10, 25)];

        public QuorumDescription Quorum() => new(LeaderId: 1, Epoch: 7, HighWatermark: 40,
            Voters: [new(1, 48, -1, -1), new(2, 48, -1, -1), new(3, 40, -1, -1)], Observers: []);
    }

    private sealed class OffsetSourceTestDouble : IConsumerGroupOffsetSource
    {
        public IEnumerable<(string Group, string Topic, int Partition, long CommittedOffset, long Lag)> ConsumerGroupOffsets() =>
            [("billing", "orders", 0, 90, 10), ("billing", "orders", 1, 40, 5), ("audit", "orders", 0, 97, 3)];
    }
}
