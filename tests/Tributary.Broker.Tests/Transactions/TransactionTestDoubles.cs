using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Producers;
using Tributary.Broker.Tests.Groups;
using Tributary.Broker.Transactions;
using Tributary.Protocol;
using Tributary.Protocol.Records;

namespace Tributary.Broker.Tests.Transactions;

/// <summary>
/// An in-memory stand-in for <c>__transaction_state</c> below the coordinator: records per partition (each round-tripped
/// through a real record batch, as the broker writes them), leadership that can move away and back with a new epoch,
/// appends that can be made to fail or to wait.
/// </summary>
internal sealed class TransactionStateLogTestDouble : ITransactionStateLog
{
    private readonly Dictionary<int, List<TransactionLogRecord>> _partitions = new();
    private readonly Dictionary<int, int> _led = new();

    public TransactionStateLogTestDouble(int partitionCount = 50)
    {
        PartitionCount = partitionCount;
        for (var p = 0; p < partitionCount; p++)
        {
            _led[p] = 1;
        }
    }

    public int PartitionCount { get; }

    /// <summary>Every append fails with this (nothing is stored) while it is not NONE.</summary>
    public ErrorCode FailAppendsWith { get; set; } = ErrorCode.None;

    /// <summary>While set, appends are stored but complete only when this does (the ISR has not caught up yet).</summary>
    public TaskCompletionSource<ErrorCode>? Replication { get; set; }

    public event Action<int, bool>? LeadershipChanged;

    public IReadOnlyList<TransactionLogRecord> Records(int partition)
    {
        lock (_partitions)
        {
            return _partitions.TryGetValue(partition, out var list) ? list.ToList() : [];
        }
    }

    /// <summary>The states written for a transactional id, in order (null = tombstone).</summary>
    public IReadOnlyList<TransactionRecord?> History(string transactionalId, int partition) =>
        Records(partition)
            .Where(r => TransactionStateRecords.DecodeKey(r.Key, out _) == transactionalId)
            .Select(r => r.Value is null ? null : TransactionStateRecords.DecodeValue(r.Value, out _))
            .ToList();

    public bool Leads(int partition)
    {
        lock (_led)
        {
            return _led.ContainsKey(partition);
        }
    }

    public int LeaderEpoch(int partition)
    {
        lock (_led)
        {
            return _led.TryGetValue(partition, out var epoch) ? epoch : -1;
        }
    }

    public IReadOnlyList<int> LedPartitions()
    {
        lock (_led)
        {
            return _led.Keys.Order().ToList();
        }
    }

    public void Lead(int partition, int epoch)
    {
        lock (_led)
        {
            _led[partition] = epoch;
        }

        LeadershipChanged?.Invoke(partition, true);
    }

    public void Resign(int partition)
    {
        lock (_led)
        {
            _led.Remove(partition);
        }

        LeadershipChanged?.Invoke(partition, false);
    }

    public Task<ErrorCode> EnsureCreatedAsync(CancellationToken cancellation) => Task.FromResult(ErrorCode.None);

    public Task<ErrorCode> AppendAsync(int partition, TransactionLogRecord record, long nowMs, int timeoutMs, CancellationToken cancellation)
    {
        if (FailAppendsWith != ErrorCode.None)
        {
            return Task.FromResult(FailAppendsWith);
        }

        if (!Leads(partition))
        {
            return Task.FromResult(ErrorCode.NotLeaderOrFollower);
        }

        var batch = new RecordBatchBuilder().Append(nowMs, record.Key, true, record.Value, record.Value is not null).Build();
        var batches = new RecordBatchEnumerator(batch);
        Assert.True(batches.MoveNext());
        var reader = new RecordReader(batches.Current);
        Assert.True(reader.TryReadNext(out var read));
        var stored = new TransactionLogRecord(read.Key.ToArray(), read.HasValue ? read.Value.ToArray() : null);
        lock (_partitions)
        {
            if (!_partitions.TryGetValue(partition, out var list))
            {
                _partitions[partition] = list = [];
            }

            list.Add(stored);
        }

        return Replication?.Task ?? Task.FromResult(ErrorCode.None);
    }

