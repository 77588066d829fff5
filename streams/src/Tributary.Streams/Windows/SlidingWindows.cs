namespace Tributary.Streams.Windows;

/// <summary>
/// Sliding windows as Kafka Streams defines them (<c>SlidingWindows.ofTimeDifferenceAndGrace</c>, KIP-450): windows of
/// fixed size <see cref="TimeDifference"/> [start, start + size] (both ends inclusive) aligned to records, so that each
/// distinct set of a key's records no further apart than the size is aggregated once. A record creates its left window
/// [t − size, t] and, when later records exist within size, its right window [t + 1, t + 1 + size]. A record is late,
/// dropped and counted, when t + 1 + size ≤ stream time − grace; an update to a window whose end is before stream time −
/// grace is dropped and counted too.
/// </summary>
public sealed record SlidingWindowOptions
{
    public SlidingWindowOptions(TimeSpan timeDifference, TimeSpan grace)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeDifference, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(grace, TimeSpan.Zero);
        TimeDifference = timeDifference;
        Grace = grace;
    }

    public TimeSpan TimeDifference { get; }

    public TimeSpan Grace { get; }

    /// <summary>How long windows stay in the store after they end (stream time); at least size + grace, Kafka's default.</summary>
    public TimeSpan? Retention { get; init; }

    internal long SizeMs => (long)TimeDifference.TotalMilliseconds;

    internal long GraceMs => (long)Grace.TotalMilliseconds;

    internal long RetentionMs
    {
        get
        {
            var minimum = SizeMs + GraceMs;
            var asked = Retention is { } r ? (long)r.TotalMilliseconds : minimum;
            return asked < minimum
                ? throw new ArgumentException($"Sliding window retention ({asked} ms) must be at least size + grace ({minimum} ms), as in Kafka Streams.")
                : asked;
        }
    }
}
