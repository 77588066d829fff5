namespace Tributary.Broker.Metrics;

/// <summary>Instrument names, chosen so that the Prometheus exporter prints the names Strimzi's JMX exporter rules produce.</summary>
/// <remarks>
/// The OpenTelemetry Prometheus exporter keeps these names as they are (no unit is set, so no unit suffix is added) and
/// appends <c>_total</c> to counters that lack it; histograms get <c>_bucket</c>/<c>_sum</c>/<c>_count</c>.
/// Tests/Metrics scrape a real /metrics endpoint to pin the exposed names.
/// </remarks>
public static class BrokerMetricNames
{
    public const string UnderReplicatedPartitions = "kafka_server_replicamanager_underreplicatedpartitions";
    public const string UnderMinIsrPartitionCount = "kafka_server_replicamanager_underminisrpartitioncount";
    public const string PartitionCount = "kafka_server_replicamanager_partitioncount";
    public const string LeaderCount = "kafka_server_replicamanager_leadercount";
    public const string ActiveControllerCount = "kafka_controller_kafkacontroller_activecontrollercount";
    public const string OfflinePartitionsCount = "kafka_controller_kafkacontroller_offlinepartitionscount";
    public const string ActiveBrokerCount = "kafka_controller_kafkacontroller_activebrokercount";
    public const string MessagesIn = "kafka_server_brokertopicmetrics_messagesin_total";
    public const string BytesIn = "kafka_server_brokertopicmetrics_bytesin_total";
    public const string BytesOut = "kafka_server_brokertopicmetrics_bytesout_total";

    /// <summary>Request latency histogram in milliseconds, label <c>request</c> = Kafka API name (Produce, Fetch, …).</summary>
    public const string RequestTotalTimeMs = "kafka_network_requestmetrics_totaltimems";

    /// <summary>Request frame bytes that may still be read before connections wait (queued.max.request.bytes minus what is
    /// held); Kafka's SocketServer MemoryPoolAvailable.</summary>
    public const string MemoryPoolAvailable = "kafka_network_socketserver_memorypoolavailable";

    /// <summary>Bytes on disk per partition replica, labels <c>topic</c> and <c>partition</c>.</summary>
    public const string LogSize = "kafka_log_log_size";

    /// <summary>Consumer lag gauge (kafka-exporter's name), labels consumergroup, topic, partition.</summary>
    public const string ConsumerGroupLag = "kafka_consumergroup_lag";
}
