using Microsoft.Extensions.Logging;
using Tributary.Clients;
using Tributary.Clients.Records;
using Tributary.SchemaRegistry.Config;

namespace Tributary.SchemaRegistry.Storage;

/// <summary>Thrown when the store cannot complete a write or catch up in time (REST 50001/50002).</summary>
public sealed class StoreException(string message, bool timedOut, Exception? inner = null) : Exception(message, inner)
{
    public bool TimedOut { get; } = timedOut;
}

/// <summary>The <c>_schemas</c> topic: one compacted partition that every instance replays into its
/// <see cref="RegistryState"/>, and that the writer appends to with acks=all.</summary>
internal sealed partial class KafkaStore : IAsyncDisposable
{
    private const int Partition = 0;
    private const int FetchMaxBytes = 4 * 1024 * 1024;

    private readonly RegistryOptions _options;
    private readonly RegistryState _state;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly KafkaCluster _readCluster;
    private readonly KafkaCluster _writeCluster;
    private readonly PartitionClient _reader;
    private readonly PartitionClient _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _replay;

    public KafkaStore(RegistryOptions options, RegistryState state, ILogger logger, TimeProvider time)
    {
        _options = options;
        _state = state;
        _logger = logger;
        _time = time;
        _readCluster = new KafkaCluster(options.BootstrapServers, $"schema-registry-reader-{options.HostName}-{options.Port}");
        _writeCluster = new KafkaCluster(options.BootstrapServers, $"schema-registry-writer-{options.HostName}-{options.Port}");
        _reader = new PartitionClient(_readCluster, time);
        _writer = new PartitionClient(_writeCluster, time);
    }

    public string Topic => _options.Topic;

    /// <summary>True once the first replay reached the end of the topic as it was at start-up.</summary>
    public bool IsCaughtUp { get; private set; }

    /// <summary>Creates the topic if needed (compacted, one partition) and replays it to its current end.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var metadata = await _writeCluster.MetadataAsync([_options.Topic], cancellationToken).ConfigureAwait(false);
        var existing = metadata.Topics.FirstOrDefault(t => t.Name == _options.Topic && t.ErrorCode == 0);
        if (existing is null)
        {
            int brokers = metadata.Brokers.Count;
            short rf = (short)Math.Min(_options.ReplicationFactor, Math.Max(1, brokers));
            if (rf < _options.ReplicationFactor)
            {
                LogReplicationCapped(_logger, _options.Topic, _options.ReplicationFactor, brokers, rf);
            }

            bool created = await _writer.CreateTopicAsync(_options.Topic, 1, rf,
                new Dictionary<string, string> { ["cleanup.policy"] = "compact" }, cancellationToken).ConfigureAwait(false);
            if (created)
            {
                LogTopicCreated(_logger, _options.Topic, rf);
            }
        }
        else if (existing.Partitions.Count != 1)
        {
            throw new InvalidOperationException(
                $"The schemas topic {_options.Topic} has {existing.Partitions.Count} partitions; the registry needs exactly 1 to keep its records in order.");
        }