    public IEnumerable<TransactionLogRecord> Replay(int partition) => Records(partition);
}

/// <summary>Records the marker requests the coordinator makes; answers them at once, or holds them until released.</summary>
internal sealed class MarkerSenderTestDouble : ITransactionMarkerSender
{
    private readonly ConcurrentQueue<TransactionMarkerRequest> _sent = new();

    /// <summary>While set, every send waits for it (markers not yet acknowledged by the leaders).</summary>
    public TaskCompletionSource<ErrorCode>? Hold { get; set; }

    public IReadOnlyList<TransactionMarkerRequest> Sent => _sent.ToList();

    public async Task<ErrorCode> SendAsync(TransactionMarkerRequest request, CancellationToken cancellation)
    {
        _sent.Enqueue(request);
        return Hold is { } hold ? await hold.Task.WaitAsync(cancellation) : ErrorCode.None;
    }
}

/// <summary>A coordinator over the test doubles, loaded and ready.</summary>
internal sealed class TransactionFixture
{
    private long _nextBlock = 1000;

    public TransactionFixture(TransactionCoordinatorOptions? options = null, TransactionStateLogTestDouble? log = null)
    {
        Options = options ?? new TransactionCoordinatorOptions { RetryBackoff = TimeSpan.FromMilliseconds(5) };
        Log = log ?? new TransactionStateLogTestDouble();
        Coordinator = NewCoordinator();
    }

    public TransactionCoordinatorOptions Options { get; }
    public TransactionStateLogTestDouble Log { get; }
    public MarkerSenderTestDouble Markers { get; } = new();
    public FakeTimeProvider Time { get; } = new();
    public TransactionCoordinator Coordinator { get; }

    /// <summary>Another coordinator over the same log (a broker that takes over the partitions), loaded.</summary>
    public TransactionCoordinator NewCoordinator(MarkerSenderTestDouble? markers = null)
    {
        var ids = new ProducerIdManager(_ =>
        {
            var block = new ProducerIdBlock(1, Interlocked.Add(ref _nextBlock, 1000) - 1000, 1000);
            return Task.FromResult<ProducerIdBlock?>(block);
        }, NullLogger.Instance);
        var coordinator = new TransactionCoordinator(Options, Log, markers ?? Markers, ids, Time, NullLogger.Instance);
        coordinator.TrackLeadership();
        Assert.True(coordinator.WhenLoadedAsync().Wait(TimeSpan.FromSeconds(10)), "loading did not finish");
        return coordinator;
    }

    public int PartitionOf(string transactionalId) => Coordinator.PartitionFor(transactionalId);

    public InitProducerIdResult Init(string id, int timeoutMs = 60_000, long producerId = -1, short epoch = -1, TransactionCoordinator? on = null) =>
        Wait((on ?? Coordinator).InitProducerIdAsync(id, timeoutMs, producerId, epoch, CancellationToken.None));

    public ErrorCode Add(string id, InitProducerIdResult producer, params (string Topic, int Partition)[] partitions) =>
        Wait(Coordinator.AddPartitionsAsync(id, producer.ProducerId, producer.ProducerEpoch,
            partitions.Select(p => new TopicPartitionKey(p.Topic, p.Partition)).ToList(), CancellationToken.None));

    public ErrorCode End(string id, InitProducerIdResult producer, bool commit) =>
        Wait(Coordinator.EndTransactionAsync(id, producer.ProducerId, producer.ProducerEpoch, commit, CancellationToken.None));

    /// <summary>Waits until the background marker rounds and Complete* writes are done.</summary>
    public void Settle(TransactionCoordinator? on = null) =>
        Assert.True((on ?? Coordinator).WhenMarkersSentAsync().Wait(TimeSpan.FromSeconds(10)), "markers did not finish");

    public static T Wait<T>(Task<T> task)
    {
        Assert.True(task.Wait(TimeSpan.FromSeconds(10)), "the call did not complete");
        return task.Result;
    }

    public void Advance(int ms) => Time.Advance(TimeSpan.FromMilliseconds(ms));
}
