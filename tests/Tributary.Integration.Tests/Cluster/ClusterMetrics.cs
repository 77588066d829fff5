namespace Tributary.Integration.Tests.Cluster;

/// <summary>Prometheus names of the cluster metrics the tests watch (Kafka's JMX names, flattened the way Kafka's exporters do).</summary>
public static class ClusterMetrics
{
    /// <summary>1 on the active controller, 0 on every other node.</summary>
    public const string ActiveControllerCount = "kafka_controller_kafkacontroller_activecontrollercount";

    /// <summary>Unfenced brokers as the active controller sees them.</summary>
    public const string ActiveBrokerCount = "kafka_controller_kafkacontroller_activebrokercount";

    /// <summary>Partitions without a live leader, as the active controller sees them.</summary>
    public const string OfflinePartitionsCount = "kafka_controller_kafkacontroller_offlinepartitionscount";

    /// <summary>Partitions this broker leads whose ISR is smaller than the replica set.</summary>
    public const string UnderReplicatedPartitions = "kafka_server_replicamanager_underreplicatedpartitions";

    /// <summary>Partitions this broker leads whose ISR is below min.insync.replicas.</summary>
    public const string UnderMinIsrPartitionCount = "kafka_server_replicamanager_underminisrpartitioncount";

    /// <summary>Partitions this broker leads.</summary>
    public const string LeaderCount = "kafka_server_replicamanager_leadercount";
}
