namespace Tributary.Broker.Metrics;

/// <summary>Names of the metrics that alert rules and the dashboard (monitoring/, charts/tributary) read, beyond <see cref="BrokerMetricNames"/>.</summary>
/// <remarks>
/// Where Kafka has the metric, the name is what Strimzi's JMX exporter rules make of its MBean (lower case, <c>PerSec</c>
/// meters as <c>_total</c> counters); where it has none (log-dir space, quorum lag per voter, committed offsets) the name
/// follows the same scheme or kafka-exporter's.
/// </remarks>
public static class MonitoringMetricNames
{
    /// <summary>Led partitions whose ISR size equals min.insync.replicas (one more loss and acks=all writes fail).</summary>
    public const string AtMinIsrPartitionCount = "kafka_server_replicamanager_atminisrpartitioncount";

    /// <summary>ISR shrinks on partitions this broker leads (Kafka's IsrShrinksPerSec).</summary>
    public const string IsrShrinks = "kafka_server_replicamanager_isrshrinks_total";

    /// <summary>ISR expansions on partitions this broker leads (Kafka's IsrExpandsPerSec).</summary>
    public const string IsrExpands = "kafka_server_replicamanager_isrexpands_total";

    /// <summary>Registered brokers the controller has fenced (reported by the active controller only).</summary>
    public const string FencedBrokerCount = "kafka_controller_kafkacontroller_fencedbrokercount";

    /// <summary>Partition leaderships this broker took over from another leader (or from none); summed over brokers, the
    /// cluster's leader elections.</summary>
    public const string LeaderElections = "kafka_controller_controllerstats_leaderelections_total";

    /// <summary>Requests waiting in a purgatory, label <c>delayedOperation</c> = Produce (acks=all waits) or Fetch (long polls).</summary>
    public const string PurgatorySize = "kafka_server_delayedoperationpurgatory_purgatorysize";

    /// <summary>First offset of a partition replica's log, labels <c>topic</c>, <c>partition</c>.</summary>
    public const string LogStartOffset = "kafka_log_log_logstartoffset";

    /// <summary>Next offset to be appended to a partition replica's log, labels <c>topic</c>, <c>partition</c>.</summary>
    public const string LogEndOffset = "kafka_log_log_logendoffset";

    /// <summary>Free bytes on the file system holding a log directory, label <c>logdir</c>.</summary>
    public const string LogDirFreeBytes = "kafka_log_logdir_free_bytes";

    /// <summary>Size in bytes of the file system holding a log directory, label <c>logdir</c>.</summary>
    public const string LogDirTotalBytes = "kafka_log_logdir_total_bytes";

    /// <summary>The metadata quorum leader (active controller) this node knows of, -1 if none.</summary>
    public const string RaftCurrentLeader = "kafka_server_raftmetrics_current_leader";

    /// <summary>The metadata quorum's epoch; it grows by one with every election.</summary>
    public const string RaftCurrentEpoch = "kafka_server_raftmetrics_current_epoch";

    /// <summary>The metadata log's high watermark (committed offset + 1) as this node knows it.</summary>
    public const string RaftHighWatermark = "kafka_server_raftmetrics_high_watermark";

    /// <summary>On the quorum leader only: how many metadata records each voter is behind the leader's log end, label <c>voter</c>.</summary>
    public const string RaftVoterLag = "kafka_server_raftmetrics_voter_lag";

    /// <summary>Committed offset per consumer group and partition (kafka-exporter's name), labels consumergroup, topic, partition.</summary>
    public const string ConsumerGroupCurrentOffset = "kafka_consumergroup_current_offset";

    /// <summary>Lag summed over a group's partitions of one topic (kafka-exporter's name), labels consumergroup, topic.</summary>
    public const string ConsumerGroupLagSum = "kafka_consumergroup_lag_sum";

    /// <summary>Open file descriptors of the broker process (the Prometheus client libraries' name).</summary>
    public const string ProcessOpenFds = "process_open_fds";

    /// <summary>The broker process's open-file limit (the Prometheus client libraries' name).</summary>
    public const string ProcessMaxFds = "process_max_fds";
}
