using Tributary.Streams.Windows;

namespace Tributary.Streams.Tests.Windows;

/// <summary>The stored form of a key's windows (the changelog value): round trip, and bounded reads of bad bytes.</summary>
public sealed class WindowEntriesTests
{
    [Fact]
    public void Windows_round_trip_with_null_and_empty_aggregates()
    {
        List<WindowEntry> windows = [new(10, 20, [1, 2, 3]), new(30, 30, null), new(40, 45, [])];
        var decoded = WindowEntries.Decode(WindowEntries.Encode(windows));
        Assert.Equal([(10L, 20L), (30L, 30L), (40L, 45L)], decoded.Select(w => (w.Start, w.Time)));
        Assert.Equal([1, 2, 3], decoded[0].Aggregate);
        Assert.Null(decoded[1].Aggregate);
        Assert.Empty(decoded[2].Aggregate!);
    }

    [Fact]
    public void A_count_larger_than_the_bytes_is_refused_before_allocating()
    {
        var bytes = WindowEntries.Encode([new(1, 2, [9])]);
        bytes[1] = 0x7F; // count 0x7F000001, far beyond what 26 bytes hold
        var error = Assert.Throws<InvalidDataException>(() => WindowEntries.Decode(bytes));
        Assert.Contains("does not fit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_aggregate_length_past_the_end_is_refused()
    {
        var bytes = WindowEntries.Encode([new(1, 2, [9, 9])]);
        bytes[^3] = 0x10; // aggregate length now 16, with 2 bytes left
        var error = Assert.Throws<InvalidDataException>(() => WindowEntries.Decode(bytes));
        Assert.Contains("exceeds", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_version_is_refused()
    {
        var bytes = WindowEntries.Encode([]);
        bytes[0] = 2;
        Assert.Throws<InvalidDataException>(() => WindowEntries.Decode(bytes));
    }
}
