using Streamiz.Kafka.Net.Stream;

namespace Tributary.Streams.Windows;

/// <summary>
/// Session windows as Kafka Streams defines them (<c>SessionWindows.ofInactivityGapAndGrace</c>): per key, records
/// closer than <see cref="InactivityGap"/> to each other form one session [first, last] (both ends inclusive); a record
/// that falls within the gap of two sessions merges them. A record is late, dropped and counted, when the session it
/// would land in ends before stream time − grace − gap.
/// </summary>
public sealed record SessionWindowOptions
{
    public SessionWindowOptions(TimeSpan inactivityGap, TimeSpan grace)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(inactivityGap, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(grace, TimeSpan.Zero);
        InactivityGap = inactivityGap;
        Grace = grace;
    }

    public TimeSpan InactivityGap { get; }

    public TimeSpan Grace { get; }

    /// <summary>How long sessions stay in the store after they end (stream time); at least gap + grace, Kafka's default.</summary>
    public TimeSpan? Retention { get; init; }

    internal long GapMs => (long)InactivityGap.TotalMilliseconds;

    internal long GraceMs => (long)Grace.TotalMilliseconds;

    internal long RetentionMs
    {
        get
        {
            var minimum = GapMs + GraceMs;
            var asked = Retention is { } r ? (long)r.TotalMilliseconds : minimum;
            return asked < minimum
                ? throw new ArgumentException($"Session retention ({asked} ms) must be at least inactivity gap + grace ({minimum} ms), as in Kafka Streams.")
                : asked;
        }
    }
}

/// <summary>One session: [<see cref="Window.StartMs"/>, <see cref="Window.EndMs"/>], both inclusive (start = end for one record).</summary>
public sealed class SessionWindow : Window
{
    public SessionWindow(long startMs, long endMs)
        : base(startMs, endMs)
    {
    }

    /// <summary>Two sessions overlap when neither ends before the other starts.</summary>
    public override bool Overlap(Window other) => other is not null && !(other.EndMs < StartMs || EndMs < other.StartMs);

    public override string ToString() => $"[{StartMs},{EndMs}]";
}
