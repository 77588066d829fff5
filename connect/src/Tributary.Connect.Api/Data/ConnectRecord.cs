namespace Tributary.Connect.Api.Data;

/// <summary>One header of a Connect record (the value is kept as bytes as it travels through Kafka).</summary>
public sealed record ConnectHeader(string Key, byte[]? Value);

/// <summary>A record flowing through Connect: topic, optional partition, key and value with schemas, timestamp, headers.</summary>
public abstract class ConnectRecord
{
    protected ConnectRecord(string topic, int? kafkaPartition, Schema? keySchema, object? key, Schema? valueSchema, object? value,
        long? timestamp, IReadOnlyList<ConnectHeader>? headers)
    {
        Topic = topic;
        KafkaPartition = kafkaPartition;
        KeySchema = keySchema;
        Key = key;
        ValueSchema = valueSchema;
        Value = value;
        Timestamp = timestamp;
        Headers = headers ?? [];
    }

    public string Topic { get; }
    public int? KafkaPartition { get; }
    public Schema? KeySchema { get; }
    public object? Key { get; }
    public Schema? ValueSchema { get; }
    public object? Value { get; }

    /// <summary>Milliseconds since the epoch, or null.</summary>
    public long? Timestamp { get; }
    public IReadOnlyList<ConnectHeader> Headers { get; }

    /// <summary>A copy of this record of the same kind with the given parts replaced (what a transform returns).</summary>
    public abstract ConnectRecord NewRecord(string topic, int? kafkaPartition, Schema? keySchema, object? key, Schema? valueSchema,
        object? value, long? timestamp, IReadOnlyList<ConnectHeader>? headers = null);

    public override string ToString() => $"{GetType().Name}{{topic='{Topic}', kafkaPartition={KafkaPartition}, key={ValueEquality.Show(Key)}, value={ValueEquality.Show(Value)}, timestamp={Timestamp}}}";
}

/// <summary>A record a source task produced, with the source partition and offset it came from.</summary>
public sealed class SourceRecord : ConnectRecord
{
    public SourceRecord(IReadOnlyDictionary<string, object?>? sourcePartition, IReadOnlyDictionary<string, object?>? sourceOffset, string topic,
        int? kafkaPartition, Schema? keySchema, object? key, Schema? valueSchema, object? value, long? timestamp = null,
        IReadOnlyList<ConnectHeader>? headers = null)
        : base(topic, kafkaPartition, keySchema, key, valueSchema, value, timestamp, headers)
    {
        SourcePartition = sourcePartition;
        SourceOffset = sourceOffset;
    }

    public SourceRecord(IReadOnlyDictionary<string, object?>? sourcePartition, IReadOnlyDictionary<string, object?>? sourceOffset, string topic,
        Schema? valueSchema, object? value)
        : this(sourcePartition, sourceOffset, topic, null, null, null, valueSchema, value)
    {
    }

    public IReadOnlyDictionary<string, object?>? SourcePartition { get; }
    public IReadOnlyDictionary<string, object?>? SourceOffset { get; }

    public override ConnectRecord NewRecord(string topic, int? kafkaPartition, Schema? keySchema, object? key, Schema? valueSchema,
        object? value, long? timestamp, IReadOnlyList<ConnectHeader>? headers = null) =>
        new SourceRecord(SourcePartition, SourceOffset, topic, kafkaPartition, keySchema, key, valueSchema, value, timestamp, headers ?? Headers);
}

/// <summary>A record a sink task receives, with the Kafka offset it was read at.</summary>
public sealed class SinkRecord : ConnectRecord
{
    public SinkRecord(string topic, int partition, Schema? keySchema, object? key, Schema? valueSchema, object? value, long kafkaOffset,
        long? timestamp = null, IReadOnlyList<ConnectHeader>? headers = null, string? originalTopic = null, int? originalPartition = null, long? originalOffset = null)
        : base(topic, partition, keySchema, key, valueSchema, value, timestamp, headers)
    {
        KafkaOffset = kafkaOffset;
        OriginalTopic = originalTopic ?? topic;
        OriginalPartition = originalPartition ?? partition;
        OriginalOffset = originalOffset ?? kafkaOffset;
    }

    public long KafkaOffset { get; }

    /// <summary>Where the record was consumed (transforms may rename the topic; offsets are committed here).</summary>
    public string OriginalTopic { get; }
    public int OriginalPartition { get; }
    public long OriginalOffset { get; }

    public override ConnectRecord NewRecord(string topic, int? kafkaPartition, Schema? keySchema, object? key, Schema? valueSchema,
        object? value, long? timestamp, IReadOnlyList<ConnectHeader>? headers = null) =>
        new SinkRecord(topic, kafkaPartition ?? OriginalPartition, keySchema, key, valueSchema, value, KafkaOffset, timestamp, headers ?? Headers,
            OriginalTopic, OriginalPartition, OriginalOffset);
}
