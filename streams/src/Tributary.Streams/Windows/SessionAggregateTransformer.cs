using Tributary.Streams.Diagnostics;

namespace Tributary.Streams.Windows;

/// <summary>
/// Session-windowed aggregation with Kafka Streams' semantics (KStreamSessionWindowAggregate): a record at t joins every
/// session of its key that ends at or after t − gap and starts at or before t + gap; their aggregates are merged (merger)
/// into one session spanning them all and t, and the record is aggregated into it. When that changes any session, each
/// old session is first forwarded as a tombstone (default value). A record whose merged session ends before stream time −
/// grace − gap is late: dropped, logged and counted. Every forward carries the input record's timestamp.
/// </summary>
public sealed class SessionAggregateTransformer<K, V, VAgg> : WindowAggregateTransformer<K, V, VAgg>
{
    private readonly SessionWindowOptions? windows;

    public SessionAggregateTransformer()
    {
    }

    public SessionAggregateTransformer(WindowedAggregation<K, V, VAgg> settings, SessionWindowOptions windows)
        : base(settings)
    {
        this.windows = windows ?? throw new ArgumentNullException(nameof(windows));
        if (settings.Merger is null)
        {
            throw new ArgumentException("Session windows need a merger to combine the aggregates of sessions a record joins.", nameof(settings));
        }
    }

    private SessionWindowOptions Windows => windows ?? throw new InvalidOperationException("Transformer created without windows.");

    protected override long RetentionMs => Windows.RetentionMs;

    private protected override bool IsExpired(WindowEntry window, long now) => window.Time < now - RetentionMs;

    protected override void Aggregate(K key, V value, long timestamp)
    {
        var gap = Windows.GapMs;
        var closeTime = StreamTime - Windows.GraceMs - gap;
        var keyBytes = KeyBytes(key);
        var sessions = Load(keyBytes);

        var merged = new List<WindowEntry>();
        long start = timestamp, end = timestamp;
        var aggregate = Settings.Initializer();
        foreach (var session in sessions)
        {
            // A session [start, end] is found when end >= t - gap and start <= t + gap (SessionStore.findSessions).
            if (session.Time >= timestamp - gap && session.Start <= timestamp + gap)
            {
                merged.Add(session);
                aggregate = Settings.Merger!(key, aggregate, DeserializeAggregate(session.Aggregate));
                start = Math.Min(start, session.Start);
                end = Math.Max(end, session.Time);
            }
        }

        if (end < closeTime)
        {
            StreamsLog.SessionRecordExpired(Logger, Settings.StoreName, TaskName, timestamp, start, end, closeTime, StreamTime);
            CountDropped("expired-window");
            return;
        }

        if (start != timestamp || end != timestamp)
        {
            foreach (var session in merged)
            {
                Forward(key, new SessionWindow(session.Start, session.Time), default!);
            }
        }

        sessions.RemoveAll(merged.Contains);
        aggregate = Settings.Aggregator(key, value, aggregate);
        var index = sessions.FindIndex(s => s.Start > start);
        sessions.Insert(index < 0 ? sessions.Count : index, new WindowEntry(start, end, SerializeAggregate(aggregate)));
        Save(keyBytes, sessions);
        Forward(key, new SessionWindow(start, end), aggregate);
    }
}
