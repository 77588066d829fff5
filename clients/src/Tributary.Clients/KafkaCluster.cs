using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Clients;

/// <summary>A broker endpoint from Metadata or FindCoordinator.</summary>
public sealed record BrokerEndpoint(int NodeId, string Host, int Port);

/// <summary>Thrown when a broker answers with a Kafka error the client does not retry.</summary>
public sealed class KafkaErrorException(ErrorCode errorCode, string message) : Exception(message)
{
    public ErrorCode ErrorCode { get; } = errorCode;
}

/// <summary>The brokers of one cluster as a client sees them: bootstrap servers, metadata, one connection per broker.</summary>
/// <remarks>Not shared between users that block a connection for long (a long-polling fetch, a JoinGroup): each such user
/// owns its own <see cref="KafkaCluster"/>.</remarks>
public sealed class KafkaCluster : IAsyncDisposable
{
    private const short MetadataVersion = 9;

    private readonly IReadOnlyList<(string Host, int Port)> _bootstrap;
    private readonly Dictionary<string, KafkaConnection> _connections = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _lock = new(1, 1);
    private Dictionary<int, BrokerEndpoint> _brokers = new();

    public KafkaCluster(string bootstrapServers, string clientId)
    {
        _bootstrap = ParseServers(bootstrapServers);
        ClientId = clientId;
    }

    public string ClientId { get; }

    /// <summary>Parses "host:port,host:port" (an optional PLAINTEXT:// prefix per entry is accepted, as Kafka's tools do).</summary>
    public static IReadOnlyList<(string Host, int Port)> ParseServers(string servers)
    {
        var result = new List<(string, int)>();
        foreach (string raw in servers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string entry = raw;
            int scheme = entry.IndexOf("://", StringComparison.Ordinal);
            if (scheme >= 0)
            {
                entry = entry[(scheme + 3)..];
            }

            int colon = entry.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(entry[(colon + 1)..], out int port) || port is <= 0 or > 65535)
            {
                throw new ArgumentException($"Bootstrap server '{raw}' is not host:port");
            }

            result.Add((entry[..colon].Trim('[', ']'), port));
        }

        if (result.Count == 0)
        {
            throw new ArgumentException("No bootstrap servers given");
        }

        return result;
    }

    /// <summary>A connection to <paramref name="host"/>:<paramref name="port"/>, reused while it is usable.</summary>
    public async Task<KafkaConnection> ConnectionToAsync(string host, int port, CancellationToken cancellationToken)
    {
        string key = $"{host}:{port}";
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connections.TryGetValue(key, out var existing))
            {
                if (existing.IsUsable)
                {
                    return existing;
                }

                _connections.Remove(key);
                await existing.DisposeAsync().ConfigureAwait(false);
            }

            var created = await KafkaConnection.ConnectAsync(host, port, ClientId, cancellationToken).ConfigureAwait(false);
            _connections[key] = created;
            return created;
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task<KafkaConnection> ConnectionToAsync(int nodeId, CancellationToken cancellationToken)
    {
        if (!_brokers.TryGetValue(nodeId, out var broker))
        {
            await MetadataAsync(null, cancellationToken).ConfigureAwait(false);
            if (!_brokers.TryGetValue(nodeId, out broker))
            {
                throw new KafkaConnectionException($"Broker {nodeId} is not in the cluster metadata");
            }
        }

        return await ConnectionToAsync(broker.Host, broker.Port, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a request to any reachable broker (known brokers first, then the bootstrap list).</summary>
    public async Task<T> SendToAnyAsync<T>(IRequestMessage request, short version, ResponseReader<T> read, CancellationToken cancellationToken)
    {
        var candidates = _brokers.Values.Select(b => (b.Host, b.Port)).Concat(_bootstrap).Distinct().ToList();
        Exception? last = null;
        foreach (var (host, port) in candidates)
        {
            try
            {
                var connection = await ConnectionToAsync(host, port, cancellationToken).ConfigureAwait(false);
                return await connection.SendAsync(request, version, read, cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaConnectionException e)
            {
                last = e;
            }
        }

        throw new KafkaConnectionException($"No broker reachable ({string.Join(",", candidates.Select(c => $"{c.Host}:{c.Port}"))}): {last?.Message}", last);
    }

    /// <summary>Metadata for <paramref name="topics"/> (null = all); refreshes the broker list.</summary>
    public async Task<MetadataResponse> MetadataAsync(IReadOnlyList<string>? topics, CancellationToken cancellationToken, bool allowAutoCreate = false)
    {
        var request = new MetadataRequest
        {
            Topics = topics?.Select(t => new MetadataRequest.MetadataRequestTopic { Name = t }).ToList(),
            AllowAutoTopicCreation = allowAutoCreate,
        };
        var response = await SendToAnyAsync(request, MetadataVersion, MetadataResponse.Read, cancellationToken).ConfigureAwait(false);
        _brokers = response.Brokers.ToDictionary(b => b.NodeId, b => new BrokerEndpoint(b.NodeId, b.Host, b.Port));
        return response;
    }

    /// <summary>Number of brokers in the last metadata answer.</summary>
    public int KnownBrokerCount => _brokers.Count;

    /// <summary>The leader of a partition, or an error code when there is none (unknown topic, leader election).</summary>
    public async Task<(int LeaderId, ErrorCode Error)> LeaderOfAsync(string topic, int partition, CancellationToken cancellationToken)
    {
        var metadata = await MetadataAsync([topic], cancellationToken).ConfigureAwait(false);
        var topicMetadata = metadata.Topics.FirstOrDefault(t => t.Name == topic);
        if (topicMetadata is null)
        {
            return (-1, ErrorCode.UnknownTopicOrPartition);
        }

        if (topicMetadata.ErrorCode != 0)
        {
            return (-1, (ErrorCode)topicMetadata.ErrorCode);
        }

        var partitionMetadata = topicMetadata.Partitions.FirstOrDefault(p => p.PartitionIndex == partition);
        if (partitionMetadata is null)
        {
            return (-1, ErrorCode.UnknownTopicOrPartition);
        }

        return partitionMetadata.LeaderId < 0 ? (-1, ErrorCode.LeaderNotAvailable) : (partitionMetadata.LeaderId, ErrorCode.None);
    }

    public async ValueTask DisposeAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var connection in _connections.Values)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            _connections.Clear();
        }
        finally
        {
            _lock.Release();
        }
    }
}
