using System.Buffers;
using BenchmarkDotNet.Attributes;
using Tributary.Protocol;
using Tributary.Protocol.Framing;
using Tributary.Protocol.Messages;
using Tributary.Protocol.Records;

namespace Tributary.Bench.Micro;

/// <summary>Request-side hot path before storage: frame split, header, Produce body, batch validation.</summary>
[MemoryDiagnoser]
public class ProduceDecodeBenchmarks
{
    private byte[] _frame = [];
    private byte[] _batch = [];

    [Params(100, 1024)]
    public int ValueBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _batch = BenchmarkData.Batch(ValueBytes);
        _frame = BenchmarkData.ProduceFrame(_batch);
    }

    /// <summary>FrameDecoder + RequestHeader + ProduceRequest.Read, as the connection handler does per request.</summary>
    [Benchmark(OperationsPerInvoke = BenchmarkData.RecordsPerBatch)]
    public int FrameDecode()
    {
        var buffer = new ReadOnlySequence<byte>(_frame);
        if (FrameDecoder.TryReadSize(ref buffer, int.MaxValue, out var size) != FrameSizeStatus.Ok)
        {
            throw new InvalidOperationException("bad frame");
        }

        var reader = new KafkaReader(buffer.First[..size]);
        var header = RequestHeader.Read(ref reader, flexible: true);
        var request = ProduceRequest.Read(ref reader, header.ApiVersion);
        return request.TopicData[0].PartitionData.Count;
    }

    /// <summary>RecordBatchValidator.ValidateProduce over one uncompressed batch (CRC + every record's framing).</summary>
    [Benchmark(OperationsPerInvoke = BenchmarkData.RecordsPerBatch)]
    public int BatchValidation()
    {
        var error = RecordBatchValidator.ValidateProduce(_batch, int.MaxValue, out var result);
        return error == RecordValidationError.None ? result.RecordCount : throw new InvalidOperationException(error.ToString());
    }
}
