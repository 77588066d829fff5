using System.Buffers;
using Tributary.Protocol;

namespace Tributary.Raft.Log;

/// <summary>Encodes the records of one atomic batch as one quorum entry payload, and a snapshot's records as its data:
/// <c>int8 format (0), int32 count, count × (int32 length, record bytes)</c>.</summary>
/// <remarks>The empty payload stays reserved for the epoch-start entry, so a batch always holds at least one record (a
/// snapshot may hold none). The format byte lets a later build change the layout without guessing.</remarks>
internal static class RaftBatchCodec
{
    private const sbyte FormatV0 = 0;

    public static byte[] Encode<T>(IReadOnlyList<T> records, IRecordSerde<T> serde)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * records.Count + 8);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt8(FormatV0);
        writer.WriteInt32(records.Count);
        foreach (var record in records)
        {
            writer.WriteBytes(serde.Serialize(record), compact: false);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <param name="payload">An entry payload (empty = epoch-start entry, no records) or a snapshot's data.</param>
    /// <param name="maxRecords">Most records accepted.</param>
    /// <param name="serde">Reads each record.</param>
    /// <param name="allowEmpty">A snapshot may hold zero records; an entry batch may not.</param>
    /// <exception cref="MalformedMessageException">Truncated, of an unknown format, or with more records than allowed.</exception>
    public static IReadOnlyList<T> Decode<T>(ReadOnlyMemory<byte> payload, int maxRecords, IRecordSerde<T> serde, bool allowEmpty = false)
    {
        if (payload.Length == 0)
        {
            return [];
        }

        var reader = new KafkaReader(payload);
        sbyte format = reader.ReadInt8();
        if (format != FormatV0)
        {
            throw new MalformedMessageException($"Record batch format {format}; this build reads {FormatV0}");
        }

        int count = reader.ReadInt32();
        // Every record takes at least its 4-byte length: a count beyond that is corrupt, whatever maxRecords allows.
        if (count < (allowEmpty ? 0 : 1) || count > maxRecords || count > reader.Remaining / 4)
        {
            throw new MalformedMessageException($"Record batch of {count} records ({(allowEmpty ? 0 : 1)} to {maxRecords})");
        }

        var records = new T[count];
        for (int i = 0; i < count; i++)
        {
            records[i] = serde.Deserialize(reader.ReadBytes(compact: false));
        }

        reader.EnsureFullyConsumed("Record batch");
        return records;
    }
}
