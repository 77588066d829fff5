using System.Collections.Concurrent;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Tributary.Protocol.Records;

namespace Tributary.Clients.Records;

/// <summary>One record read back from a partition.</summary>
public sealed record ConsumedRecord(long Offset, long Timestamp, byte[]? Key, byte[]? Value);

/// <summary>What one fetch returned: records from the requested offset on, and the partition's high watermark.</summary>
public sealed record FetchResult(IReadOnlyList<ConsumedRecord> Records, long HighWatermark, long NextOffset);

/// <summary>Produce to, fetch from and inspect single partitions, following leader changes. Enough for internal
/// topics (a registry's or Connect's log); not a general producer (no batching across calls, no compression).</summary>
public sealed class PartitionClient(KafkaCluster cluster, TimeProvider? time = null)
{
    private const short ProduceVersion = 9;
    private const short FetchVersion = 12;
    private const short ListOffsetsVersion = 6;
    private const short CreateTopicsVersion = 5;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    // Read and written by concurrent callers (the registry's replay loop and its writers share one client).
    private readonly ConcurrentDictionary<(string, int), int> _leaders = new();

    public KafkaCluster Cluster => cluster;

    /// <summary>Pause between retries of a retriable error (leader moving, not enough replicas yet).</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    private static bool IsRetriable(ErrorCode error) => error is ErrorCode.NotLeaderOrFollower or ErrorCode.LeaderNotAvailable
        or ErrorCode.UnknownTopicOrPartition or ErrorCode.NotEnoughReplicas or ErrorCode.NotEnoughReplicasAfterAppend
        or ErrorCode.RequestTimedOut or ErrorCode.FencedLeaderEpoch or ErrorCode.UnknownLeaderEpoch or ErrorCode.KafkaStorageError
        or ErrorCode.NetworkException or ErrorCode.OffsetNotAvailable;

