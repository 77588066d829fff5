using System.Net;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Config;
using Tributary.Broker.Network.Client;
using Tributary.Host;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Tributary.Protocol.Records;

namespace Tributary.Broker.Tests.Replication.Fetcher;

/// <summary>A real single broker in-process (Kestrel on an ephemeral loopback port) that fetchers and clients talk to over TCP.</summary>
public sealed class LeaderBrokerForTests : IAsyncDisposable
{
    private readonly string _dataDir;
    private readonly BrokerHost _host;
    private readonly KafkaClientConnection _admin;

    private LeaderBrokerForTests(string dataDir, BrokerHost host, int port, KafkaClientConnection admin)
    {
        _dataDir = dataDir;
        _host = host;
        Port = port;
        _admin = admin;
    }

    public const int NodeId = 1;

    public int Port { get; }

    public static async Task<LeaderBrokerForTests> StartAsync()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "tributary-fetcher-leader-" + Guid.NewGuid().ToString("N"));
        var config = BrokerConfig.FromProperties(new Dictionary<string, string>
        {
            ["node.id"] = NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["log.dirs"] = dataDir,
            ["listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["http.listeners"] = "http://127.0.0.1:0",
        });
        var host = BrokerHost.Create(config, configureLogging: logging => logging.SetMinimumLevel(LogLevel.Warning));
        await host.StartAsync();
        await host.Server.WhenReady.WaitAsync(TimeSpan.FromSeconds(30));
        var port = ((IPEndPoint)host.KafkaEndPoints[0]).Port;
        var admin = new KafkaClientConnection(64 * 1024 * 1024, TimeSpan.FromSeconds(10));
        await admin.ConnectAsync("127.0.0.1", port, "fetcher-tests-admin", CancellationToken.None);
        return new LeaderBrokerForTests(dataDir, host, port, admin);
    }

    /// <summary>Creates a one-partition topic and returns its id and the partition's leader epoch.</summary>
    public async Task<(Uuid TopicId, int LeaderEpoch)> CreateTopicAsync(string topic)
    {
        var created = await _admin.SendAsync<CreateTopicsResponse>(new CreateTopicsRequest
        {
            Topics = { new CreateTopicsRequest.CreatableTopic { Name = topic, NumPartitions = 1, ReplicationFactor = 1 } },
            TimeoutMs = 10_000,
        }, 7, CancellationToken.None);
        Assert.Equal((short)ErrorCode.None, Assert.Single(created.Topics).ErrorCode);
        var metadata = await MetadataAsync(topic);
        var described = Assert.Single(metadata.Topics);
        return (described.TopicId, Assert.Single(described.Partitions).LeaderEpoch);
    }

    public Task<MetadataResponse> MetadataAsync(string topic) =>
        _admin.SendAsync<MetadataResponse>(new MetadataRequest
        {
            Topics = [new MetadataRequest.MetadataRequestTopic { Name = topic }],
            AllowAutoTopicCreation = false,
        }, 12, CancellationToken.None);

    /// <summary>Produces one batch of <paramref name="records"/> records (acks=1) and returns its base offset.</summary>
    public async Task<long> ProduceAsync(string topic, int records, int valueSize = 16)
    {
        var builder = new RecordBatchBuilder();
        for (var i = 0; i < records; i++)
        {
            builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, Enumerable.Repeat((byte)('a' + (i % 26)), valueSize).ToArray());
        }

        var response = await _admin.SendAsync<ProduceResponse>(new ProduceRequest
        {
            Acks = 1,
            TimeoutMs = 10_000,
            TopicData =
            {
                new ProduceRequest.TopicProduceData
                {
                    Name = topic,
                    PartitionData = { new ProduceRequest.PartitionProduceData { Index = 0, Records = builder.Build() } },
                },
            },
        }, 9, CancellationToken.None);
        var partition = Assert.Single(Assert.Single(response.Responses).PartitionResponses);
        Assert.Equal((short)ErrorCode.None, partition.ErrorCode);
        return partition.BaseOffset;
    }

    /// <summary>Everything in the leader's partition, read as a consumer would, split into batches.</summary>
    public async Task<(List<byte[]> Batches, long HighWatermark)> ReadAllAsync(Uuid topicId)
    {
        var response = await _admin.SendAsync<FetchResponse>(new FetchRequest
        {
            MaxWaitMs = 0,
            MinBytes = 0,
            MaxBytes = 64 * 1024 * 1024,
            Topics =
            {
                new FetchRequest.FetchTopic
                {
                    TopicId = topicId,
                    Partitions = { new FetchRequest.FetchPartition { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 64 * 1024 * 1024 } },
                },
            },
        }, 15, CancellationToken.None);
        var data = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal((short)ErrorCode.None, data.ErrorCode);
        return (SplitBatches(data.Records ?? ReadOnlyMemory<byte>.Empty), data.HighWatermark);
    }

    public async Task DeleteRecordsBeforeAsync(string topic, long offset)
    {
        var response = await _admin.SendAsync<DeleteRecordsResponse>(new DeleteRecordsRequest
        {
            TimeoutMs = 10_000,
            Topics =
            {
                new DeleteRecordsRequest.DeleteRecordsTopic
                {
                    Name = topic, Partitions = { new DeleteRecordsRequest.DeleteRecordsPartition { PartitionIndex = 0, Offset = offset } },
                },
            },
        }, 2, CancellationToken.None);
        Assert.Equal((short)ErrorCode.None, Assert.Single(Assert.Single(response.Topics).Partitions).ErrorCode);
    }

    public static List<byte[]> SplitBatches(ReadOnlyMemory<byte> records)
    {
        var batches = new List<byte[]>();
        var position = 0;
        while (position < records.Length)
        {
            var header = RecordBatchHeader.Read(records.Span[position..]);
            batches.Add(records.Slice(position, (int)header.TotalSize).ToArray());
            position += (int)header.TotalSize;
        }

        return batches;
    }

    public async ValueTask DisposeAsync()
    {
        await _admin.DisposeAsync();
        await _host.StopAsync();
        await _host.DisposeAsync();
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }
}
