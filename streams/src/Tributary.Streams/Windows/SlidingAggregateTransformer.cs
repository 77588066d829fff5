using Streamiz.Kafka.Net.Stream;
using Tributary.Streams.Diagnostics;

namespace Tributary.Streams.Windows;

/// <summary>
/// Sliding-window aggregation with Kafka Streams' semantics (KStreamSlidingWindowAggregate, KIP-450, forward-iterating
/// variant). The key's windows are kept by start with the latest record timestamp in each. For a record at t (size d):
/// windows starting in [t − 2d, t + 1] are visited in start order: one ending before t gives the aggregate for t's new
/// left window; one ending at t is t's left window and is updated; one that contains t is updated and gives the aggregate
/// for t's right window; one starting at t + 1 is t's right window. Then the previous record's right window is created
/// when missing and t falls in it, t's left window [t − d, t] when missing, and t's right window [t + 1, t + 1 + d] when
/// later records exist within d (it gets their aggregate, without t). Each created or updated window is forwarded with
/// the latest record timestamp in it. Records before d use the combined window [0, d] instead of negative starts.
/// </summary>
public sealed class SlidingAggregateTransformer<K, V, VAgg> : WindowAggregateTransformer<K, V, VAgg>
{
    private readonly SlidingWindowOptions? windows;

    public SlidingAggregateTransformer()
    {
    }

    public SlidingAggregateTransformer(WindowedAggregation<K, V, VAgg> settings, SlidingWindowOptions windows)
        : base(settings)
    {
        this.windows = windows ?? throw new ArgumentNullException(nameof(windows));
    }

    private SlidingWindowOptions Windows => windows ?? throw new InvalidOperationException("Transformer created without windows.");

    private long Size => Windows.SizeMs;

    protected override long RetentionMs => Windows.RetentionMs;

    private protected override bool IsExpired(WindowEntry window, long now) => window.Start + Size < now - RetentionMs;

    protected override void Aggregate(K key, V value, long timestamp)
    {
        var closeTime = StreamTime - Windows.GraceMs;
        if (timestamp + 1 + Size <= closeTime)
        {
            StreamsLog.SlidingWindowExpired(Logger, Settings.StoreName, TaskName, timestamp, timestamp - Size, timestamp, closeTime, StreamTime);
            CountDropped("expired-window");
            return;
        }

        var keyBytes = KeyBytes(key);
        var state = new KeyWindows(Load(keyBytes));
        if (timestamp < Size)
        {
            AggregateEarly(key, value, timestamp, closeTime, state);
        }
        else
        {
            AggregateInOrder(key, value, timestamp, closeTime, state);
        }

        Save(keyBytes, state.Entries);
    }

    private void AggregateInOrder(K key, V value, long t, long closeTime, KeyWindows state)
    {
        var starts = new HashSet<long>();
        WindowEntry? leftAggregate = null;
        WindowEntry? rightAggregate = null;
        var leftCreated = false;
        var rightCreated = false;
        long? previousRecord = null;

        foreach (var window in state.InRange(Math.Max(0, t - (2 * Size)), t + 1))
        {
            starts.Add(window.Start);
            var end = window.Start + Size;
            if (end < t)
            {
                leftAggregate = window;
                previousRecord = window.Time;
            }
            else if (end == t)
            {
                leftCreated = true;
                if (window.Time < t)
                {
                    previousRecord = window.Time;
                }

                UpdateAndForward(key, value, window.Start, window, t, closeTime, state);
            }
            else if (window.Start <= t)
            {
                rightAggregate = window;
                UpdateAndForward(key, value, window.Start, window, t, closeTime, state);
            }
            else if (window.Start == t + 1)
            {
                rightCreated = true;
            }
            else
            {
                throw new InvalidOperationException($"Sliding window starting at {window.Start} cannot be visited for a record at {t}.");
            }
        }

        if (previousRecord is { } previous)
        {
            var previousRightStart = previous + 1;
            if (!starts.Contains(previousRightStart) && previousRightStart + Size >= t)
            {
                UpdateAndForward(key, value, previousRightStart, null, t, closeTime, state);
            }
        }

        if (!leftCreated)
        {
            // The left window [t - d, t] holds the previous record's aggregate when that record is within d of t.
            var seed = previousRecord is { } p && t - Size <= p && leftAggregate is { } left
                ? new WindowEntry(t - Size, t, left.Aggregate)
                : (WindowEntry?)null;
            UpdateAndForward(key, value, t - Size, seed, t, closeTime, state);
        }

        if (!rightCreated && rightAggregate is { } right && right.Time > t)
        {
            CreateRightWindow(key, t, right, state);
        }
    }

