using System.Buffers;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Tributary.Protocol.Records;

namespace Tributary.Bench.Micro;

/// <summary>Inputs shared by the benchmarks: a record batch and a whole Produce request frame like librdkafka sends.</summary>
public static class BenchmarkData
{
    /// <summary>Records per batch; every benchmark reports per record (OperationsPerInvoke) so allocations read as bytes/record.</summary>
    public const int RecordsPerBatch = 100;

    /// <summary>Produce v9 is the first flexible version (header v2), what librdkafka 2.x uses against a Kafka 3.x broker.</summary>
    public const short ProduceVersion = 9;

    /// <summary>An uncompressed, non-idempotent batch of <see cref="RecordsPerBatch"/> records with <paramref name="valueBytes"/>-byte values.</summary>
    public static byte[] Batch(int valueBytes, long firstTimestampMs = 1_700_000_000_000)
    {
        var value = new byte[valueBytes];
        Random.Shared.NextBytes(value);
        var builder = new RecordBatchBuilder();
        for (var i = 0; i < RecordsPerBatch; i++)
        {
            builder.Append(firstTimestampMs + i, null, value);
        }

        return builder.Build();
    }

    /// <summary>A size-prefixed Produce request (header v2 + body) carrying one batch for one partition.</summary>
    public static byte[] ProduceFrame(byte[] batch)
    {
        var body = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(body);
        writer.WriteInt16(ProduceRequest.ApiKey);
        writer.WriteInt16(ProduceVersion);
        writer.WriteInt32(42);
        writer.WriteInt16((short)"rdkafka".Length);
        foreach (var c in "rdkafka")
        {
            writer.WriteInt8((sbyte)c);
        }

        writer.WriteInt8(0); // header tagged fields
        var request = new ProduceRequest
        {
            Acks = 1,
            TimeoutMs = 30_000,
            TopicData = [new ProduceRequest.TopicProduceData { Name = "bench", PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = batch }] }],
        };
        request.Write(writer, ProduceVersion);
        var frame = new byte[4 + body.WrittenCount];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame, body.WrittenCount);
        body.WrittenSpan.CopyTo(frame.AsSpan(4));
        return frame;
    }
}
