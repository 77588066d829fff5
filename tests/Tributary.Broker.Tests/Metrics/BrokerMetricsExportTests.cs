using Tributary.Broker.Metrics;

namespace Tributary.Broker.Tests.Metrics;

public sealed class BrokerMetricsExportTests
{
    // Prometheus 2.x/3.x ask for OpenMetrics first; curl and older scrapers get the classic text format.
    public static TheoryData<string> AcceptHeaders => new()
    {
        "text/plain",
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
    };

    [Theory]
    [MemberData(nameof(AcceptHeaders))]
    public async Task Scrape_exposes_topic_counters_with_strimzi_names_and_topic_label(string accept)
    {
        await using var server = await MetricsEndpointServer.StartAsync();
        server.Metrics.RecordMessagesIn("orders", 3);
        server.Metrics.RecordBytesIn("orders", 100);
        server.Metrics.RecordBytesOut("orders", 40);

        var samples = await server.ScrapeAsync(accept);

        Assert.Equal(3, Single(samples, "kafka_server_brokertopicmetrics_messagesin_total", ("topic", "orders")).Value);
        Assert.Equal(100, Single(samples, "kafka_server_brokertopicmetrics_bytesin_total", ("topic", "orders")).Value);
        Assert.Equal(40, Single(samples, "kafka_server_brokertopicmetrics_bytesout_total", ("topic", "orders")).Value);
    }

    [Theory]
    [MemberData(nameof(AcceptHeaders))]
    public async Task Scrape_exposes_replica_manager_and_controller_gauges_from_the_attached_source(string accept)
    {
        await using var server = await MetricsEndpointServer.StartAsync();
        server.Metrics.AttachSource(new FixedSource());

        var samples = await server.ScrapeAsync(accept);

        Assert.Equal(4, Single(samples, "kafka_server_replicamanager_partitioncount").Value);
        Assert.Equal(3, Single(samples, "kafka_server_replicamanager_leadercount").Value);
        Assert.Equal(2, Single(samples, "kafka_server_replicamanager_underreplicatedpartitions").Value);
        Assert.Equal(1, Single(samples, "kafka_server_replicamanager_underminisrpartitioncount").Value);
        Assert.Equal(5, Single(samples, "kafka_controller_kafkacontroller_offlinepartitionscount").Value);
        Assert.Equal(1, Single(samples, "kafka_controller_kafkacontroller_activecontrollercount").Value);
        Assert.Equal(3, Single(samples, "kafka_controller_kafkacontroller_activebrokercount").Value);
    }

    [Fact]
    public async Task Scrape_exposes_log_size_per_topic_and_partition()
    {
        await using var server = await MetricsEndpointServer.StartAsync();
        server.Metrics.AttachSource(new FixedSource());

        var samples = await server.ScrapeAsync();

        Assert.Equal(1024, Single(samples, "kafka_log_log_size", ("topic", "orders"), ("partition", "0")).Value);
        Assert.Equal(2048, Single(samples, "kafka_log_log_size", ("topic", "orders"), ("partition", "1")).Value);
    }

    [Fact]
    public async Task Scrape_exposes_request_latency_as_a_histogram_in_milliseconds_per_api()
    {
        await using var server = await MetricsEndpointServer.StartAsync();
        server.Metrics.RecordRequest("Produce", 0.7);
        server.Metrics.RecordRequest("Produce", 3);
        server.Metrics.RecordRequest("Fetch", 480);

        var samples = await server.ScrapeAsync();

        Assert.Equal(2, Single(samples, "kafka_network_requestmetrics_totaltimems_count", ("request", "Produce")).Value);
        Assert.Equal(3.7, Single(samples, "kafka_network_requestmetrics_totaltimems_sum", ("request", "Produce")).Value, precision: 9);
        Assert.Equal(1, Single(samples, "kafka_network_requestmetrics_totaltimems_bucket", ("request", "Produce"), ("le", "1")).Value);
        Assert.Equal(2, Single(samples, "kafka_network_requestmetrics_totaltimems_bucket", ("request", "Produce"), ("le", "5")).Value);
        Assert.Equal(1, Single(samples, "kafka_network_requestmetrics_totaltimems_count", ("request", "Fetch")).Value);
    }

    [Fact]
    public async Task Scrape_omits_source_gauges_until_a_source_is_attached()
    {
        await using var server = await MetricsEndpointServer.StartAsync();

        var samples = await server.ScrapeAsync();

        Assert.DoesNotContain(samples, s => s.Name == "kafka_controller_kafkacontroller_activecontrollercount");
        Assert.DoesNotContain(samples, s => s.Name == "kafka_server_replicamanager_partitioncount");
    }

    [Fact]
    public async Task Scrape_of_one_host_does_not_include_metrics_recorded_in_another()
    {
        await using var first = await MetricsEndpointServer.StartAsync();
        await using var second = await MetricsEndpointServer.StartAsync();
        first.Metrics.RecordMessagesIn("only-first", 1);

        var samples = await second.ScrapeAsync();

        Assert.DoesNotContain(samples, s => s.Labels.TryGetValue("topic", out var topic) && topic == "only-first");
    }

    private static Sample Single(IReadOnlyList<Sample> samples, string name, params (string Key, string Value)[] labels) =>
        Assert.Single(samples, s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value));

    private sealed class FixedSource : IBrokerMetricsSource
    {
        public int PartitionCount => 4;
        public int LeaderCount => 3;
        public int UnderReplicatedPartitions => 2;
        public int UnderMinIsrPartitions => 1;
        public int OfflinePartitions => 5;
        public bool IsActiveController => true;
        public int ActiveBrokerCount => 3;

        public IEnumerable<(string Topic, int Partition, long SizeBytes)> LogSizes() => [("orders", 0, 1024), ("orders", 1, 2048)];
    }
}
