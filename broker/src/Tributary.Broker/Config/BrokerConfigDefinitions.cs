using System.Collections.Frozen;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Tributary.Broker.Config;

/// <summary>Every broker configuration key Tributary knows, with Kafka's names, types and defaults.</summary>
public static class BrokerConfigDefinitions
{
    /// <summary>Long.MaxValue as Kafka prints it; the default of the "never" settings.</summary>
    internal static readonly string LongMax = long.MaxValue.ToString(CultureInfo.InvariantCulture);

    internal static readonly string[] Roles = ["broker", "controller"];
    internal static readonly string[] CleanupPolicies = ["compact", "delete"];
    internal static readonly string[] TimestampTypes = ["CreateTime", "LogAppendTime"];
    internal static readonly string[] CompressionTypes = ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

    /// <summary>All known keys by name.</summary>
    public static FrozenDictionary<string, ConfigDefinition> All { get; } = Build().ToFrozenDictionary(d => d.Name, StringComparer.Ordinal);

    public static bool TryGet(string key, out ConfigDefinition definition) => All.TryGetValue(key, out definition!);

    /// <summary>Known keys are sensitive when declared so; unknown keys when their name suggests a secret (so they are never echoed).</summary>
    public static bool IsSensitive(string key) =>
        All.TryGetValue(key, out var definition)
            ? definition.IsSensitive
            : key.Contains("password", StringComparison.OrdinalIgnoreCase)
              || key.Contains("secret", StringComparison.OrdinalIgnoreCase)
              || key.EndsWith("jaas.config", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses <c>tributary.log.level</c>: .NET names plus the log4j spellings Kafka users type (INFO, WARN, FATAL, OFF).</summary>
    public static bool TryParseLogLevel(string text, out LogLevel level)
    {
        switch (text.Trim().ToUpperInvariant())
        {
            case "TRACE": level = LogLevel.Trace; return true;
            case "DEBUG": level = LogLevel.Debug; return true;
            case "INFO" or "INFORMATION": level = LogLevel.Information; return true;
            case "WARN" or "WARNING": level = LogLevel.Warning; return true;
            case "ERROR": level = LogLevel.Error; return true;
            case "FATAL" or "CRITICAL": level = LogLevel.Critical; return true;
            case "OFF" or "NONE": level = LogLevel.None; return true;
            default: level = LogLevel.Information; return false;
        }
    }

    private static IEnumerable<ConfigDefinition> Build()
    {
        const ConfigValueType Bool = ConfigValueType.Boolean;
        const ConfigValueType Int = ConfigValueType.Int;
        const ConfigValueType Short = ConfigValueType.Short;
        const ConfigValueType Long = ConfigValueType.Long;
        const ConfigValueType Double = ConfigValueType.Double;
        const ConfigValueType Text = ConfigValueType.String;
        const ConfigValueType List = ConfigValueType.List;

        // Identity and roles.
        yield return new("node.id", Int, "1", "This node's id in the cluster (KRaft node.id).", minimum: 0);
        yield return new("process.roles", List, "broker,controller", "Roles this process plays: broker, controller or both.", allowedValues: Roles,
            extraValidation: v => ConfigValues.SplitList(v).Count == 0 ? "at least one of [broker, controller]" : null);
        yield return new("cluster.id", Text, null, "Cluster id (Tributary: optional; generated and stored in the log dirs when absent).");
        yield return new("broker.rack", Text, null, "Rack of this broker, used for rack-aware replica placement.");

        // Listeners.
        yield return new("listeners", Text, "PLAINTEXT://:9092", "Comma-separated NAME://host:port listeners; empty host = all interfaces.");
        yield return new("advertised.listeners", Text, null, "Listeners published to clients; defaults to the broker listeners with wildcard hosts replaced by localhost.");
        yield return new("listener.security.protocol.map", Text,
            "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
            "Listener name to security protocol, NAME:PROTOCOL pairs.");
        yield return new("controller.listener.names", Text, "CONTROLLER", "Listener names used by the KRaft controller quorum.");
        yield return new("inter.broker.listener.name", Text, null, "Listener brokers use to talk to each other; defaults to PLAINTEXT.");
        yield return new("controller.quorum.voters", List, "", "Static controller quorum: comma-separated id@host:port.");
        yield return new("controller.quorum.bootstrap.servers", List, "", "Dynamic quorum bootstrap servers host:port (KIP-853); accepted, not used yet.");
        yield return new("http.listeners", Text, "http://0.0.0.0:9094", "Tributary: http://host:port endpoints serving /healthz, /readyz and /metrics.");
        // Schema registry hosted in the broker process (issue 22): Confluent's REST API, stored in _schemas on this cluster.
        yield return new("schema.registry.enable", Bool, "false", "Tributary: also run the schema registry in this broker process.");
        yield return new("schema.registry.listeners", Text, "http://0.0.0.0:8081", "Tributary: http://host:port of the in-broker schema registry.");
        yield return new("tributary.log.level", Text, "Information", "Tributary: minimum log level (Trace, Debug, Information, Warning, Error, Critical, None; log4j spellings accepted).",
            extraValidation: v => TryParseLogLevel(v, out _) ? null : "one of [Trace, Debug, Information, Warning, Error, Critical, None]");
        yield return new("tributary.log.format", Text, "text", "Tributary: console log format: text (one line per event) or json (one JSON object per line, with event id and name, for log collectors).",
            allowedValues: ["text", "json"]);

        // Storage layout and topic defaults.
        yield return new("log.dirs", Text, null, "Comma-separated data directories; falls back to log.dir.");
        yield return new("log.dir", Text, "/tmp/kraft-combined-logs", "Data directory used when log.dirs is not set.");
        yield return new("num.partitions", Int, "1", "Default partition count of auto-created topics.", minimum: 1);
        yield return new("default.replication.factor", Int, "1", "Default replication factor of auto-created topics.", minimum: 1);
        yield return new("min.insync.replicas", Int, "1", "Minimum in-sync replicas for acks=all writes.", minimum: 1);
        yield return new("auto.create.topics.enable", Bool, "true", "Create topics on first metadata request or produce.");
        yield return new("delete.topic.enable", Bool, "true", "Allow DeleteTopics.");
        yield return new("socket.request.max.bytes", Int, "104857600", "Largest request frame accepted on a connection.", minimum: 1);
        // Request memory and admin-operation bounds (issue 16). Kafka's queued.max.request.bytes defaults to -1 (unbounded);
        // ours to 200 MiB, twice the largest frame. max.broker.partitions is KIP-578's name (not in Kafka releases).
        yield return new("queued.max.request.bytes", Long, "209715200",
            "Bytes of request frames held in memory at once, broker-wide; reading waits when they are spent (-1 = unbounded). At least socket.request.max.bytes.",
            minimum: -1, extraValidation: v => ConfigValues.ParseLong(v) is -1 or > 0 ? null : "-1 or a positive number of bytes");
        yield return new("fetch.max.bytes", Int, "57671680",
            "Most bytes one Fetch response carries, whatever the request asks (the response is built in memory before it is sent).", minimum: 1024);
        yield return new("max.incremental.fetch.session.cache.slots", Int, "1000",
            "Most incremental fetch sessions (KIP-227) the broker keeps; 0 turns sessions off (every fetch is answered in full).", minimum: 0);
        yield return new("max.broker.partitions", Int, "20000",
            "Most partition replicas one broker may hold; creating more is refused (a combined node also stays below its open-file limit).", minimum: 1);
        yield return new("tributary.controller.mutation.rate", Double, "1000",
            "Partitions per second this broker lets clients create, add or delete (KIP-599's controller_mutation_rate as one broker-wide quota; bursts of 10 s; -1 = unlimited).",
            extraValidation: v => ConfigValues.ParseDouble(v) is -1 or > 0 ? null : "-1 or a positive rate");
        yield return new("metadata.log.max.record.bytes.between.snapshots", Long, "20971520",
            "Metadata record bytes applied since the last metadata snapshot after which every node writes a new one (KIP-630).", minimum: 1);
        yield return new("metadata.log.max.snapshot.interval.ms", Long, "3600000",
            "Longest time between metadata snapshots when anything changed since the last (0 = by bytes only).", minimum: 0);
        yield return new("tributary.consumer.lag.refresh.ms", Int, "5000",
            "How often a group coordinator asks partition leaders for the end offsets of committed partitions it hosts no replica of (kafka_consumergroup_lag).",
            minimum: 100);
        yield return new("message.max.bytes", Int, "1048588", "Largest record batch accepted (topic: max.message.bytes).", minimum: 0);
        yield return new("compression.type", Text, "producer", "Final compression of appended batches (topic: compression.type).", allowedValues: CompressionTypes);
        yield return new("compression.gzip.level", Int, "-1", "gzip level when compression.type=gzip (KIP-390).",
            extraValidation: v => ConfigValues.ParseInt(v) is -1 or (>= 1 and <= 9) ? null : "-1 or an integer in [1, 9]");
        yield return new("compression.lz4.level", Int, "9", "lz4 level when compression.type=lz4 (KIP-390).", minimum: 1, maximum: 17);
        yield return new("compression.zstd.level", Int, "3", "zstd level when compression.type=zstd (KIP-390).", minimum: -131072, maximum: 22);

        // Retention and segments. Time-based keys come in ms/minutes/hours triples; the finest one set wins.
        yield return new("log.retention.ms", Long, null, "Retention time in ms (-1 = unlimited); wins over minutes and hours.", minimum: -1);
        yield return new("log.retention.minutes", Int, null, "Retention time in minutes; wins over hours.", minimum: -1);
        yield return new("log.retention.hours", Int, "168", "Retention time in hours.", minimum: -1);
        yield return new("log.retention.bytes", Long, "-1", "Retention size per partition (-1 = unlimited).", minimum: -1);
        yield return new("log.local.retention.ms", Long, "-2", "Local retention time with tiered storage (-2 = same as retention).", minimum: -2);
        yield return new("log.local.retention.bytes", Long, "-2", "Local retention size with tiered storage (-2 = same as retention).", minimum: -2);
        yield return new("log.segment.bytes", Int, "1073741824", "Segment file size before rolling.", minimum: 14);
        yield return new("log.roll.ms", Long, null, "Segment age before rolling in ms; wins over hours.", minimum: 1);
        yield return new("log.roll.hours", Int, "168", "Segment age before rolling in hours.", minimum: 1);
        yield return new("log.roll.jitter.ms", Long, null, "Maximum random jitter subtracted from the roll time, ms; wins over hours.", minimum: 0);
        yield return new("log.roll.jitter.hours", Int, "0", "Maximum random jitter subtracted from the roll time, hours.", minimum: 0);
        yield return new("log.index.interval.bytes", Int, "4096", "Bytes between offset index entries.", minimum: 0);
        yield return new("log.index.size.max.bytes", Int, "10485760", "Maximum offset/time index file size.", minimum: 4);
        yield return new("log.segment.delete.delay.ms", Long, "60000", "Delay before a deleted segment's files are removed (topic: file.delete.delay.ms).", minimum: 0);
        yield return new("log.preallocate", Bool, "false", "Preallocate segment files.");
        yield return new("log.retention.check.interval.ms", Long, "300000", "How often retention is enforced.", minimum: 1);
        yield return new("log.cleanup.policy", List, "delete", "delete and/or compact.", allowedValues: CleanupPolicies);
        yield return new("log.message.timestamp.type", Text, "CreateTime", "CreateTime or LogAppendTime.", allowedValues: TimestampTypes);
        yield return new("log.message.timestamp.before.max.ms", Long, LongMax, "Largest allowed age of a record's CreateTime (KIP-937).", minimum: 0);
        yield return new("log.message.timestamp.after.max.ms", Long, "3600000", "Largest allowed future skew of a record's CreateTime (KIP-937; 1 h since Kafka 4.0).", minimum: 0);

        // Flush (fsync) policy; Kafka leaves durability to replication by default.
        yield return new("log.flush.interval.messages", Long, LongMax, "Messages appended before an fsync.", minimum: 1);
        yield return new("log.flush.interval.ms", Long, null, "Maximum time a message stays unflushed; unset = log.flush.scheduler.interval.ms.", minimum: 0);
        yield return new("log.flush.scheduler.interval.ms", Long, LongMax, "How often the flusher checks whether a log needs flushing.", minimum: 0);
        yield return new("log.flush.offset.checkpoint.interval.ms", Int, "60000", "How often recovery points are checkpointed.", minimum: 0);

        // Compaction.
        yield return new("log.cleaner.enable", Bool, "true", "Run the log cleaner (needed for compacted topics such as __consumer_offsets).");
        yield return new("log.cleaner.threads", Int, "1", "Log cleaner threads.", minimum: 0);
        yield return new("log.cleaner.io.max.bytes.per.second", Double, "1.7976931348623157E308", "Cleaner I/O throttle (read + write).");
        yield return new("log.cleaner.min.cleanable.ratio", Double, "0.5", "Minimum dirty ratio before a log is cleaned.", minimum: 0, maximum: 1);
        yield return new("log.cleaner.delete.retention.ms", Long, "86400000", "How long tombstones are kept in compacted logs.", minimum: 0);
        yield return new("log.cleaner.min.compaction.lag.ms", Long, "0", "Minimum age before a record may be compacted.", minimum: 0);
        yield return new("log.cleaner.max.compaction.lag.ms", Long, LongMax, "Maximum age before a record must be eligible for compaction.", minimum: 1);
        yield return new("log.cleaner.backoff.ms", Long, "15000", "Sleep when there is nothing to clean.", minimum: 0);
        yield return new("log.cleaner.dedupe.buffer.size", Long, "134217728", "Memory for the cleaner's offset map, all threads together.");

        // Replication.
        yield return new("replica.lag.time.max.ms", Long, "30000", "A follower not caught up for this long leaves the ISR.", minimum: 1);
        yield return new("producer.id.expiration.ms", Long, "86400000", "An idempotent producer idle this long is forgotten by the partitions it wrote to.", minimum: 1);
        yield return new("producer.id.expiration.check.interval.ms", Long, "600000", "How often partitions look for expired producer ids.", minimum: 1);
        yield return new("unclean.leader.election.enable", Bool, "false", "Allow out-of-sync replicas to become leader (may lose data).");
        yield return new("replica.fetch.max.bytes", Int, "1048576", "Bytes per partition a follower fetches per request.", minimum: 0);
        yield return new("replica.fetch.response.max.bytes", Int, "10485760", "Bytes per follower fetch response.", minimum: 0);
        yield return new("replica.fetch.min.bytes", Int, "1", "Minimum bytes a follower fetch waits for.");
        yield return new("replica.fetch.wait.max.ms", Int, "500", "Longest a follower fetch waits for data.");
        yield return new("replica.fetch.backoff.ms", Int, "1000", "Sleep after a follower fetch error.", minimum: 0);
        yield return new("num.replica.fetchers", Int, "1", "Fetcher threads per source broker.");
        yield return new("replica.high.watermark.checkpoint.interval.ms", Long, "5000", "How often high watermarks are checkpointed.");
        yield return new("auto.leader.rebalance.enable", Bool, "true", "Move leadership back to preferred replicas.");
        yield return new("controlled.shutdown.enable", Bool, "true", "Move leadership away before shutting down.");
        yield return new("leader.imbalance.check.interval.seconds", Long, "300", "How often the controller moves leadership back to preferred replicas.", minimum: 1);
        yield return new("leader.imbalance.per.broker.percentage", Int, "10", "Share of a broker's partitions led elsewhere before leadership is rebalanced.", minimum: 0);
        yield return new("broker.heartbeat.interval.ms", Int, "2000", "How often a broker heartbeats to the active controller.", minimum: 1);
        yield return new("broker.session.timeout.ms", Int, "9000", "A broker that has not heartbeated for this long is fenced.", minimum: 1);
        yield return new("controller.quorum.election.timeout.ms", Int, "1000", "Time without a quorum leader before a voter starts an election.", minimum: 10);
        yield return new("controller.quorum.heartbeat.interval.ms", Int, "100", "Tributary: how often the quorum leader heartbeats its voters.", minimum: 1);
        yield return new("controller.quorum.request.timeout.ms", Int, "2000", "Time a broker waits for the active controller to answer.", minimum: 1);

        // Group coordinator and offsets topic.
        yield return new("offsets.topic.num.partitions", Int, "50", "Partitions of __consumer_offsets.", minimum: 1);
        yield return new("offsets.topic.replication.factor", Short, "3", "Replication factor of __consumer_offsets (creation waits for that many brokers).", minimum: 1);
        yield return new("offsets.topic.segment.bytes", Int, "104857600", "Segment size of __consumer_offsets.", minimum: 1);
        yield return new("offsets.commit.timeout.ms", Int, "5000", "An offset commit waits this long for the offsets topic's replicas before failing.", minimum: 1);
        yield return new("offsets.retention.minutes", Int, "10080", "How long committed offsets of empty groups are kept.", minimum: 1);
        yield return new("offsets.retention.check.interval.ms", Long, "600000", "How often stale offsets are expired.", minimum: 1);
        yield return new("group.min.session.timeout.ms", Int, "6000", "Smallest session timeout a consumer may ask for.");
        yield return new("group.max.session.timeout.ms", Int, "1800000", "Largest session timeout a consumer may ask for.");
        yield return new("group.initial.rebalance.delay.ms", Int, "3000", "Wait for more members before the first rebalance of an empty group.");
        yield return new("group.max.size", Int, int.MaxValue.ToString(CultureInfo.InvariantCulture), "Maximum members per classic group.", minimum: 1);

        // Transaction coordinator and its state topic.
        yield return new("transaction.state.log.replication.factor", Short, "3", "Replication factor of __transaction_state.", minimum: 1);
        yield return new("transaction.state.log.min.isr", Int, "2", "min.insync.replicas of __transaction_state.", minimum: 1);
        yield return new("transaction.state.log.num.partitions", Int, "50", "Partitions of __transaction_state.", minimum: 1);
        yield return new("transaction.state.log.segment.bytes", Int, "104857600", "Segment size of __transaction_state.", minimum: 1);
        yield return new("transaction.max.timeout.ms", Int, "900000", "Largest transaction.timeout.ms a transactional producer may ask for (INVALID_TRANSACTION_TIMEOUT above).", minimum: 1);
        yield return new("transaction.abort.timed.out.transaction.cleanup.interval.ms", Int, "10000", "How often the transaction coordinator aborts transactions open longer than their timeout.", minimum: 1);
        yield return new("transactional.id.expiration.ms", Int, "604800000", "A transactional id without a transaction for this long is removed.", minimum: 1);
        yield return new("transaction.remove.expired.transaction.cleanup.interval.ms", Int, "3600000", "How often expired transactional ids are removed.", minimum: 1);

        // Accepted for compatibility with stock Kafka server.properties files; Tributary's runtime does not use them yet.
        yield return new("share.coordinator.state.topic.replication.factor", Short, "3", "Replication factor of __share_group_state.", minimum: 1);
        yield return new("share.coordinator.state.topic.min.isr", Int, "2", "min.insync.replicas of __share_group_state.", minimum: 1);
        yield return new("num.network.threads", Int, "3", "Kafka network threads (Kestrel schedules connections itself).", minimum: 1);
        yield return new("num.io.threads", Int, "8", "Kafka request handler threads.", minimum: 1);
        yield return new("num.recovery.threads.per.data.dir", Int, "2", "Threads per data dir for log recovery at start-up.", minimum: 1);
        yield return new("socket.send.buffer.bytes", Int, "102400", "SO_SNDBUF of client sockets (-1 = OS default).");
        yield return new("socket.receive.buffer.bytes", Int, "102400", "SO_RCVBUF of client sockets (-1 = OS default).");
    }
}
