using System.Buffers;
using BenchmarkDotNet.Attributes;
using Tributary.Protocol;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Bench.Micro;

/// <summary>Storage hot paths on a temp directory: leader append, index lookup, fetch read.</summary>
[MemoryDiagnoser]
public class LogBenchmarks
{
    private const int PreloadedBatches = 20_000;
    private const int FetchBatches = 10;

    private string _directory = "";
    private LogManager _manager = null!;
    private PartitionLog _appendLog = null!;
    private PartitionLog _readLog = null!;
    private byte[] _batch = [];
    private long[] _probeOffsets = [];
    private long[] _probeTimestamps = [];
    private int _probe;
    private readonly ArrayBufferWriter<byte> _fetchOutput = new(1 << 20);

    [Params(100, 1024)]
    public int ValueBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "tributary-bench-log-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        // Small segments so the read log has many segments and index entries, as a long-lived partition does.
        var config = LogConfig.Default with { SegmentBytes = 16 * 1024 * 1024 };
        _manager = LogManager.Open(new LogManagerOptions { LogDirs = [_directory], DefaultConfig = config });
        _appendLog = _manager.GetOrCreateLog("append", 0, config);
        _readLog = _manager.GetOrCreateLog("read", 0, config);
        _batch = BenchmarkData.Batch(ValueBytes);

        const long firstTimestamp = 1_700_000_000_000;
        for (var i = 0; i < PreloadedBatches; i++)
        {
            var batch = BenchmarkData.Batch(ValueBytes, firstTimestamp + (i * BenchmarkData.RecordsPerBatch));
            _readLog.AppendAsLeader(batch, BenchmarkData.RecordsPerBatch, 0, firstTimestamp, logAppendTime: false, out _);
        }

        var random = new Random(7);
        var records = (long)PreloadedBatches * BenchmarkData.RecordsPerBatch;
        _probeOffsets = [.. Enumerable.Range(0, 4096).Select(_ => random.NextInt64(records))];
        _probeTimestamps = [.. _probeOffsets.Select(o => firstTimestamp + o)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _manager.Close();
        Directory.Delete(_directory, recursive: true);
    }

    // A fixed invocation count bounds the disk the append benchmark writes per iteration; the cleanup truncates it away.
    [IterationCleanup(Target = nameof(AppendAsLeader))]
    public void TruncateAppendLog() => _appendLog.TruncateTo(0);

    /// <summary>PartitionLog.AppendAsLeader of one validated batch (offset assignment, segment write, index maintenance; no fsync).</summary>
    [Benchmark(OperationsPerInvoke = BenchmarkData.RecordsPerBatch)]
    [InvocationCount(16_384)]
    public long AppendAsLeader() =>
        _appendLog.AppendAsLeader(_batch, BenchmarkData.RecordsPerBatch, 0, 1_700_000_000_000, logAppendTime: false, out _).LastOffset;

    /// <summary>Time index + offset index: FindOffsetByTimestamp for a random timestamp in a many-segment log.</summary>
    [Benchmark]
    public long IndexLookup() => _readLog.FindOffsetByTimestamp(_probeTimestamps[_probe++ & 4095]) ?? -1;

    /// <summary>
    /// Fetch read path as the broker serves it: PartitionLog.ReadRegion of <see cref="FetchBatches"/> whole batches from a random
    /// offset (segment + index lookups, no copy), then the records written into a reused output buffer the way a response is
    /// (one pread from the page cache into the output), per record returned.
    /// </summary>
    [Benchmark(OperationsPerInvoke = FetchBatches * BenchmarkData.RecordsPerBatch)]
    public long FetchRead()
    {
        var result = _readLog.ReadRegion(_probeOffsets[_probe++ & 4095], FetchBatches * _batch.Length, long.MaxValue, minOneBatch: true);
        _fetchOutput.ResetWrittenCount();
        var writer = new KafkaWriter(_fetchOutput);
        writer.WriteRecords(result.Records, compact: true);
        return writer.WrittenBytes;
    }
}