        _replay = Task.Run(() => ReplayAsync(_stop.Token), CancellationToken.None);
        await WaitUntilCaughtUpAsync(cancellationToken).ConfigureAwait(false);
        IsCaughtUp = true;
        LogCaughtUp(_logger, _options.Topic, _state.NextOffset, _state.MaxId);
    }

    /// <summary>Waits until this instance has applied every record the topic held when the call started.</summary>
    public async Task WaitUntilCaughtUpAsync(CancellationToken cancellationToken)
    {
        long end = await _reader.EndOffsetAsync(_options.Topic, Partition, cancellationToken).ConfigureAwait(false);
        await WaitForOffsetAsync(end, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Appends one record (acks=all) and returns after this instance has replayed it (read-your-writes).</summary>
    public async Task AppendAsync(StoreKey key, byte[]? value, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StoreTimeout);
        try
        {
            long offset = await _writer.ProduceAsync(_options.Topic, Partition, key.ToBytes(), value, acks: -1, timeout.Token).ConfigureAwait(false);
            await WaitForOffsetAsync(offset + 1, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new StoreException($"Write to {_options.Topic} did not complete within {_options.StoreTimeout.TotalMilliseconds} ms", timedOut: true);
        }
        catch (KafkaErrorException e)
        {
            throw new StoreException($"Write to {_options.Topic} failed: {e.Message}", timedOut: false, e);
        }
    }

    /// <summary>Serialises the writer's read-check-write sequences (one registration at a time decides ids and versions).</summary>
    public async Task<IDisposable> LockWritesAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(_writeLock);
    }

    private sealed class Releaser(SemaphoreSlim semaphore) : IDisposable
    {
        public void Dispose() => semaphore.Release();
    }

    private async Task WaitForOffsetAsync(long nextOffset, CancellationToken cancellationToken)
    {
        while (_state.NextOffset < nextOffset)
        {
            var progress = Volatile.Read(ref _progress);
            if (_state.NextOffset >= nextOffset)
            {
                break;
            }

            await progress.Task.WaitAsync(TimeSpan.FromMilliseconds(200), _time, cancellationToken)
                .ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private async Task ReplayAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var result = await _reader.FetchAsync(_options.Topic, Partition, _state.NextOffset, TimeSpan.FromMilliseconds(500), FetchMaxBytes, stop)
                    .ConfigureAwait(false);
                foreach (var record in result.Records)
                {
                    var key = record.Key is null ? null : StoreKey.Parse(record.Key);
                    if (key is null)
                    {
                        LogUnreadableKey(_logger, record.Offset);
                        _state.Skip(record.Offset + 1);
                        continue;
                    }

                    try
                    {
                        _state.Apply(record.Offset, key, record.Value);
                    }
                    catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
                    {
                        LogUnreadableValue(_logger, record.Offset, e.Message);
                        _state.Skip(record.Offset + 1);
                    }
                }

                // Compaction leaves gaps; the fetch says where the next batch starts.
                if (result.Records.Count > 0 || result.NextOffset > _state.NextOffset)
                {
                    _state.Skip(Math.Min(result.NextOffset, result.HighWatermark));
                }

                var done = Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                done.TrySetResult();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is KafkaConnectionException or KafkaErrorException or InvalidDataException)
            {
                LogReplayError(_logger, _options.Topic, _state.NextOffset, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(250), _time, stop).ContinueWith(_ => { }, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_replay is not null)
        {
            try
            {
                await _replay.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await _readCluster.DisposeAsync().ConfigureAwait(false);
        await _writeCluster.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _writeLock.Dispose();
    }

    [LoggerMessage(EventId = 2111, EventName = "RegistryReplicationCapped", Level = LogLevel.Warning,
        Message = "kafkastore.topic.replication.factor {Configured} for {Topic} exceeds the {Brokers} live broker(s); creating it with replication factor {Used}")]
    private static partial void LogReplicationCapped(ILogger logger, string topic, int configured, int brokers, short used);

    [LoggerMessage(EventId = 2112, EventName = "RegistryTopicCreated", Level = LogLevel.Information, Message = "Created the schemas topic {Topic} (compacted, 1 partition, replication factor {Rf})")]
    private static partial void LogTopicCreated(ILogger logger, string topic, short rf);

    [LoggerMessage(EventId = 2113, EventName = "RegistryCaughtUp", Level = LogLevel.Information, Message = "Replayed {Topic} up to offset {Offset}; highest schema id {MaxId}")]
    private static partial void LogCaughtUp(ILogger logger, string topic, long offset, int maxId);

    [LoggerMessage(EventId = 2114, EventName = "RegistryUnreadableKey", Level = LogLevel.Warning, Message = "Skipping the record at offset {Offset}: its key is not a registry key")]
    private static partial void LogUnreadableKey(ILogger logger, long offset);

    [LoggerMessage(EventId = 2116, EventName = "RegistryUnreadableValue", Level = LogLevel.Warning, Message = "Skipping the record at offset {Offset}: its value is unreadable ({Error})")]
    private static partial void LogUnreadableValue(ILogger logger, long offset, string error);

    [LoggerMessage(EventId = 2115, EventName = "RegistryReplayError", Level = LogLevel.Warning, Message = "Replaying {Topic} from offset {Offset} failed, retrying: {Error}")]
    private static partial void LogReplayError(ILogger logger, string topic, long offset, string error);
}
