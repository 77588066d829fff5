using System.Buffers.Binary;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Streamiz.Kafka.Net.Processors.Public;
using Streamiz.Kafka.Net.State;
using Streamiz.Kafka.Net.Stream;
using Tributary.Streams.Diagnostics;

namespace Tributary.Streams.Windows;

/// <summary>
/// What the session and sliding aggregations share: their key-value store (key: a 0x01 byte and the serialized record
/// key; value: that key's windows, <see cref="WindowEntries"/>), the task's stream time (kept in the same store under the
/// single byte 0x00, so it is restored from the changelog with the windows), the dropped-records metric and the
/// retention sweep.
/// </summary>
public abstract class WindowAggregateTransformer<K, V, VAgg> : ITransformer<K, V, Windowed<K>, VAgg>
{
    private static readonly byte[] StreamTimeKey = [0x00];
    private const byte WindowKeyPrefix = 0x01;

    private readonly WindowedAggregation<K, V, VAgg>? settings;
    private ProcessorContext<Windowed<K>, VAgg>? context;
    private IKeyValueStore<byte[], byte[]>? store;
    private long? streamTime;
    private KeyValuePair<string, object?>[] dropTags = [];

    /// <summary>Streamiz's builder instantiates the transformer type once without arguments; that instance never runs.</summary>
    protected WindowAggregateTransformer()
    {
    }

    protected WindowAggregateTransformer(WindowedAggregation<K, V, VAgg> settings)
    {
        this.settings = settings ?? throw new ArgumentNullException(nameof(settings));
        Logger = settings.Loggers.CreateLogger(GetType());
    }

    protected WindowedAggregation<K, V, VAgg> Settings => settings ?? throw new InvalidOperationException("Transformer created without settings.");

    protected ProcessorContext<Windowed<K>, VAgg> Context => context ?? throw new InvalidOperationException("Transformer not initialized.");

    protected ILogger Logger { get; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    protected string TaskName => Context.Id.ToString();

    /// <summary>Retention of this kind of window (stream time after a window's end).</summary>
    protected abstract long RetentionMs { get; }

    private IKeyValueStore<byte[], byte[]> Store => store ?? throw new InvalidOperationException("Transformer not initialized.");

    /// <summary>Highest record timestamp this task has seen (−1 before the first), restored with the store.</summary>
    protected long StreamTime
    {
        get
        {
            if (streamTime is null)
            {
                var stored = Store.Get(StreamTimeKey);
                streamTime = stored is { Length: 8 } ? BinaryPrimitives.ReadInt64BigEndian(stored) : -1;
            }

            return streamTime.Value;
        }
    }

    public void Init(ProcessorContext<Windowed<K>, VAgg> processorContext)
    {
        context = processorContext;
        store = processorContext.GetStateStore(Settings.StoreName) as IKeyValueStore<byte[], byte[]>
            ?? throw new InvalidOperationException($"State store {Settings.StoreName} is not a key-value store of byte arrays; connect the one the extension method builds.");
        dropTags = [new("application", processorContext.ApplicationId), new("task", processorContext.Id.ToString()), new("store", Settings.StoreName)];
        var interval = Settings.RetentionSweepInterval < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : Settings.RetentionSweepInterval;
        processorContext.Schedule(interval, PunctuationType.STREAM_TIME, _ => RemoveExpiredWindows());
    }

    public Record<Windowed<K>, VAgg>? Process(Record<K, V> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Key is null)
        {
            StreamsLog.NullKeySkipped(Logger, Settings.StoreName, TaskName, Context.Topic, Context.Partition.Value, Context.Offset);
            CountDropped("null-key");
            return null;
        }

        var timestamp = record.Timestamp.UnixTimestampMs;
        AdvanceStreamTime(timestamp);
        Aggregate(record.Key, record.Value, timestamp);
        return null;
    }

    public void Close()
    {
    }

    /// <summary>Applies one record (non-null key, its timestamp already in stream time) and forwards the window updates.</summary>
    protected abstract void Aggregate(K key, V value, long timestamp);

    /// <summary>Whether a stored window has passed retention at <paramref name="now"/> (stream time).</summary>
    private protected abstract bool IsExpired(WindowEntry window, long now);

    protected void CountDropped(string reason) =>
        StreamsMetrics.DroppedRecords.Add(1, [.. dropTags, new KeyValuePair<string, object?>("reason", reason)]);

    protected byte[] KeyBytes(K key)
    {
        var serialized = Settings.KeySerDes.Serialize(key, new SerializationContext(MessageComponentType.Key, Settings.StoreName)) ?? [];
        var bytes = new byte[serialized.Length + 1];
        bytes[0] = WindowKeyPrefix;
        serialized.CopyTo(bytes, 1);
        return bytes;
    }

    private protected List<WindowEntry> Load(byte[] keyBytes) => WindowEntries.Decode(Store.Get(keyBytes));

    /// <summary>Writes the key's windows (dropping those past retention); no windows left deletes the key.</summary>
    private protected void Save(byte[] keyBytes, List<WindowEntry> windows)
    {
        var now = StreamTime;
        windows.RemoveAll(w => IsExpired(w, now));
        if (windows.Count == 0)
        {
            Store.Delete(keyBytes);
        }
        else
        {
            Store.Put(keyBytes, WindowEntries.Encode(windows));
        }
    }

    protected byte[]? SerializeAggregate(VAgg aggregate) =>
        aggregate is null ? null : Settings.AggregateSerDes.Serialize(aggregate, new SerializationContext(MessageComponentType.Value, Settings.StoreName));

    protected VAgg DeserializeAggregate(byte[]? bytes) =>
        bytes is null ? default! : Settings.AggregateSerDes.Deserialize(bytes, new SerializationContext(MessageComponentType.Value, Settings.StoreName));

    protected void Forward(K key, Window window, VAgg aggregate, long? timestamp = null)
    {
        if (timestamp is { } ts)
        {
            Context.ChangeTimestamp(ts);
        }

        Context.Forward(new Windowed<K>(key, window), aggregate);
    }

    private void AdvanceStreamTime(long timestamp)
    {
        if (timestamp > StreamTime)
        {
            streamTime = timestamp;
            var bytes = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(bytes, timestamp);
            Store.Put(StreamTimeKey, bytes);
        }
    }

    private void RemoveExpiredWindows()
    {
        var now = StreamTime;
        var changed = new List<KeyValuePair<byte[], List<WindowEntry>>>();
        var removed = 0;
        foreach (var entry in Store.All())
        {
            if (entry.Key.Length == 0 || entry.Key[0] != WindowKeyPrefix)
            {
                continue;
            }

            var windows = WindowEntries.Decode(entry.Value);
            var expired = windows.RemoveAll(w => IsExpired(w, now));
            if (expired > 0)
            {
                removed += expired;
                changed.Add(KeyValuePair.Create(entry.Key, windows));
            }
        }

        foreach (var (key, windows) in changed)
        {
            Save(key, windows);
        }

        if (removed > 0)
        {
            StreamsLog.ExpiredWindowsRemoved(Logger, removed, Settings.StoreName, TaskName, now);
        }
    }
}
