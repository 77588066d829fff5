namespace Tributary.Storage.Cleaner;

/// <summary>Broker-level log cleaner settings (Kafka's log.cleaner.* keys).</summary>
public sealed record LogCleanerOptions
{
    /// <summary>log.cleaner.enable: without the cleaner, compacted topics (and __consumer_offsets) grow forever.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>log.cleaner.threads: logs cleaned at the same time.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>log.cleaner.io.max.bytes.per.second: read plus write rate of all cleaner threads together.</summary>
    public double IoMaxBytesPerSecond { get; init; } = double.MaxValue;

    /// <summary>log.cleaner.backoff.ms: sleep when no log needs cleaning.</summary>
    public long BackoffMs { get; init; } = 15_000;

    /// <summary>log.cleaner.dedupe.buffer.size: memory for the key → latest offset map, shared by all threads.</summary>
    public long DedupeBufferBytes { get; init; } = 128L * 1024 * 1024;
}
