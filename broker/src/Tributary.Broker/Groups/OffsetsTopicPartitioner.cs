namespace Tributary.Broker.Groups;

/// <summary>Maps a group id to its partition of <c>__consumer_offsets</c> exactly as Kafka does, so tools agree on it.</summary>
public static class OffsetsTopicPartitioner
{
    /// <summary>Kafka's <c>Utils.abs(groupId.hashCode) % partitions</c>.</summary>
    public static int PartitionFor(string groupId, int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);

        // Kafka's Utils.abs maps int.MinValue to 0 (n & 0x7fffffff), unlike Math.abs which would stay negative.
        return (JavaStringHashCode(groupId) & 0x7fffffff) % partitionCount;
    }

    /// <summary>Java's String.hashCode: s[0]*31^(n-1) + … + s[n-1] over UTF-16 code units, with int overflow.</summary>
    public static int JavaStringHashCode(string value)
    {
        int hash = 0;
        foreach (char c in value)
        {
            hash = unchecked((31 * hash) + c);
        }

        return hash;
    }
}
