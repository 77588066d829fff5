namespace Tributary.Storage;

/// <summary>One leader epoch of a partition and the offset of its first record (Kafka's EpochEntry).</summary>
/// <param name="Epoch">the partition leader epoch.</param>
/// <param name="StartOffset">the first offset written in <paramref name="Epoch"/>; the epoch ends where the next one starts.</param>
public readonly record struct EpochEntry(int Epoch, long StartOffset);