    /// <summary>Appends one record and returns its offset; retries retriable errors and lost connections until
    /// <paramref name="cancellationToken"/> fires.</summary>
    /// <exception cref="KafkaErrorException">a non-retriable error (record too large, invalid record…).</exception>
    public async Task<long> ProduceAsync(string topic, int partition, byte[]? key, byte[]? value, short acks, CancellationToken cancellationToken)
    {
        byte[] batch = new RecordBatchBuilder().Append(_time.GetUtcNow().ToUnixTimeMilliseconds(), key, value).Build();
        var request = new ProduceRequest
        {
            Acks = acks,
            TimeoutMs = 30_000,
            TopicData =
            [
                new ProduceRequest.TopicProduceData
                {
                    Name = topic,
                    PartitionData = [new ProduceRequest.PartitionProduceData { Index = partition, Records = batch }],
                },
            ],
        };
        return await WithLeaderAsync(topic, partition, async connection =>
        {
            var response = await connection.SendAsync(request, ProduceVersion, ProduceResponse.Read, cancellationToken).ConfigureAwait(false);
            var answer = response.Responses.SelectMany(t => t.PartitionResponses).Single();
            return ((ErrorCode)answer.ErrorCode, answer.BaseOffset, answer.ErrorMessage);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads from <paramref name="offset"/>, waiting up to <paramref name="maxWait"/> for records to arrive.</summary>
    public async Task<FetchResult> FetchAsync(string topic, int partition, long offset, TimeSpan maxWait, int maxBytes, CancellationToken cancellationToken)
    {
        var request = new FetchRequest
        {
            MaxWaitMs = (int)maxWait.TotalMilliseconds,
            MinBytes = 1,
            MaxBytes = maxBytes,
            Topics =
            [
                new FetchRequest.FetchTopic
                {
                    Topic = topic,
                    Partitions = [new FetchRequest.FetchPartition { Partition = partition, FetchOffset = offset, PartitionMaxBytes = maxBytes }],
                },
            ],
        };
        return await WithLeaderAsync(topic, partition, async connection =>
        {
            var response = await connection.SendAsync(request, FetchVersion, FetchResponse.Read, cancellationToken).ConfigureAwait(false);
            if (response.ErrorCode != 0)
            {
                return ((ErrorCode)response.ErrorCode, (FetchResult?)null, (string?)null);
            }

            var data = response.Responses.SelectMany(t => t.Partitions).Single();
            if (data.ErrorCode != 0)
            {
                return ((ErrorCode)data.ErrorCode, null, null);
            }

            return (ErrorCode.None, Decode(data.Records, offset, data.HighWatermark), null);
        }, cancellationToken).ConfigureAwait(false) ?? throw new InvalidOperationException("unreachable");
    }

    private static FetchResult Decode(ReadOnlyMemory<byte>? records, long fetchOffset, long highWatermark)
    {
        var result = new List<ConsumedRecord>();
        long next = fetchOffset;
        if (records is { Length: > 0 } bytes)
        {
            var batches = new RecordBatchEnumerator(bytes.Span);
            while (batches.MoveNext())
            {
                var reader = new RecordReader(batches.Current);
                while (reader.TryReadNext(out RecordView record))
                {
                    if (record.Offset >= fetchOffset)
                    {
                        result.Add(new ConsumedRecord(record.Offset, record.Timestamp,
                            record.HasKey ? record.Key.ToArray() : null, record.HasValue ? record.Value.ToArray() : null));
                    }
                }

                // A compacted batch may have lost its last records: the batch's last offset says where the next one starts.
                next = Math.Max(next, batches.CurrentHeader.LastOffset + 1);
            }
        }

        return new FetchResult(result, highWatermark, next);
    }

    /// <summary>The log end offset (next offset to be written) of a partition, as consumers see it (high watermark).</summary>
    public async Task<long> EndOffsetAsync(string topic, int partition, CancellationToken cancellationToken)
    {
        var request = new ListOffsetsRequest
        {
            ReplicaId = -1,
            Topics =
            [
                new ListOffsetsRequest.ListOffsetsTopic
                {
                    Name = topic,
                    Partitions = [new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = partition, Timestamp = -1 }],
                },
            ],
        };
        return await WithLeaderAsync(topic, partition, async connection =>
        {
            var response = await connection.SendAsync(request, ListOffsetsVersion, ListOffsetsResponse.Read, cancellationToken).ConfigureAwait(false);
            var answer = response.Topics.SelectMany(t => t.Partitions).Single();
            return ((ErrorCode)answer.ErrorCode, answer.Offset, (string?)null);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates a topic; an existing topic is not an error. Returns false when it already existed.</summary>
    public async Task<bool> CreateTopicAsync(string topic, int partitions, short replicationFactor, IReadOnlyDictionary<string, string> configs,
        CancellationToken cancellationToken)
    {
        var request = new CreateTopicsRequest
        {
            Topics =
            [
                new CreateTopicsRequest.CreatableTopic
                {
                    Name = topic,
                    NumPartitions = partitions,
                    ReplicationFactor = replicationFactor,
                    Configs = configs.Select(c => new CreateTopicsRequest.CreatableTopicConfig { Name = c.Key, Value = c.Value }).ToList(),
                },
            ],
            TimeoutMs = 30_000,
        };
        while (true)
        {
            // CreateTopics must reach the controller; Tributary brokers forward it, so any broker will do.
            var response = await cluster.SendToAnyAsync(request, CreateTopicsVersion, CreateTopicsResponse.Read, cancellationToken).ConfigureAwait(false);
            var result = response.Topics.Single();
            var error = (ErrorCode)result.ErrorCode;
            switch (error)
            {
                case ErrorCode.None:
                    return true;
                case ErrorCode.TopicAlreadyExists:
                    return false;
                case ErrorCode.NotController or ErrorCode.RequestTimedOut or ErrorCode.LeaderNotAvailable:
                    await Task.Delay(RetryBackoff, _time, cancellationToken).ConfigureAwait(false);
                    continue;
                default:
                    throw new KafkaErrorException(error, $"CreateTopics {topic}: {error} {result.ErrorMessage}");
            }
        }
    }

    private async Task<T> WithLeaderAsync<T>(string topic, int partition,
        Func<KafkaConnection, Task<(ErrorCode Error, T Value, string? Message)>> send, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ErrorCode error;
            string? message = null;
            try
            {
                if (!_leaders.TryGetValue((topic, partition), out int leader))
                {
                    (leader, error) = await cluster.LeaderOfAsync(topic, partition, cancellationToken).ConfigureAwait(false);
                    if (error == ErrorCode.None)
                    {
                        _leaders[(topic, partition)] = leader;
                    }
                }
                else
                {
                    error = ErrorCode.None;
                }

                if (error == ErrorCode.None)
                {
                    var connection = await cluster.ConnectionToAsync(leader, cancellationToken).ConfigureAwait(false);
                    (error, T value, message) = await send(connection).ConfigureAwait(false);
                    if (error == ErrorCode.None)
                    {
                        return value;
                    }
                }
            }
            catch (KafkaConnectionException)
            {
                error = ErrorCode.NetworkException;
            }

            _leaders.TryRemove((topic, partition), out _);
            if (!IsRetriable(error))
            {
                throw new KafkaErrorException(error, $"{topic}-{partition}: {error} {message}");
            }

            await Task.Delay(RetryBackoff, _time, cancellationToken).ConfigureAwait(false);
        }
    }
}
