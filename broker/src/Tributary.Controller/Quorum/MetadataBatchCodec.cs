using System.Buffers;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Quorum;

/// <summary>Encodes the records of one atomic batch as one quorum entry payload:
/// <c>int8 format (0), int32 count, count × (int32 length, record bytes)</c>.</summary>
/// <remarks>The empty payload stays reserved for the epoch-start entry, so a batch always holds at least one record.
/// The format byte lets a later build change the layout without guessing.</remarks>
internal static class MetadataBatchCodec
{
    private const sbyte FormatV0 = 0;

    public static byte[] Encode(IReadOnlyList<MetadataRecord> records)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * records.Count + 8);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt8(FormatV0);
        writer.WriteInt32(records.Count);
        foreach (var record in records)
        {
            writer.WriteBytes(MetadataRecordSerde.Serialize(record), compact: false);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <exception cref="MalformedMessageException">Truncated, of an unknown format, or with more records than allowed.</exception>
    public static IReadOnlyList<MetadataRecord> Decode(ReadOnlyMemory<byte> payload, int maxRecords)
    {
        if (payload.Length == 0)
        {
            return [];
        }

        var reader = new KafkaReader(payload);
        sbyte format = reader.ReadInt8();
        if (format != FormatV0)
        {
            throw new MalformedMessageException($"Metadata batch format {format}; this build reads {FormatV0}");
        }

        int count = reader.ReadInt32();
        if (count <= 0 || count > maxRecords)
        {
            throw new MalformedMessageException($"Metadata batch of {count} records (1 to {maxRecords})");
        }

        var records = new MetadataRecord[count];
        for (int i = 0; i < count; i++)
        {
            records[i] = MetadataRecordSerde.Deserialize(reader.ReadBytes(compact: false));
        }

        reader.EnsureFullyConsumed("Metadata batch");
        return records;
    }
}