    private void AggregateEarly(K key, V value, long t, long closeTime, KeyWindows state)
    {
        WindowEntry? combined = null;
        WindowEntry? rightAggregate = null;
        var rightCreated = false;
        var starts = new HashSet<long>();
        long? previousRecord = null;

        foreach (var window in state.InRange(0, t + 1))
        {
            starts.Add(window.Start);
            if (window.Start == 0)
            {
                combined = window;
                if (window.Time < t)
                {
                    previousRecord = window.Time;
                }
            }
            else if (window.Start <= t)
            {
                rightAggregate = window;
                UpdateAndForward(key, value, window.Start, window, t, closeTime, state);
            }
            else if (window.Start == t + 1)
            {
                rightCreated = true;
            }
            else
            {
                throw new InvalidOperationException($"Sliding window starting at {window.Start} cannot be visited for an early record at {t}.");
            }
        }

        if (rightAggregate is null && combined is { } c && c.Time > t)
        {
            rightAggregate = c;
        }

        if (!rightCreated && rightAggregate is { } right && right.Time > t)
        {
            CreateRightWindow(key, t, right, state);
        }

        if (previousRecord is { } previous && !starts.Contains(previous + 1))
        {
            UpdateAndForward(key, value, previous + 1, null, t, closeTime, state);
        }

        UpdateAndForward(key, value, 0, combined, t, closeTime, state);
    }

    /// <summary>t's right window gets the aggregate of the later records found (t itself is not in it), unchanged.</summary>
    private void CreateRightWindow(K key, long t, WindowEntry source, KeyWindows state)
    {
        var start = t + 1;
        state.Put(new WindowEntry(start, source.Time, source.Aggregate));
        Forward(key, new TimeWindow(start, start + Size), DeserializeAggregate(source.Aggregate), source.Time);
    }

    /// <summary>Aggregates the record into the window starting at <paramref name="start"/> (from <paramref name="existing"/>'s
    /// aggregate, or a fresh one) unless the window closed, which drops and counts the update.</summary>
    private void UpdateAndForward(K key, V value, long start, WindowEntry? existing, long t, long closeTime, KeyWindows state)
    {
        var end = start + Size;
        if (end < closeTime)
        {
            StreamsLog.SlidingWindowExpired(Logger, Settings.StoreName, TaskName, t, start, end, closeTime, StreamTime);
            CountDropped("expired-window");
            return;
        }

        var old = existing is { } e ? DeserializeAggregate(e.Aggregate) : Settings.Initializer();
        var aggregate = Settings.Aggregator(key, value, old);
        var latest = existing is { } found ? Math.Max(t, found.Time) : t;
        state.Put(new WindowEntry(start, latest, SerializeAggregate(aggregate)));
        Forward(key, new TimeWindow(start, end), aggregate, latest);
    }

    /// <summary>One key's windows ordered by start.</summary>
    private sealed class KeyWindows(List<WindowEntry> entries)
    {
        public List<WindowEntry> Entries { get; } = entries;

        /// <summary>A snapshot of the windows starting in [from, to], in start order.</summary>
        public List<WindowEntry> InRange(long from, long to) => Entries.Where(w => w.Start >= from && w.Start <= to).ToList();

        public void Put(WindowEntry window)
        {
            var index = Entries.FindIndex(w => w.Start >= window.Start);
            if (index < 0)
            {
                Entries.Add(window);
            }
            else if (Entries[index].Start == window.Start)
            {
                Entries[index] = window;
            }
            else
            {
                Entries.Insert(index, window);
            }
        }
    }
}
