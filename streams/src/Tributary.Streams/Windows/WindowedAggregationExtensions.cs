using Streamiz.Kafka.Net.Processors.Public;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.State;
using Streamiz.Kafka.Net.State.Supplier;
using Streamiz.Kafka.Net.Stream;
using Tributary.Streams.SerDes;

namespace Tributary.Streams.Windows;

/// <summary>
/// Sliding and session windowed aggregations for Streamiz streams, which its DSL lacks, built on its public
/// transformer and state-store API. The input must already be partitioned by its key (as after Kafka Streams'
/// groupByKey; call Streamiz's <c>Repartition</c> first when an upstream operation changed the key). The result is the
/// stream of window updates (Kafka Streams' windowed KTable <c>toStream()</c> without caching): each created or updated
/// window with its aggregate, and for sessions a tombstone per session merged away.
/// </summary>
public static class WindowedAggregationExtensions
{
    /// <summary>Session-windowed aggregate; the store (in memory unless <paramref name="storeSupplier"/> says otherwise) is
    /// backed by a compacted changelog topic and restored from it.</summary>
    public static IKStream<Windowed<K>, VAgg> AggregateSessions<K, V, VAgg>(this IKStream<K, V> stream, SessionWindowOptions windows,
        WindowedAggregation<K, V, VAgg> aggregation, IKeyValueBytesStoreSupplier? storeSupplier = null, string? named = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(aggregation);
        _ = windows.RetentionMs; // validates retention >= gap + grace before the topology is built
        var supplier = TransformerBuilder.New<K, V, Windowed<K>, VAgg>()
            .Transformer<SessionAggregateTransformer<K, V, VAgg>>(aggregation, windows)
            .StateStore(StoreBuilder(aggregation, storeSupplier))
            .Build();
        return stream.Transform(supplier, named);
    }

    /// <summary>Counts records per session; merged-away sessions come as null (tombstones).</summary>
    public static IKStream<Windowed<K>, long?> CountSessions<K, V>(this IKStream<K, V> stream, SessionWindowOptions windows, string storeName,
        ISerDes<K> keySerDes, IKeyValueBytesStoreSupplier? storeSupplier = null, string? named = null) =>
        stream.AggregateSessions(windows, new WindowedAggregation<K, V, long?>(storeName, keySerDes, new NullableInt64SerDes(), () => 0L, (_, _, count) => count + 1)
        {
            Merger = (_, left, right) => left + right,
        }, storeSupplier, named);

    /// <summary>Sliding-windowed aggregate; the store is backed by a compacted changelog topic and restored from it.</summary>
    public static IKStream<Windowed<K>, VAgg> AggregateSliding<K, V, VAgg>(this IKStream<K, V> stream, SlidingWindowOptions windows,
        WindowedAggregation<K, V, VAgg> aggregation, IKeyValueBytesStoreSupplier? storeSupplier = null, string? named = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(aggregation);
        _ = windows.RetentionMs;
        var supplier = TransformerBuilder.New<K, V, Windowed<K>, VAgg>()
            .Transformer<SlidingAggregateTransformer<K, V, VAgg>>(aggregation, windows)
            .StateStore(StoreBuilder(aggregation, storeSupplier))
            .Build();
        return stream.Transform(supplier, named);
    }

    /// <summary>Counts records per sliding window.</summary>
    public static IKStream<Windowed<K>, long?> CountSliding<K, V>(this IKStream<K, V> stream, SlidingWindowOptions windows, string storeName,
        ISerDes<K> keySerDes, IKeyValueBytesStoreSupplier? storeSupplier = null, string? named = null) =>
        stream.AggregateSliding(windows, new WindowedAggregation<K, V, long?>(storeName, keySerDes, new NullableInt64SerDes(), () => 0L, (_, _, count) => count + 1),
            storeSupplier, named);

    private static IStoreBuilder StoreBuilder<K, V, VAgg>(WindowedAggregation<K, V, VAgg> aggregation, IKeyValueBytesStoreSupplier? storeSupplier)
    {
        var builder = Stores.KeyValueStoreBuilder(storeSupplier ?? Stores.InMemoryKeyValueStore(aggregation.StoreName), new ByteArraySerDes(), new ByteArraySerDes())
            .WithCachingDisabled();
        return aggregation.LoggingEnabled ? builder.WithLoggingEnabled(new Dictionary<string, string>()) : builder.WithLoggingDisabled();
    }
}
