using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Streamiz.Kafka.Net.SerDes;

namespace Tributary.Streams.Windows;

/// <summary>What a windowed aggregation needs besides its window definition: the store, the serdes and the functions.</summary>
/// <typeparam name="K">Record key.</typeparam>
/// <typeparam name="V">Record value.</typeparam>
/// <typeparam name="VAgg">Aggregate. Tombstones for merged sessions are forwarded as <c>default</c>: a reference or
/// <see cref="Nullable{T}"/> type tells them apart from a real aggregate.</typeparam>
public sealed class WindowedAggregation<K, V, VAgg>
{
    public WindowedAggregation(string storeName, ISerDes<K> keySerDes, ISerDes<VAgg> aggregateSerDes, Func<VAgg> initializer,
        Func<K, V, VAgg, VAgg> aggregator)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(storeName);
        StoreName = storeName;
        KeySerDes = keySerDes ?? throw new ArgumentNullException(nameof(keySerDes));
        AggregateSerDes = aggregateSerDes ?? throw new ArgumentNullException(nameof(aggregateSerDes));
        Initializer = initializer ?? throw new ArgumentNullException(nameof(initializer));
        Aggregator = aggregator ?? throw new ArgumentNullException(nameof(aggregator));
    }

    /// <summary>State store name; its changelog topic is <c>&lt;application.id&gt;-&lt;store&gt;-changelog</c>.</summary>
    public string StoreName { get; }

    public ISerDes<K> KeySerDes { get; }

    public ISerDes<VAgg> AggregateSerDes { get; }

    public Func<VAgg> Initializer { get; }

    public Func<K, V, VAgg, VAgg> Aggregator { get; }

    /// <summary>Session windows only: combines the aggregates of two sessions a record joins (Kafka's session merger).</summary>
    public Func<K, VAgg, VAgg, VAgg>? Merger { get; init; }

    /// <summary>Where the aggregation logs skipped records; none by default.</summary>
    public ILoggerFactory Loggers { get; init; } = NullLoggerFactory.Instance;

    /// <summary>How often (stream time) windows past retention are removed from the whole store; one minute by default.
    /// A key's own expired windows also go whenever one of its records is processed.</summary>
    public TimeSpan RetentionSweepInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Keeps the store's changelog topic (compacted) so the windows are restored after a restart or a rebalance;
    /// on by default, as for Kafka Streams' stores.</summary>
    public bool LoggingEnabled { get; init; } = true;
}
