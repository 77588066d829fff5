namespace Tributary.Raft;

/// <summary>Turns the records the quorum replicates into bytes and back. The quorum never looks inside a record: the
/// layer above (metadata) owns the record types and their encoding.</summary>
/// <typeparam name="T">The record type.</typeparam>
public interface IRecordSerde<T>
{
    /// <summary>The record's bytes; what <see cref="Deserialize"/> reads back.</summary>
    byte[] Serialize(T record);

    /// <summary>Reads one record written by <see cref="Serialize"/>.</summary>
    /// <exception cref="Protocol.MalformedMessageException">The bytes are not a record of this serde.</exception>
    T Deserialize(ReadOnlyMemory<byte> bytes);
}
