using System.Net;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Config;
using Tributary.Broker.Metadata;
using Tributary.Broker.Network.Client;
using Tributary.Host;
using Tributary.Metadata.Records;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Tributary.Protocol.Records;

namespace Tributary.Broker.Tests.Replication.Fetcher;

/// <summary>
/// A real single broker in-process (Kestrel on an ephemeral loopback port) that fetchers and clients talk to over TCP. It is
/// also the cluster's only controller, so a test can register other broker ids with it and make them partition replicas:
/// the leader serves a follower fetch only to a replica of the partition, as Kafka does.
/// </summary>
public sealed class LeaderBrokerForTests : IAsyncDisposable
{
    private static readonly TimeSpan SetupTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Below the controller's default broker session (9 s), so a registered broker stays unfenced.</summary>
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);

    private readonly string _dataDir;
    private readonly BrokerHost _host;
    private readonly KafkaClientConnection _admin;
    private readonly CancellationTokenSource _stopHeartbeats = new();
    private readonly List<Task> _heartbeats = [];

    private LeaderBrokerForTests(string dataDir, BrokerHost host, int port, KafkaClientConnection admin)
    {
        _dataDir = dataDir;
        _host = host;
        Port = port;
        _admin = admin;
    }

    public const int NodeId = 1;

    public int Port { get; }

    /// <summary>The leader's incremental fetch sessions (KIP-227), as its fetch handler keeps them.</summary>
    public Tributary.Broker.Fetch.FetchSessionCache FetchSessions => _host.Server.Metrics.FetchSessions.Cache
        ?? throw new InvalidOperationException("the broker's fetch handler has not attached its session cache");

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

    /// <summary>
    /// Registers broker <paramref name="brokerId"/> with this node's controller (as a broker starting up would), waits until
    /// the controller unfences it, and heartbeats for it until disposal. Returns its broker epoch, which its fetches carry.
    /// No broker listens at the registered address (port 1): only the registration matters to the leader.
    /// </summary>
    public async Task<long> RegisterBrokerAsync(int brokerId)
    {
        var controller = _host.Server.Controller;
        using var timeout = new CancellationTokenSource(SetupTimeout);
        var endpoint = new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 1, SecurityProtocol: 0);
        var reply = await controller.SendAsync(new RegisterBrokerCommand(brokerId, Uuid.NewRandom(), [endpoint], null), timeout.Token);
        var registered = Assert.IsType<RegisterBrokerReply>(reply);
        Assert.Equal(ErrorCode.None, registered.Error);

        // KRaft unfences a broker once its heartbeat reports a metadata offset at or past its registration.
        while (true)
        {
            var heartbeat = await HeartbeatAsync(controller, brokerId, registered.BrokerEpoch, timeout.Token);
            Assert.Equal(ErrorCode.None, heartbeat.Error);
            if (!heartbeat.IsFenced)
            {
                break;
            }

            await Task.Delay(50, timeout.Token);
        }

        _heartbeats.Add(KeepAliveAsync(controller, brokerId, registered.BrokerEpoch, _stopHeartbeats.Token));
        return registered.BrokerEpoch;
    }

    /// <summary>Creates a one-partition topic and returns its id and the partition's leader epoch.</summary>
    /// <param name="replicas">The partition's replicas (this broker first, so it leads); null for one replica on this broker.</param>
    public async Task<(Uuid TopicId, int LeaderEpoch)> CreateTopicAsync(string topic, int[]? replicas = null)
    {
        var creatable = replicas is null
            ? new CreateTopicsRequest.CreatableTopic { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }
            : new CreateTopicsRequest.CreatableTopic
            {
                Name = topic,
                NumPartitions = -1,
                ReplicationFactor = -1,
                Assignments = { new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = 0, BrokerIds = [.. replicas] } },
            };
        var created = await _admin.SendAsync<CreateTopicsResponse>(new CreateTopicsRequest
        {
            Topics = { creatable },
            TimeoutMs = 10_000,
        }, 7, CancellationToken.None);
        Assert.Equal((short)ErrorCode.None, Assert.Single(created.Topics).ErrorCode);
        var metadata = await MetadataAsync(topic);
        var described = Assert.Single(metadata.Topics);
        var partition = Assert.Single(described.Partitions);
        Assert.Equal(NodeId, partition.LeaderId);
        await WaitUntilServedAsync(topic);
        return (described.TopicId, partition.LeaderEpoch);
    }

    /// <summary>
    /// CreateTopics answers once the broker's metadata image has the topic, which can be a moment before its replica manager
    /// has opened the partition (until then it answers UNKNOWN_TOPIC_OR_PARTITION, which Kafka clients retry). Tests that
    /// produce at once wait for the partition to be served.
    /// </summary>
    private async Task WaitUntilServedAsync(string topic)
    {
        var deadline = DateTime.UtcNow + SetupTimeout;
        while (true)
        {
            var response = await _admin.SendAsync<ListOffsetsResponse>(new ListOffsetsRequest
            {
                ReplicaId = -1,
                Topics =
                {
                    new ListOffsetsRequest.ListOffsetsTopic
                    {
                        Name = topic, Partitions = { new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = 0, Timestamp = -1 } },
                    },
                },
            }, 7, CancellationToken.None);
            var error = (ErrorCode)Assert.Single(Assert.Single(response.Topics).Partitions).ErrorCode;
            if (error == ErrorCode.None)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the leader still answers {error} for {topic}-0");
            await Task.Delay(20);
        }
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

    /// <summary>
    /// Waits until the leader's high watermark reaches <paramref name="highWatermark"/> (with followers in the ISR it moves
    /// only as they fetch), then returns everything in the partition, read as a consumer would, split into batches.
    /// </summary>
    public async Task<List<byte[]>> ReadCommittedAsync(Uuid topicId, long highWatermark)
    {
        var deadline = DateTime.UtcNow + SetupTimeout;
        while (true)
        {
            var (batches, current) = await ReadAllAsync(topicId);
            if (current >= highWatermark)
            {
                Assert.Equal(highWatermark, current);
                return batches;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the leader's high watermark stayed at {current}, short of {highWatermark}");
            await Task.Delay(20);
        }
    }

    /// <summary>One Fetch v15 as broker <paramref name="replicaId"/> would send it, without waiting for data.</summary>
    public async Task<FetchResponse.PartitionData> FetchAsReplicaAsync(Uuid topicId, int replicaId, long brokerEpoch, int leaderEpoch,
        long fetchOffset)
    {
        var response = await _admin.SendAsync<FetchResponse>(new FetchRequest
        {
            ReplicaState = new FetchRequest.ReplicaIdAndEpoch { ReplicaId = replicaId, ReplicaEpoch = brokerEpoch },
            MaxWaitMs = 0,
            MinBytes = 0,
            MaxBytes = 1024 * 1024,
            SessionEpoch = -1,
            Topics =
            {
                new FetchRequest.FetchTopic
                {
                    TopicId = topicId,
                    Partitions =
                    {
                        new FetchRequest.FetchPartition
                        {
                            Partition = 0, CurrentLeaderEpoch = leaderEpoch, FetchOffset = fetchOffset, PartitionMaxBytes = 1024 * 1024,
                        },
                    },
                },
            },
        }, 15, CancellationToken.None);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        return Assert.Single(Assert.Single(response.Responses).Partitions);
    }

    /// <summary>Everything in the leader's partition below its high watermark, read as a consumer would, split into batches.</summary>
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
        await _stopHeartbeats.CancelAsync();
        await Task.WhenAll(_heartbeats);
        _stopHeartbeats.Dispose();
        await _admin.DisposeAsync();
        await _host.StopAsync();
        await _host.DisposeAsync();
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    private static async Task<BrokerHeartbeatReply> HeartbeatAsync(ControllerGateway controller, int brokerId, long brokerEpoch,
        CancellationToken cancellation)
    {
        var command = new BrokerHeartbeatCommand(brokerId, brokerEpoch, MetadataOffset: controller.Current.Offset, WantFence: false,
            WantShutdown: false);
        return Assert.IsType<BrokerHeartbeatReply>(await controller.SendAsync(command, cancellation));
    }

    private static async Task KeepAliveAsync(ControllerGateway controller, int brokerId, long brokerEpoch, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(HeartbeatInterval, stop);
                await HeartbeatAsync(controller, brokerId, brokerEpoch, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
